#!/usr/bin/env bash
# Makes sure a headless Chromium is available for the `report` browser tests
# (cli/tests/report_browser.rs), installing Debian's `chromium` package if none is found.
# The tests look for the same names on PATH, or take the browser from $CHROMIUM.
set -euo pipefail

if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then
    echo "install-chromium.sh: using \$CHROMIUM=$CHROMIUM"
    exit 0
fi
for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null 2>&1; then
        echo "install-chromium.sh: found $(command -v "$name")"
        exit 0
    fi
done

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium.sh: no Chromium and no apt-get here; install Chromium and put it on" \
        "PATH, or point \$CHROMIUM at it" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# With its recommended packages: they bring the fonts (Liberation, DejaVu) that make the
# screenshots legible.
$sudo apt-get install -y -q chromium
command -v chromium
