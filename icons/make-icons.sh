#!/usr/bin/env bash
# Draws the app icon and the three tray states with ImageMagick (apt: imagemagick).
# A railway switch ("Y") on a rounded square: green = normal, amber = on a backup (the primary
# branch faded), red = all down (both branches faded, a buffer stop across them).
# Re-run after changing a colour: bash icons/make-icons.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
S=1024   # drawn large, scaled down for smooth edges
W=118    # stroke width
cap="stroke-linecap round stroke-linejoin round"
stem="$cap path 'M 512,905 L 512,560'"
left="$cap path 'M 512,575 C 512,400 300,370 300,130'"
right="$cap path 'M 512,575 C 512,400 724,370 724,130'"
draw() { # out bg left-colour right-colour stem-colour [extra draw args...]
    local out="$1" bg="$2" lc="$3" rc="$4" sc="$5"; shift 5
    convert -size ${S}x${S} xc:none \
        -fill "$bg" -draw "roundrectangle 24,24 1000,1000 210,210" \
        -fill none -strokewidth $W \
        -stroke "$lc" -draw "$left" \
        -stroke "$rc" -draw "$right" \
        -stroke "$sc" -draw "$stem" \
        "$@" "$out"
}
# Faded branches are opaque tints (38% white over the background), so overlaps stay even.
white='#ffffff'
draw big-normal.png '#1f8a70' "$white" "$white" "$white"
draw big-backup.png '#d98a00' '#efb661' "$white" "$white"
draw big-down.png '#c62828' '#dc7a7a' '#dc7a7a' '#dc7a7a' \
    -stroke "$white" -strokewidth 120 -draw "$cap line 230,300 794,300"
for s in normal backup down; do
    convert big-$s.png -resize 64x64 -strip tray-$s.png
done
convert big-normal.png -resize 32x32 -strip 32x32.png
convert big-normal.png -resize 128x128 -strip 128x128.png
convert big-normal.png -resize 512x512 -strip icon.png
rm -f big-*.png
