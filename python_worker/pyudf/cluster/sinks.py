"""A job's result on Ray: streamed back to the host, or written to a CSV, Parquet or JSON-lines file
equal to the local writer's.

File sinks: each write task writes a part file into a hidden job directory beside the target,
``.<name>.pyudf-ray-<jobId>/part-NNNNN`` (numbered by write task, which keeps block order when
the dataset preserves order); the driver then joins the parts in order into
``.<name>.pyudf-ray-<jobId>.part`` and renames it onto the target, so the target appears whole
or not at all. A failure removes every part; ``abort_sink`` removes what a cancelled job left.
"""
from __future__ import annotations

import os
import shutil
from typing import Any, Iterable, Optional

import duckdb
import pyarrow as pa
import ray.data
from ray.data.block import BlockAccessor
from ray.data.datasource import Datasink

from pyudf.cluster.csv_text import CsvSpelling, csv_header, csv_text
from pyudf.cluster.sources import arrow_schema, conform
from pyudf.type_text import parse_type
from pyudf.types import DataType

_COPY_BYTES = 1 << 20


def stream_collect(ds: ray.data.Dataset, fd: int, schema: list[dict]) -> int:
    """Writes the rows, in order, as one Arrow IPC stream on ``fd`` (each block written through
    as it comes) and closes ``fd``. The stream ends properly only when every row was written,
    so a reader never takes a failed job's rows for a whole result."""
    target = arrow_schema(schema)
    rows = 0
    with os.fdopen(fd, "wb", buffering=0) as out:
        writer = pa.ipc.new_stream(out, target)
        for block in ds.iter_batches(batch_format="pyarrow", batch_size=None):
            table = conform(block, target)
            for batch in table.to_batches():
                writer.write_batch(batch)
            rows += table.num_rows
        writer.close()
    return rows


def job_paths(sink: dict, job_id: str) -> tuple[str, str, str]:
    """(target, parts directory, joined part file) of a file sink."""
    target = os.path.abspath(sink["path"])
    directory, name = os.path.split(target)
    parts = os.path.join(directory, f".{name}.pyudf-ray-{job_id}")
    return target, parts, parts + ".part"


def abort_sink(sink: dict, job_id: str) -> None:
    """Removes a job's part files and joined part file; never the target."""
    _, parts, joined = job_paths(sink, job_id)
    shutil.rmtree(parts, ignore_errors=True)
    try:
        os.unlink(joined)
    except FileNotFoundError:
        pass


def write_sink(ds: ray.data.Dataset, sink: dict, schema: list[dict], job_id: str) -> int:
    """Writes the rows to a csv, parquet or json sink's file; returns the number of rows."""
    kind = sink.get("kind")
    if kind not in ("csv", "parquet", "json"):
        raise ValueError(f"unknown file sink kind {kind!r}; known kinds: csv, parquet, json")
    target, parts_dir, joined = job_paths(sink, job_id)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    abort_sink(sink, job_id)  # an earlier attempt of this job
    os.makedirs(parts_dir)
    try:
        datasink = _PartsDatasink(parts_dir, kind, schema, sink)
        ds.write_datasink(datasink)
        parts = datasink.parts
        if not parts:  # no rows, no write task: the file still has the schema
            parts = [_write_part(parts_dir, 0, kind, schema, sink, [arrow_schema(schema).empty_table()])]
        paths = [path for _, path, _ in parts]
        if kind == "parquet":
            _join_parquet(paths, joined, schema)
        else:
            header = csv_header([c["name"] for c in schema], CsvSpelling.of_sink(sink)) \
                if kind == "csv" and sink.get("writeHeader") else ""
            _concatenate(paths, joined, header.encode("utf-8"))
        os.replace(joined, target)
        return sum(rows for _, _, rows in parts)
    except BaseException:
        abort_sink(sink, job_id)
        raise
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)


class _PartsDatasink(Datasink):
    """Each write task's blocks into one part file named by the task's index."""

    def __init__(self, parts_dir: str, kind: str, schema: list[dict], sink: dict) -> None:
        self._parts_dir = parts_dir
        self._kind = kind
        self._schema = schema
        self._sink = sink
        self.parts: list[tuple[int, str, int]] = []

    def get_name(self) -> str:
        return f"PyudfFile({self._kind})"

    def write(self, blocks: Iterable[Any], ctx: Any) -> tuple[int, str, int]:
        tables = [BlockAccessor.for_block(block).to_arrow() for block in blocks]
        return _write_part(self._parts_dir, ctx.task_idx, self._kind, self._schema, self._sink, tables)

    def on_write_complete(self, write_result: Any) -> None:
        self.parts = sorted(write_result.write_returns)


