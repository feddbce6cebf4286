"""What a loading worker is busy with, in a file the host reads when loading takes too long.

Imports and open() run the user's code, which may hang (a network call in
open(), a module that sleeps at import). The host bounds them with a
deadline of its own and kills the worker when it passes; this record lets its
error say which import or which open() the worker was stuck in.
"""
from __future__ import annotations

import json
import os
from typing import Optional

_fd: Optional[int] = None
_function = ""
_phase = ""


def record_to(path: Optional[str]) -> None:
    global _fd
    if path:
        _fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)


def enter(function_name: str, phase: str, what: str) -> None:
    """Records that loading `function_name` is now at `what` (phase "load" or "open")."""
    global _function, _phase
    _function, _phase = function_name, phase
    at(what)


def at(what: str) -> None:
    """A step (an import, say) of what enter() recorded last."""
    if _fd is None:
        return
    record = json.dumps({"function": _function, "phase": _phase, "what": what}).encode()
    try:
        os.ftruncate(_fd, 0)
        os.pwrite(_fd, record, 0)
    except OSError:
        pass  # a function that closed our descriptor loses the host a detail, not the job
