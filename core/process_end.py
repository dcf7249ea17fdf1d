"""How the app's processes end: our own shutdown first, then no interpreter finalization.

Every blocking call on a worker thread is bounded (HTTP, keyring), but a bound can be 60 s, so
workers are daemon threads and quitting does not wait for them. CPython (before 3.14) ends a
daemon thread that wakes during finalization with ``pthread_exit``; when that thread is inside
a native extension built with PyO3 (cryptography, which the Secret Service backend imports;
pydantic-core), PyO3's unwinding guard catches the forced unwind and the process aborts
("FATAL: exception not rethrown", exit 134) after the user had already quit cleanly.
CPython gh-87135 made such threads hang instead in 3.14; PyO3 #4874 fixed one of its paths.
Until then the process ends with ``os._exit`` once everything it owns is closed: no daemon
thread ever runs again, so none can be caught half-way.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def end_process(status: int) -> NoReturn:
    """Flush what the process wrote (log handlers, standard output and error), then exit
    with `status`, skipping the interpreter's finalization. Call it last, after the app's own
    shutdown: files, settings and the clipboard are already handled by then."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing left to flush into
            pass
    os._exit(status)
