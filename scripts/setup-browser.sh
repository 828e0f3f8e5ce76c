#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Install Debian's chromium for the explorer's browser tests (test/web/) when
# /usr/bin/chromium is missing. Needs root (apt-get); prints why it cannot
# install otherwise and exits 1. Set CHROMIUM to use a browser elsewhere.
set -eu
BIN="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$BIN" ]; then
  echo "chromium: $BIN"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-browser: no $BIN and no apt-get to install Debian's chromium" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "setup-browser: no $BIN, and installing it needs root (apt-get install chromium)" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
if [ ! -x "$BIN" ]; then
  echo "setup-browser: apt-get ran but $BIN is still missing" >&2
  exit 1
fi
echo "chromium: $BIN"
