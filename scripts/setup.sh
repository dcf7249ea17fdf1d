#!/usr/bin/env bash
# Installs what the app and its tests need: the Debian packages Qt, the keyring tests and the
# installed-product tests use (X input, clipboard, desktop-entry validators; when run as root on
# Debian/Ubuntu) and a virtual environment in .venv with the project in it.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(
  dbus dbus-x11 gnome-keyring xvfb xauth
  xdotool xclip x11-utils desktop-file-utils appstream
  libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libglib2.0-0 libdbus-1-3
  libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0
  libxcb-shape0 libxcb-randr0 libxcb-xkb1 libxcb-xinerama0 libxcb-xfixes0
)
if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    if [ "$(id -u)" = 0 ]; then
      echo "Installing system packages: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "Missing system packages (install them once): sudo apt-get install ${missing[*]}" >&2
    fi
  fi
fi

py=${PYTHON:-python3}
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Python 3.11 or newer is needed (found: $("$py" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
# Reinstall only when the dependency list changed: keeps repeated runs fast.
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # PYTHONWARNINGS reaches the build backend too: setuptools' editable-install banner is for
  # packagers, not for someone starting the app.
  PYTHONWARNINGS=ignore .venv/bin/python -m pip install -q -e '.[test,dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
