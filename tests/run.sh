#!/usr/bin/env bash
# The tests, in two tiers.
#   bash tests/run.sh         everything (what CI runs): installs what the tests need — the package with its test
#                             extras and Debian's chromium — then ruff, then every test with hypothesis profile "ci":
#                             two at a time, a module to a worker (pytest-xdist),
#                             then those marked `serial` (they time the server or answer under load) alone.
#   bash tests/run.sh fast    the loop after each change (about a minute and a half): every module, no browser, no
#                             Ray, no install test, none marked `slow`, of the pages' AppTests only those marked
#                             `smoke`, hypothesis profile "dev"; two at a time; installs only what is missing.
# Extra arguments go to pytest. In CI (CI=true) a skipped test counts as a failure (tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = fast ]; then
  shift
  python3 -c "import inspector, pytest_timeout, xdist, hypothesis, streamlit.testing" 2>/dev/null \
    || python3 -m pip install -q -e '.[test]'
  export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-dev}"
  exec python3 -m pytest -n 2 --dist loadfile -m "not (browser or ray or install or slow) and (smoke or not apptest)" "$@"
fi
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
python3 -m ruff check --quiet .
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"
status=0
pass_() {  # one pytest run; "no tests collected" (5: arguments that name no test of this pass) is no failure
  python3 -m pytest "$@" || { code=$?; [ "$code" = 5 ] || status=$code; }
}
pass_ -n "${TEST_WORKERS:-2}" --dist loadfile -m "not serial" "$@"
pass_ -m serial "$@"
exit "$status"