def _write_part(parts_dir: str, index: int, kind: str, schema: list[dict], sink: dict,
                tables: list[pa.Table]) -> tuple[int, str, int]:
    target = arrow_schema(schema)
    tables = [conform(table, target) for table in tables] or [target.empty_table()]
    path = os.path.join(parts_dir, f"part-{index:05d}")
    rows = sum(table.num_rows for table in tables)
    if kind == "csv":
        types = [parse_type(c["type"]) for c in schema]
        spelling = CsvSpelling.of_sink(sink)
        with open(path, "wb") as out:
            for table in tables:
                out.write(csv_text(table, types, spelling).encode("utf-8"))
    else:
        _copy_rows(pa.concat_tables(tables), path, kind, schema, sink.get("timeZone"))
    return index, path, rows


def _copy_rows(table: pa.Table, path: str, kind: str, schema: list[dict], time_zone: Optional[str]) -> None:
    """DuckDB COPY of the rows in the local engine's column types, as the local file sink does
    (DECIMAL in JSON as exact strings)."""
    connection = duckdb.connect(config={"threads": 1})
    try:
        if time_zone:
            connection.execute(f"SET TimeZone = {_sql_string(time_zone)}")
        connection.register("rows", table)
        columns = _typed_columns(schema, json=kind == "json")
        connection.execute(f"COPY (SELECT {columns} FROM rows) TO {_sql_string(path)} (FORMAT {kind})")
    finally:
        connection.close()


def _join_parquet(paths: list[str], joined: str, schema: list[dict]) -> None:
    connection = duckdb.connect()
    try:
        files = ", ".join(_sql_string(path) for path in paths)
        connection.execute(f"COPY (SELECT {_typed_columns(schema, json=False)} FROM read_parquet([{files}])) "
                           f"TO {_sql_string(joined)} (FORMAT parquet)")
    finally:
        connection.close()


def _concatenate(paths: list[str], joined: str, header: bytes) -> None:
    with open(joined, "xb") as out:
        out.write(header)
        for path in paths:
            with open(path, "rb") as part:
                shutil.copyfileobj(part, out, _COPY_BYTES)


def _typed_columns(schema: list[dict], json: bool) -> str:
    items = []
    for column in schema:
        data_type = parse_type(column["type"])
        name = _quote_name(column["name"])
        value = f"CAST({name} AS {duckdb_type_of(data_type)})"
        if json and data_type.type_name == "DECIMAL":
            value = f"CAST({value} AS VARCHAR)"
        items.append(f"{value} AS {name}")
    return ", ".join(items)


def duckdb_type_of(data_type: DataType) -> str:
    """The DuckDB column type the local engine holds a type in (``duckdbTypeOf``)."""
    name = data_type.type_name
    if name in ("BOOLEAN", "TINYINT", "SMALLINT", "BIGINT", "FLOAT", "DOUBLE", "DATE", "TIME"):
        return name
    simple = {"INT": "INTEGER", "STRING": "VARCHAR", "BYTES": "BLOB", "TIMESTAMP_LTZ": "TIMESTAMPTZ"}
    if name in simple:
        return simple[name]
    if name == "DECIMAL":
        return f"DECIMAL({data_type.precision}, {data_type.scale})"
    if name == "TIMESTAMP":
        precision = data_type.precision
        return "TIMESTAMP_S" if precision == 0 else "TIMESTAMP_MS" if precision <= 3 else "TIMESTAMP"
    if name == "ARRAY":
        return f"{duckdb_type_of(data_type.element_type)}[]"
    if name == "MAP":
        return f"MAP({duckdb_type_of(data_type.key_type)}, {duckdb_type_of(data_type.value_type)})"
    if name == "ROW":
        fields = ", ".join(f"{_quote_name(f.name)} {duckdb_type_of(f.data_type)}" for f in data_type)
        return f"STRUCT({fields})"
    raise ValueError(f"no DuckDB column type for {data_type}")


def _quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
