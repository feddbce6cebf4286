"""A job's sources as Ray datasets, read with the DuckDB queries the host reads them with locally.

Every source's rows come out in the Arrow types the local worker uses for the job's schema
(``DataType.to_arrow()``), in file order, so later stages see the same values as a local run.

CSV files are split into byte ranges at line breaks, one read task per range, so that one
large file is read by many tasks. Limitation: a quoted field holding a line break cannot be
read when a range boundary falls inside it. The range before such a boundary then ends in an
unterminated quoted field, which DuckDB's strict reader refuses, so the read fails with a
``CsvFormatError`` naming the line where the field opens; it never yields wrong rows.
"""
from __future__ import annotations

import functools
import os
import re
import tempfile
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence

import duckdb
import numpy as np
import pyarrow as pa
import ray.data
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from pyudf.type_text import parse_type

# Bytes of CSV per read task at most: large enough that DuckDB's start-up per range is noise,
# small enough that a file of a few hundred megabytes keeps several tasks busy. A smaller file
# is cut into about RANGES_PER_CPU ranges per CPU of the cluster (none below MIN_RANGE_BYTES),
# so that its reads and the calls fused with them spread over every node.
RANGE_BYTES = 32 << 20
MIN_RANGE_BYTES = 256 << 10
RANGES_PER_CPU = 2
# Bytes of Arrow per block of an in-memory (bundled) table.
ARROW_BLOCK_BYTES = 16 << 20
# Each read task is one CPU of the cluster's accounting: DuckDB must not take a node's every core.
_DUCKDB_CONFIG = {"threads": 1}
_SCAN_BYTES = 1 << 20
# Longest part of a line quoted in an error message: a line may be any size.
_QUOTED_CHARS = 100
# The quote character of the host's read_csv call, for the hint on a line a range cut in two.
_QUOTE_OPTION = re.compile(r"\bquote = '((?:[^']|'')+)'")


