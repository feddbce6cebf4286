"""Shared helpers for the worker's tests: throwaway UDF modules and Arrow IPC batches."""
from __future__ import annotations

import importlib
import itertools
import os
import shutil
import sys
import tempfile
import textwrap
import unittest
from typing import Any, Optional

import pyarrow as pa

PYTHON_WORKER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYUDF_DIR = os.path.join(PYTHON_WORKER_DIR, "pyudf")

_counter = itertools.count()


def unique_module_name(stem: str = "udfmod") -> str:
    return f"pyudf_test_{stem}_{os.getpid()}_{next(_counter)}"


class TempModules:
    """Writes modules into a temp dir on sys.path; undo() restores sys.path and sys.modules."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="pyudf-test-")
        self._names: list[str] = []
        self._path_before = list(sys.path)
        sys.path.insert(0, self.directory)

    def write(self, source: str, name: Optional[str] = None) -> tuple[str, str]:
        """Writes a module; returns (module name, file path)."""
        name = name or unique_module_name()
        path = os.path.join(self.directory, *name.split(".")) + ".py"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(source))
        self._names.append(name.split(".")[0])
        importlib.invalidate_caches()
        return name, path

    def undo(self) -> None:
        sys.path[:] = [p for p in sys.path if p != self.directory]
        for top in self._names:
            for loaded in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
                del sys.modules[loaded]
        shutil.rmtree(self.directory, ignore_errors=True)
        importlib.invalidate_caches()


def temp_modules(test: unittest.TestCase) -> TempModules:
    modules = TempModules()
    test.addCleanup(modules.undo)
    return modules


def ipc_bytes(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def arguments(*columns: list[Any], types: Optional[list[pa.DataType]] = None) -> bytes:
    """A record batch with one column per argument, as the host sends it."""
    arrays = [
        pa.array(column, type=types[i] if types else None) for i, column in enumerate(columns)
    ]
    names = [f"a{i}" for i in range(len(arrays))]
    return ipc_bytes(pa.RecordBatch.from_arrays(arrays, names=names))


def no_arguments(num_rows: int) -> bytes:
    """A record batch with no columns but num_rows rows: the arguments of a zero-argument call."""
    batch = pa.record_batch({"x": [0] * num_rows}).select([])
    assert batch.num_columns == 0 and batch.num_rows == num_rows
    return ipc_bytes(batch)


def decode_result(data: bytes) -> pa.Array:
    reader = pa.ipc.open_stream(data)
    batch = reader.read_next_batch()
    assert batch.schema.names == ["result"], batch.schema
    return batch.column(0)
