"""Turning Python exceptions into the protocol's UdfError, traceback trimmed to the user's code."""
from __future__ import annotations

import os
import sysconfig
import traceback
from types import TracebackType
from typing import Optional

from pyudf._proto import worker_pb2

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# Library frames (the standard library, installed packages, a job's installed
# requirements) are never where the user's bug is: the location names the
# innermost frame of the user's own code instead.
_library_dirs: list[str] = sorted({
    os.path.abspath(sysconfig.get_paths()[key]) + os.sep
    for key in ("stdlib", "platstdlib", "purelib", "platlib")
})


def add_library_dir(directory: str) -> None:
    """Marks a directory of installed packages (a job's requirements) as library code."""
    entry = os.path.abspath(directory) + os.sep
    if entry not in _library_dirs:
        _library_dirs.append(entry)


def _is_ours(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)


def _is_library(filename: str) -> bool:
    # "<frozen importlib._bootstrap>": the import machinery, between the worker and a module it loads.
    return filename.startswith("<frozen ") or _is_ours(filename) or os.path.abspath(filename).startswith(tuple(_library_dirs))


def _user_frames(tb: Optional[TracebackType]) -> Optional[TracebackType]:
    """Skips the worker's own frames at the top, so tracebacks start in the user's code."""
    while tb is not None and _is_ours(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return tb


def _innermost_user_location(tb: Optional[TracebackType]) -> str:
    location = ""
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not _is_library(filename):
            location = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return location


def udf_error(
    function_name: str,
    phase: str,
    exc: BaseException,
    row_index: int = -1,
) -> worker_pb2.UdfError:
    tb = _user_frames(exc.__traceback__)
    if isinstance(exc, SyntaxError) and exc.filename and not _is_library(exc.filename):
        # A module that does not compile: its file, line and caret are the whole story; the
        # frames above are the import machinery's.
        lines = traceback.format_exception_only(type(exc), exc)
        location = f"{exc.filename}:{exc.lineno}"
    else:
        lines = traceback.format_exception(type(exc), exc, tb)
        location = _innermost_user_location(tb)
    return worker_pb2.UdfError(
        function_name=function_name,
        phase=phase,
        exception_type=_qualified_name(type(exc)),
        message=str(exc),
        traceback="".join(lines),
        row_index=row_index,
        source_location=location,
    )


def plain_error(
    function_name: str,
    phase: str,
    exception_type: str,
    message: str,
    row_index: int = -1,
    source_location: str = "",
) -> worker_pb2.UdfError:
    """An error that is ours to report (a bad result, a signature mismatch), without a traceback."""
    return worker_pb2.UdfError(
        function_name=function_name,
        phase=phase,
        exception_type=exception_type,
        message=message,
        row_index=row_index,
        source_location=source_location,
    )


def _qualified_name(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