class CsvFormatError(Exception):
    """A line of a CSV file the table's query refuses: a field that does not fit its column,
    a wrong number of fields, or a quoted field left open. ``line`` is 1-based, counting
    every line of the file (a skipped header line too)."""

    code = "CSV_FORMAT"

    def __init__(self, message: str, file: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def __reduce__(self) -> tuple:
        # Raised in a Ray task and re-raised in the driver: it must survive pickling whole.
        return (CsvFormatError, (self.message, self.file, self.line))


def arrow_schema(schema: Sequence[dict]) -> pa.Schema:
    """A job schema ([{"name", "type"}], Flink type text) as the local worker's Arrow schema."""
    fields = []
    for column in schema:
        data_type = parse_type(column["type"])
        fields.append(pa.field(column["name"], data_type.to_arrow(), nullable=data_type.nullable))
    return pa.schema(fields)


def read_source(source: dict, schema: list[dict], bundle_dir: str, *, range_bytes: Optional[int] = None,
                arrow_block_bytes: int = ARROW_BLOCK_BYTES, ray_remote_args: Optional[dict] = None) -> ray.data.Dataset:
    """The rows of a plan's scan source, typed by the scan's schema.

    ``ray_remote_args`` are the read tasks' (retries, CPUs): the same as the map_batches after the
    read lets Ray Data fuse the two into one task per range.
    """
    target = arrow_schema(schema)
    kind = source.get("kind")
    if kind == "csv":
        paths = source["paths"] if "paths" in source else [source["path"]]
        if range_bytes is None:
            range_bytes = csv_range_bytes(sum(os.path.getsize(p) for p in paths), _cluster_cpus())
        skip_header = bool(source.get("skipFirstLine", source.get("header")))
        datasource = CsvRangesDatasource(paths, source["sql"], skip_header, target, range_bytes)
        # One block per range: asked for fewer blocks than its default minimum (200), Ray Data splits each
        # range's block after the read, and the split keeps the read from fusing with the calls after it.
        return ray.data.read_datasource(datasource, ray_remote_args=ray_remote_args,
                                        override_num_blocks=max(1, len(datasource.byte_ranges)))
    if kind in ("parquet", "json"):
        return ray.data.read_datasource(SqlFilesDatasource(source["paths"], source["sql"], target), ray_remote_args=ray_remote_args,
                                        override_num_blocks=max(1, len(source["paths"])))
    if kind == "arrow":
        return _read_arrow_file(os.path.join(bundle_dir, source["file"]), target, arrow_block_bytes)
    raise ValueError(f"unknown source kind {kind!r}; known kinds: csv, parquet, json, arrow")


def csv_range_bytes(total_bytes: int, cpus: int) -> int:
    """The byte range size for CSV files of ``total_bytes`` on a cluster of ``cpus`` CPUs."""
    wanted = total_bytes // max(1, cpus * RANGES_PER_CPU) + 1
    return max(MIN_RANGE_BYTES, min(RANGE_BYTES, wanted))


def _cluster_cpus() -> int:
    try:
        return max(1, int(ray.cluster_resources().get("CPU", 1)))
    except Exception:  # not connected (a test reading sources without a cluster): one CPU
        return 1


def _substitute(sql: str, path: str, skip: Optional[int] = None) -> str:
    # Plain replacement, not str.format: the query's regular expressions hold braces of their own.
    text = sql.replace("{path}", path.replace("'", "''"))
    return text if skip is None else text.replace("{skip}", str(skip))


def _run_query(sql: str, target: pa.Schema) -> pa.Table:
    connection = duckdb.connect(config=_DUCKDB_CONFIG)
    try:
        table = connection.execute(sql).to_arrow_table()
    finally:
        connection.close()
    return conform(table, target)


def conform(table: pa.Table, target: pa.Schema) -> pa.Table:
    """The query's columns under the job's names and Arrow types (DuckDB's units may differ)."""
    columns = [table.column(i).cast(field.type) for i, field in enumerate(target)]
    return pa.Table.from_arrays(columns, schema=target)


# --- CSV -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ByteRange:
    """Bytes [start, end) of a file: whole lines, the last one maybe without its line break."""

    path: str
    start: int
    end: int


def csv_byte_ranges(path: str, range_bytes: int = RANGE_BYTES) -> list[ByteRange]:
    """A file cut into ranges of about ``range_bytes``, each ending just after a line break
    (or at the file's end); an empty file is one empty range."""
    size = os.path.getsize(path)
    ranges: list[ByteRange] = []
    start = 0
    with open(path, "rb") as file:
        while True:
            probe = start + max(1, range_bytes)
            # A line break as the probe's last byte ends the range right there.
            cut = _next_line_break(file, probe - 1, size) if probe < size else None
            if cut is None or cut + 1 >= size:
                ranges.append(ByteRange(path, start, size))
                return ranges
            ranges.append(ByteRange(path, start, cut + 1))
            start = cut + 1


def _next_line_break(file: Any, offset: int, size: int) -> Optional[int]:
    while offset < size:
        file.seek(offset)
        chunk = file.read(min(_SCAN_BYTES, size - offset))
        if not chunk:
            return None
        found = chunk.find(b"\n")
        if found >= 0:
            return offset + found
        offset += len(chunk)
    return None


class _QueriedFiles(Datasource):
    """Files read by the host's DuckDB query template, in the job's Arrow types, blocks in file order."""

    def __init__(self, paths: Sequence[str], sql: str, target: pa.Schema) -> None:
        super().__init__()
        self._paths = list(paths)
        self._sql = sql
        self._target = target

    def estimate_inmemory_data_size(self) -> Optional[int]:
        return sum(os.path.getsize(path) for path in self._paths)


class CsvRangesDatasource(_QueriedFiles):
    """CSV files, one read task per byte range."""

    def __init__(self, paths: Sequence[str], sql: str, skip_header: bool, target: pa.Schema,
                 range_bytes: int = RANGE_BYTES) -> None:
        super().__init__(paths, sql, target)
        self._skip_header = skip_header
        # Cut once, where the driver builds the Dataset: read_source counts them, get_read_tasks reads them.
        self.byte_ranges = [r for path in self._paths for r in csv_byte_ranges(path, range_bytes)]

    def get_name(self) -> str:
        return "CsvRanges"

    def get_read_tasks(self, parallelism: int, per_task_row_limit: Optional[int] = None,
                       data_context: Any = None) -> list[ReadTask]:
        tasks = []
        for byte_range in self.byte_ranges:
            skip = 1 if self._skip_header and byte_range.start == 0 else 0
            read = functools.partial(_read_csv_range, byte_range, self._sql, skip, self._target)
            metadata = BlockMetadata(num_rows=None, size_bytes=byte_range.end - byte_range.start,
                                     exec_stats=None, input_files=[byte_range.path])
            tasks.append(ReadTask(read, metadata, schema=self._target, per_task_row_limit=per_task_row_limit))
        return tasks


def _read_csv_range(byte_range: ByteRange, sql: str, skip: int, target: pa.Schema) -> Iterator[pa.Table]:
    data = _range_bytes(byte_range)
    try:
        yield _query_bytes(data, sql, skip, target)
    except duckdb.Error as error:
        raise _locate_bad_line(byte_range, data, sql, skip, target, error) from None


def _range_bytes(byte_range: ByteRange) -> bytes:
    with open(byte_range.path, "rb") as file:
        file.seek(byte_range.start)
        return file.read(byte_range.end - byte_range.start)


def _query_bytes(data: bytes, sql: str, skip: int, target: pa.Schema) -> pa.Table:
    """The query's rows over ``data`` as a file of its own (DuckDB's CSV reader reads files)."""
    if not data:
        return target.empty_table()
    descriptor, path = tempfile.mkstemp(prefix="pyudf-csv-range-", suffix=".csv")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        return _run_query(_substitute(sql, path, skip), target)
    finally:
        os.unlink(path)


def _locate_bad_line(byte_range: ByteRange, data: bytes, sql: str, skip: int, target: pa.Schema,
                     error: duckdb.Error) -> CsvFormatError:
    """The error naming the range's first line the query refuses, found by halving the range:
    a half that fails holds a bad line, the earlier half first. The header line is not checked."""
    breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A) + 1
    starts = [0] + [int(b) for b in breaks if b < len(data)]
    high = len(starts)
    low = min(skip, high - 1)  # lines [low, high) fail together
    bounds = starts + [len(data)]
    piece = lambda a, b: data[bounds[a]:bounds[b]]  # noqa: E731
    last_error: Exception = error

    def fails(a: int, b: int) -> bool:
        nonlocal last_error
        try:
            _query_bytes(piece(a, b), sql, 0, target)
            return False
        except duckdb.Error as failure:
            last_error = failure
            return True

    while high - low > 1:
        middle = (low + high) // 2
        if fails(low, middle):
            high = middle
        elif fails(middle, high):
            low = middle
        else:
            break  # fails only as a whole: a quoted field spans the halves
    line = _lines_before(byte_range.path, byte_range.start) + low + 1
    text = piece(low, low + 1).decode("utf-8", errors="replace").rstrip("\r\n")
    return CsvFormatError(f"{byte_range.path}:{line}: {_explain(text, sql, target, str(last_error))}", byte_range.path, line)


