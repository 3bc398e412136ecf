#!/usr/bin/env bash
# Builds the Debian package from binaries that are already built (this script compiles
# nothing; `make package` builds the release binaries first, `make test-package` reuses the
# debug ones the tests built):
#   /usr/bin/switchyard                          the CLI (and the headless engine: serve)
#   /usr/bin/switchyard-desktop                  the tray app (engine inside)
#   /usr/libexec/switchyard/switchyard-window    the window (started by the tray app)
#   /usr/share/applications/switchyard.desktop   the menu entry
#   /usr/share/icons/hicolor/*/apps/switchyard.png
#   /usr/lib/systemd/user/switchyard.service     the headless engine as a user service
#   /usr/share/doc/switchyard/                   copyright, README, changelog
# Depends is computed by dpkg-shlibdeps from the binaries, plus the AppIndicator library the
# tray loads at run time (invisible to dpkg-shlibdeps). No maintainer scripts: Debian's own
# triggers refresh the icon cache and the menu, and removing the package leaves nothing of it
# but what users created in their home directories (their config, their login item).
#
# Usage: scripts/package-deb.sh [--profile release|debug] [--out DIR] [--fast]
#   --fast  gzip -1 instead of xz (CI: seconds instead of a minute; same contents)
# Prints the path of the .deb on its last line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE=release
OUT="$ROOT/target/debian"
FAST=0
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) PROFILE="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --fast) FAST=1; shift ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "package-deb: unknown argument $1" >&2; exit 2 ;;
    esac
done

say() { printf '[package-deb] %s\n' "$*" >&2; }
die() { printf '[package-deb] ERROR: %s\n' "$*" >&2; exit 1; }

for tool in dpkg-deb dpkg-shlibdeps strip; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install dpkg-dev binutils)"
done

BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE"
for b in switchyard switchyard-desktop switchyard-window; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is not built (cargo build$([ "$PROFILE" = release ] && echo ' --release') -p switchyard-cli -p switchyard-desktop -p switchyard-window)"
done

VERSION="$("$BIN/switchyard" --version | awk '{print $2}')"
[ -n "$VERSION" ] || die "cannot read the version from $BIN/switchyard --version"
DEB_VERSION="$VERSION-1"
ARCH="$(dpkg --print-architecture)"
NAME="switchyard_${DEB_VERSION}_${ARCH}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
STAGE="$WORK/$NAME"
umask 022

# --- files ------------------------------------------------------------------------------------
install -d "$STAGE/usr/bin" "$STAGE/usr/libexec/switchyard"
# --strip-unneeded keeps what the dynamic linker needs; the release build has no debug info to
# lose, and a debug build shrinks by its symbol tables.
strip --strip-unneeded -o "$STAGE/usr/bin/switchyard" "$BIN/switchyard"
strip --strip-unneeded -o "$STAGE/usr/bin/switchyard-desktop" "$BIN/switchyard-desktop"
strip --strip-unneeded -o "$STAGE/usr/libexec/switchyard/switchyard-window" "$BIN/switchyard-window"
chmod 755 "$STAGE/usr/bin/"* "$STAGE/usr/libexec/switchyard/switchyard-window"

install -Dm644 "$ROOT/packaging/linux/switchyard.desktop" "$STAGE/usr/share/applications/switchyard.desktop"
install -Dm644 "$ROOT/icons/32x32.png" "$STAGE/usr/share/icons/hicolor/32x32/apps/switchyard.png"
install -Dm644 "$ROOT/icons/128x128.png" "$STAGE/usr/share/icons/hicolor/128x128/apps/switchyard.png"
install -Dm644 "$ROOT/icons/icon.png" "$STAGE/usr/share/icons/hicolor/512x512/apps/switchyard.png"
install -Dm644 "$ROOT/packaging/linux/switchyard.service" "$STAGE/usr/lib/systemd/user/switchyard.service"

DOC="$STAGE/usr/share/doc/switchyard"
install -Dm644 "$ROOT/packaging/deb/copyright" "$DOC/copyright"
install -Dm644 "$ROOT/README.md" "$DOC/README.md"
install -Dm644 "$ROOT/docs/desktop.md" "$DOC/desktop.md"
{
    printf 'switchyard (%s) unstable; urgency=medium\n\n' "$DEB_VERSION"
    printf '  * Built from %s.\n\n' "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'a source tree')"
    printf ' -- Switchyard developers <switchyard@example.invalid>  %s\n' "$(date -R)"
} | gzip -9n >"$DOC/changelog.Debian.gz"
chmod 644 "$DOC/changelog.Debian.gz"

# --- control ----------------------------------------------------------------------------------
# dpkg-shlibdeps wants a source package around the binaries it reads.
mkdir -p "$WORK/src/debian"
printf 'Source: switchyard\n\nPackage: switchyard\nArchitecture: any\n' >"$WORK/src/debian/control"
shlibs="$(cd "$WORK/src" && dpkg-shlibdeps -O \
    -e"$STAGE/usr/bin/switchyard" -e"$STAGE/usr/bin/switchyard-desktop" \
    -e"$STAGE/usr/libexec/switchyard/switchyard-window" 2>"$WORK/shlibdeps.log" |
    sed -n 's/^shlibs:Depends=//p')" || { cat "$WORK/shlibdeps.log" >&2; die "dpkg-shlibdeps failed"; }
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no libraries"
# A binary linked with packed relative relocations (crates/switchyard-cli/build.rs) needs glibc
# 2.36 through a version need that dpkg-shlibdeps does not read (it looks at symbols only).
for bin in "$STAGE/usr/bin/switchyard" "$STAGE/usr/bin/switchyard-desktop" \
    "$STAGE/usr/libexec/switchyard/switchyard-window"; do
    readelf -V "$bin" | grep -q GLIBC_ABI_DT_RELR || continue
    have="$(printf '%s' "$shlibs" | sed -n 's/.*libc6 (>= \([^)]*\)).*/\1/p')"
    if [ -z "$have" ] || dpkg --compare-versions "$have" lt 2.36; then
        shlibs="$(printf '%s' "$shlibs" | sed 's/libc6 (>= [^)]*)/libc6 (>= 2.36)/')"
    fi
    break
done
# The tray icon: tray-icon loads libayatana-appindicator3 (or the older libappindicator3) with
# dlopen, so no binary names it.
DEPENDS="$shlibs, libayatana-appindicator3-1 | libappindicator3-1"

install -d "$STAGE/DEBIAN"
(cd "$STAGE" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$STAGE/DEBIAN/md5sums"
SIZE="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
sed -e "s/@VERSION@/$DEB_VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$SIZE/" \
    -e "s/@DEPENDS@/$DEPENDS/" "$ROOT/packaging/deb/control.in" >"$STAGE/DEBIAN/control"
chmod 644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/md5sums"

# --- the package ------------------------------------------------------------------------------
mkdir -p "$OUT"
if [ "$FAST" = 1 ]; then comp=(-Zgzip -z1); else comp=(-Zxz); fi
dpkg-deb --root-owner-group "${comp[@]}" --build "$STAGE" "$OUT/$NAME.deb" >/dev/null
say "$(du -h "$OUT/$NAME.deb" | cut -f1) $OUT/$NAME.deb ($PROFILE build; Depends: $DEPENDS)"
echo "$OUT/$NAME.deb"
