#!/usr/bin/env bash
# Installs the peers the benchmark compares Switchyard with, into local, gitignored folders,
# only when missing (a second run finishes in a second):
#   bench/peers/ccr/node_modules   claude-code-router (npm @musistudio/claude-code-router)
#   bench/peers/litellm-venv       LiteLLM proxy (PyPI litellm[proxy])
# Versions are pinned below so that runs stay comparable. Env: PYTHON picks the interpreter
# for the LiteLLM venv (default python3).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CCR_VERSION="${CCR_VERSION:-2.0.0}"
LITELLM_VERSION="${LITELLM_VERSION:-1.79.3}"
PYTHON="${PYTHON:-python3}"

say() { printf '[peers] %s\n' "$*"; }

install_ccr() {
    local dir="$HERE/ccr" stamp="$HERE/ccr/node_modules/.bench-installed-$CCR_VERSION"
    if [ -f "$stamp" ]; then
        say "claude-code-router $CCR_VERSION: present"
        return
    fi
    command -v npm >/dev/null 2>&1 || { say "npm is missing: install nodejs and npm"; exit 1; }
    mkdir -p "$dir"
    [ -f "$dir/package.json" ] || printf '{ "name": "switchyard-bench-ccr", "private": true }\n' >"$dir/package.json"
    say "installing @musistudio/claude-code-router@$CCR_VERSION into $dir"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error \
        "@musistudio/claude-code-router@$CCR_VERSION")
    touch "$stamp"
}

install_litellm() {
    local venv="$HERE/litellm-venv" stamp="$HERE/litellm-venv/.bench-installed-$LITELLM_VERSION"
    if [ -f "$stamp" ]; then
        say "litellm $LITELLM_VERSION: present"
        return
    fi
    say "installing litellm[proxy]==$LITELLM_VERSION into $venv"
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "litellm[proxy]==$LITELLM_VERSION"
    touch "$stamp"
}

case "${1:-all}" in
ccr) install_ccr ;;
litellm) install_litellm ;;
all) install_ccr; install_litellm ;;
*) echo "usage: $0 [all|ccr|litellm]" >&2; exit 2 ;;
esac
