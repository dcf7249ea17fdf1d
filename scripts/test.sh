#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, types, then pytest offscreen with a real
# Secret Service (gnome-keyring) on a private D-Bus session, so the keyring tests are real.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (strict: core/, gui/, main.py)"
.venv/bin/mypy
echo "== mypy (default checks: tests/)"
.venv/bin/mypy tests

# The installed-product tests pip-install the built wheel into a fresh environment: its
# dependencies come from the usual pip cache, not from a fresh download each run.
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pip}"

# Fresh folders each run: a reused keyring folder with another password would stay locked,
# and the tests must never see the user's real settings, data or keyring.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch"/{data,config,cache,state,runtime}
chmod 700 "$scratch/runtime"
export XDG_DATA_HOME="$scratch/data" XDG_CONFIG_HOME="$scratch/config"
export XDG_CACHE_HOME="$scratch/cache" XDG_STATE_HOME="$scratch/state"
export XDG_RUNTIME_DIR="$scratch/runtime"
export QT_QPA_PLATFORM=offscreen
export CW_REQUIRE_SECRET_SERVICE=1
export CW_REQUIRE_INSTALLED=1  # tests/installed fail, not skip, when a tool they drive is missing
export PYTHONDONTWRITEBYTECODE=1
unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS

# The session bus and what it starts (gnome-keyring's prompter, which has no display here) write
# their notices to a log of their own, shown only if the run fails.
daemon="$scratch/dbus-daemon"
printf '#!/bin/sh\nexec dbus-daemon "$@" 2>>"%s/dbus.log"\n' "$scratch" >"$daemon"
chmod +x "$daemon"

echo "== pytest"
status=0
dbus-run-session --dbus-daemon="$daemon" -- sh -c '
  printf %s "test-keyring-password" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  exec .venv/bin/python -m pytest "$@"
' pytest "$@" || status=$?
if [ "$status" = 5 ]; then
  echo "pytest collected no tests: that is a failure." >&2
fi
if [ "$status" != 0 ] && [ -s "$scratch/dbus.log" ]; then
  echo "== the D-Bus session's own messages" >&2
  cat "$scratch/dbus.log" >&2
fi
exit "$status"
