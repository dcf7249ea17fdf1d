"""Where the app keeps its files, worked out in one place: the records, configuration and log
folders.

The window's own preferences are filed by Qt (QSettings, under the application and organization
names), so the window asks Qt for their place; everything else the app writes lives under these
folders. platformdirs is imported when a folder is first asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.app_info import APP_NAME

DATA_DIR_ENV = "CW_CONNECTOR_DESK_DATA_DIR"
LOG_FILE_NAME = f"{APP_NAME}.log"


def default_data_dir() -> Path:
    """The records folder: ``$CW_CONNECTOR_DESK_DATA_DIR`` (tests, portable use), else the
    user data folder (Linux: ``$XDG_DATA_HOME/cw-connector-desk``)."""
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_dir() -> Path:
    """The configuration folder, where the saved accounts are: Linux
    ``$XDG_CONFIG_HOME/cw-connector-desk`` (default ``~/.config/…``, the folder of the window's
    settings too), macOS ``~/Library/Application Support/cw-connector-desk``, Windows
    ``%LOCALAPPDATA%\\cw-connector-desk``."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_log_dir() -> Path:
    """The log folder, in the user's state folder: Linux ``$XDG_STATE_HOME/cw-connector-desk/log``
    (default ``~/.local/state/…``), macOS ``~/Library/Logs/cw-connector-desk``, Windows
    ``%LOCALAPPDATA%\\cw-connector-desk\\Logs``."""
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
