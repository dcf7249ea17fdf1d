#!/usr/bin/env bash
# Regenerates docs/screenshot-light.png and docs/screenshot-dark.png: the real window on a
# virtual X display (Xvfb), once in each colour scheme.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
unset WAYLAND_DISPLAY
export QT_QPA_PLATFORM=xcb
for scheme in light dark; do
    xvfb-run -a -s "-screen 0 1280x1100x24" .venv/bin/python -m scripts.screenshot "$scheme"
done
