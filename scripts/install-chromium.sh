#!/usr/bin/env bash
# Makes sure a headless Chromium is available for the `report` browser tests
# (cli/tests/report_browser.rs), installing Debian's `chromium` package if none is found.
# The tests run it themselves (under a lock) when they find no browser, so `cargo test`
# alone sets everything up; they look for the same names on PATH, or take $CHROMIUM.
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
    # Never a password prompt: the tests run this unattended.
    if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
        echo "install-chromium.sh: installing Chromium needs root (or sudo without a" \
            "password); install it yourself and put it on PATH, or point \$CHROMIUM at it" >&2
        exit 1
    fi
    sudo="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
# apt waits for a lock another apt holds instead of failing at once.
lock=(-o DPkg::Lock::Timeout=600)
$sudo apt-get "${lock[@]}" update -q
# With its recommended packages: they bring the fonts (Liberation, DejaVu) that make the
# screenshots legible.
$sudo apt-get "${lock[@]}" install -y -q chromium
command -v chromium