def _lines_before(path: str, offset: int) -> int:
    count = 0
    with open(path, "rb") as file:
        while offset > 0:
            chunk = file.read(min(_SCAN_BYTES, offset))
            if not chunk:
                break
            count += chunk.count(b"\n")
            offset -= len(chunk)
    return count


_CLUSTER_QUOTES = ("on a cluster a file is read in ranges cut at line breaks, so a quoted field holding a "
                   "line break cannot be read")


def _explain(text: str, sql: str, target: pa.Schema, duckdb_message: str) -> str:
    shown = f'"{text}"' if len(text) <= _QUOTED_CHARS else f'"{text[:_QUOTED_CHARS]}…" ({len(text)} characters)'
    if "unterminated quote" in duckdb_message:
        return f"malformed CSV: a quoted field opened on this line is not closed on it ({shown}); {_CLUSTER_QUOTES}"
    names = ", ".join(target.names)
    message = (f"the line {shown} does not fit the table's {len(target)} column(s) ({names}): a wrong number of "
               "fields, or a field that is not a value of its column's type")
    quote = _QUOTE_OPTION.search(sql)
    if quote and quote.group(1).replace("''", "'") in text:
        message += f"; if a quoted field from an earlier line ends on it: {_CLUSTER_QUOTES}"
    return message


# --- Parquet and JSON lines ----------------------------------------------------------------


class SqlFilesDatasource(_QueriedFiles):
    """Parquet or JSON-lines files, one read task per file."""

    def get_name(self) -> str:
        return "SqlFiles"

    def get_read_tasks(self, parallelism: int, per_task_row_limit: Optional[int] = None,
                       data_context: Any = None) -> list[ReadTask]:
        tasks = []
        for path in self._paths:
            read = functools.partial(_read_sql_file, path, self._sql, self._target)
            metadata = BlockMetadata(num_rows=None, size_bytes=os.path.getsize(path), exec_stats=None, input_files=[path])
            tasks.append(ReadTask(read, metadata, schema=self._target, per_task_row_limit=per_task_row_limit))
        return tasks


def _read_sql_file(path: str, sql: str, target: pa.Schema) -> Iterator[pa.Table]:
    yield _run_query(_substitute(sql, path), target)


# --- Arrow IPC files of the bundle ---------------------------------------------------------


def _read_arrow_file(path: str, target: pa.Schema, block_bytes: int) -> ray.data.Dataset:
    """A bundled table, in blocks of about ``block_bytes`` (whole record batches of the file
    split further), so that several tasks share the stages after it."""
    with pa.memory_map(path) as source:
        table = pa.ipc.open_file(source).read_all()
    table = conform(table, target)
    rows = table.num_rows
    blocks = max(1, -(-table.nbytes // max(1, block_bytes)))
    rows_per_block = max(1, -(-rows // blocks))
    # Copies, not slices: a slice would carry the whole table's buffers into the object store.
    pieces = [_compact(table.slice(offset, rows_per_block)) for offset in range(0, rows, rows_per_block)]
    return ray.data.from_arrow(pieces or [table])


def _compact(table: pa.Table) -> pa.Table:
    # Arrow's IPC writer writes a slice's own bytes only (pickling a slice keeps its parent's).
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return pa.ipc.open_stream(sink.getvalue()).read_all()
