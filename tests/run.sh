#!/usr/bin/env bash
# Install everything the tests need — the package with its test extras, and Debian's chromium for the browser
# tests — then run them. Extra arguments go to pytest. In CI (CI=true) a skipped test counts as a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is not installed and this user cannot install it: the browser tests will skip" >&2
  fi
fi
python3 -m pip install -q -e '.[test]'
exec python3 -m pytest "$@"
