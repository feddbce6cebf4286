"""Ray for the cluster tests: one small local Ray for the test run (started by the first module
that needs it, stopped when the process exits), order kept as jobs keep it."""
from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
import unittest

try:
    import duckdb  # noqa: F401
    import ray
except ImportError:  # the worker runtime has neither: these tests run in a Ray environment only
    raise unittest.SkipTest("needs ray[data] and duckdb (requirements/ray.txt)")


_session_dirs: list[str] = []


def start_ray() -> None:
    if ray.is_initialized():
        return
    # A session directory of its own: another local Ray on the machine never shares its sockets.
    _session_dirs.append(tempfile.mkdtemp(prefix="pyudf-ray-"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
             _temp_dir=_session_dirs[-1])
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    atexit.register(_stop_ray)


def _stop_ray() -> None:
    ray.shutdown()
    while _session_dirs:
        shutil.rmtree(_session_dirs.pop(), ignore_errors=True)
