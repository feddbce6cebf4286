"""The driver's events for the host: JSON lines on file descriptor 4."""
from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any, TextIO

EVENTS_FD = 4


class EventChannel:
    """One JSON object per line; falls back to stderr when the host gave no fd 4 (a run by hand)."""

    def __init__(self, fd: int = EVENTS_FD) -> None:
        self._lock = threading.Lock()
        try:
            os.fstat(fd)
            self._out: TextIO = os.fdopen(fd, "w", encoding="utf-8", buffering=1, closefd=False)
        except OSError:
            self._out = sys.stderr

    def send(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, separators=(",", ":"), default=str)
        with self._lock:
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except (OSError, ValueError):  # the host stopped reading: nothing is left to tell it
                pass
