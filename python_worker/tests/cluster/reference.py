"""The TypeScript library's own answers (CSV scan queries, CSV text), from its built dist, for
tests that must agree with the local engine byte for byte. Skips a test when Node or the
build is missing."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import pyarrow as pa

_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ts_reference.mjs")
_DIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "dist")


def _node(arguments: list[str], request: dict) -> str:
    if shutil.which("node") is None or not os.path.isdir(_DIST):
        raise unittest.SkipTest("needs node and the built library (npm run build)")
    # Bytes, not text mode: text mode would turn a "\r" the writer wrote into "\n".
    done = subprocess.run(["node", _SCRIPT, *arguments], input=json.dumps(request).encode("utf-8"),
                          capture_output=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"ts_reference.mjs {arguments[0]} failed: {done.stderr.decode('utf-8', 'replace')}")
    return done.stdout.decode("utf-8")


def csv_scan_sql(columns: list[dict], **options: object) -> str:
    """The local engine's DuckDB query for a CSV table, with {path} and {skip} placeholders."""
    return _node(["csv-scan-sql"], {"columns": columns, "options": options})


def csv_text(table: pa.Table, types: list[str], spelling: dict) -> str:
    """What the local CSV sink writes for the table's rows."""
    with tempfile.TemporaryDirectory(prefix="pyudf-csv-reference-") as directory:
        path = os.path.join(directory, "rows.arrow")
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return _node(["csv-text", path], {"types": types, "spelling": spelling})
