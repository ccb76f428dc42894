#!/usr/bin/env bash
# Make sure Debian's `chromium` package is installed (binary /usr/bin/chromium) for the
# Playwright browser tests in tests/browser. Installs it with apt-get when we are root;
# runs without a terminal or stdin (CI). Never calls `playwright install`: Playwright's
# own browser download is not reachable from our machines.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

chromium_works() { [ -x "$CHROMIUM" ] && "$CHROMIUM" --version >/dev/null 2>&1 </dev/null; }

if chromium_works; then
  echo "ensure_chromium: $("$CHROMIUM" --version 2>/dev/null) already installed at $CHROMIUM"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_chromium: $CHROMIUM is missing and apt-get is not available here." >&2
  echo "  Install Debian's chromium package (or an equivalent at $CHROMIUM) to run tests/browser." >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure_chromium: $CHROMIUM is missing and we are not root, so it cannot be installed." >&2
  echo "  Run as root: apt-get update && apt-get install -y --no-install-recommends chromium" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for a concurrent apt/dpkg run instead of failing on its lock.
APT_OPTS=(-o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef
  -o Dpkg::Options::=--force-confold)
packages=(chromium)
# Without any font, pages (and screenshots) render as empty boxes.
if ! dpkg-query -W -f='${Status}' fonts-dejavu-core 2>/dev/null | grep -q "ok installed"; then
  packages+=(fonts-dejavu-core)
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! apt-get "${APT_OPTS[@]}" update -qq >"$log" 2>&1 </dev/null ||
  ! apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${packages[@]}" \
    >>"$log" 2>&1 </dev/null; then
  tail -n 20 "$log" >&2
  echo "ensure_chromium: apt-get could not install ${packages[*]} (output above)." >&2
  exit 1
fi

if ! chromium_works; then
  echo "ensure_chromium: installed ${packages[*]} but $CHROMIUM --version still fails." >&2
  exit 1
fi
echo "ensure_chromium: installed $("$CHROMIUM" --version 2>/dev/null) at $CHROMIUM (${packages[*]})"
