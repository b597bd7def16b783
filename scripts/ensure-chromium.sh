#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright, as its headless shell (package
# chromium-headless-shell, built from the same Chromium source as the browser): the same Blink rendering and
# DevTools protocol without the browser's window layer, at about half the CPU per journey. Installed when missing;
# without root, the browser itself (package chromium) is used when it is there, more slowly.
set -euo pipefail
if [ -x /usr/bin/chromium-headless-shell ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  if [ -x /usr/bin/chromium ]; then
    echo "Chromium's headless shell is not installed: the browser tests use chromium, about twice as slowly" \
      "(sudo apt-get install chromium-headless-shell)" >&2
    exit 0
  fi
  echo "Chromium is not installed; run: sudo apt-get install chromium-headless-shell" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium-headless-shell > /dev/null
