"""Writing results on a local Ray: the collect stream, and CSV, Parquet, JSON files equal to the local writer's."""
from __future__ import annotations

import decimal
import os
import shutil
import tempfile
import unittest

from tests.cluster.local_ray import start_ray

import duckdb
import pyarrow as pa
import ray

from pyudf.cluster.csv_text import CsvSpelling, csv_text
from pyudf.cluster.sinks import abort_sink, job_paths, stream_collect, write_sink
from pyudf.cluster.sources import arrow_schema
from pyudf.type_text import parse_type
from tests.cluster import reference

SCHEMA = [{"name": "i", "type": "BIGINT"}, {"name": "d", "type": "DOUBLE"}, {"name": "s", "type": "STRING"},
          {"name": "m", "type": "DECIMAL(10, 2)"}, {"name": "t", "type": "TIMESTAMP(3)"}]


def setUpModule() -> None:
    start_ray()


def rows_table(count: int) -> pa.Table:
    return pa.table({
        "i": pa.array(range(count), pa.int64()),
        "d": [i / 3 if i % 5 else None for i in range(count)],
        "s": [f'row "{i}", here' if i % 4 else "" for i in range(count)],
        "m": pa.array([decimal.Decimal(i) / 4 for i in range(count)], pa.decimal128(10, 2)),
        "t": pa.array([i * 1001 for i in range(count)], pa.timestamp("ms")),
    }, schema=arrow_schema(SCHEMA))


def dataset(table: pa.Table, blocks: int) -> ray.data.Dataset:
    step = max(1, -(-table.num_rows // blocks))
    return ray.data.from_arrow([table.slice(k, step) for k in range(0, table.num_rows, step)] or [table])


class SinkTest(unittest.TestCase):
    def setUp(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="pyudf-sinks-")
        self.addCleanup(shutil.rmtree, self.directory)

    def test_collect_streams_rows_in_order_and_closes_the_descriptor(self) -> None:
        table = rows_table(3000)
        path = os.path.join(self.directory, "stream.arrow")
        with open(path, "wb") as out:
            descriptor = os.dup(out.fileno())
        self.assertEqual(stream_collect(dataset(table, 7), descriptor, SCHEMA), 3000)
        with self.assertRaises(OSError):
            os.fstat(descriptor)
        with open(path, "rb") as stream:
            result = pa.ipc.open_stream(stream).read_all()
        self.assertEqual(result.schema, arrow_schema(SCHEMA))
        self.assertEqual(result.to_pylist(), table.to_pylist())

    def test_csv_file_equals_the_local_writer_byte_for_byte(self) -> None:
        table = rows_table(2000)
        sink = {"kind": "csv", "path": os.path.join(self.directory, "out.csv"), "fieldDelimiter": ",",
                "quoteCharacter": '"', "nullLiteral": "", "writeHeader": False}
        self.assertEqual(write_sink(dataset(table, 9), sink, SCHEMA, "job1"), 2000)
        with open(sink["path"], "rb") as file:
            written = file.read().decode("utf-8")
        spelling = {"fieldDelimiter": ",", "quoteCharacter": '"', "nullLiteral": ""}
        self.assertEqual(written, reference.csv_text(table, [c["type"] for c in SCHEMA], spelling))
        self.assertEqual(sorted(os.listdir(self.directory)), ["out.csv"])

    def test_json_and_parquet_files_equal_one_duckdb_copy_of_all_rows(self) -> None:
        table = rows_table(1500)
        connection = duckdb.connect()
        connection.register("rows", table)
        for kind in ("json", "parquet"):
            with self.subTest(kind=kind):
                path = os.path.join(self.directory, f"out.{kind}")
                self.assertEqual(write_sink(dataset(table, 6), {"kind": kind, "path": path}, SCHEMA, "job2"), 1500)
                local = os.path.join(self.directory, f"local.{kind}")
                columns = 'i, d, s, CAST(m AS VARCHAR) AS m, CAST(t AS TIMESTAMP_MS) AS t' if kind == "json" else \
                    'i, d, s, m, CAST(t AS TIMESTAMP_MS) AS t'
                connection.execute(f"COPY (SELECT {columns} FROM rows) TO '{local}' (FORMAT {kind})")
                if kind == "json":
                    with open(path, "rb") as ours, open(local, "rb") as theirs:
                        self.assertEqual(ours.read(), theirs.read())
                else:
                    ours, theirs = (duckdb.connect().execute(f"SELECT * FROM read_parquet('{p}')").to_arrow_table()
                                    for p in (path, local))
                    self.assertEqual(ours.schema, theirs.schema)
                    self.assertEqual(ours.to_pylist(), theirs.to_pylist())
                os.unlink(local)
        self.assertEqual(sorted(os.listdir(self.directory)), ["out.json", "out.parquet"])

    def test_an_empty_result_is_an_empty_file(self) -> None:
        empty = arrow_schema(SCHEMA).empty_table()
        for kind in ("csv", "json", "parquet"):
            with self.subTest(kind=kind):
                path = os.path.join(self.directory, f"empty.{kind}")
                self.assertEqual(write_sink(ray.data.from_arrow(empty), {"kind": kind, "path": path}, SCHEMA, "j"), 0)
                self.assertTrue(os.path.exists(path))

    def test_a_failing_job_leaves_no_file_and_no_parts(self) -> None:
        path = os.path.join(self.directory, "out.csv")

        def explode(batch: pa.Table) -> pa.Table:
            if batch["i"][0].as_py() >= 500:
                raise ValueError("boom")
            return batch

        failing = dataset(rows_table(1000), 4).map_batches(explode, batch_format="pyarrow", batch_size=None)
        with self.assertRaises(Exception):
            write_sink(failing, {"kind": "csv", "path": path}, SCHEMA, "job3")
        self.assertEqual(os.listdir(self.directory), [])

    def test_abort_removes_leftovers_but_not_the_target(self) -> None:
        sink = {"kind": "csv", "path": os.path.join(self.directory, "out.csv")}
        target, parts, joined = job_paths(sink, "job4")
        os.makedirs(parts)
        for path in (os.path.join(parts, "part-00000"), joined, target):
            with open(path, "w") as file:
                file.write("x\n")
        abort_sink(sink, "job4")
        self.assertEqual(os.listdir(self.directory), ["out.csv"])

    def test_header_line_when_asked(self) -> None:
        table = rows_table(10)
        sink = {"kind": "csv", "path": os.path.join(self.directory, "h.csv"), "writeHeader": True}
        write_sink(dataset(table, 2), sink, SCHEMA, "job5")
        with open(sink["path"], encoding="utf-8") as file:
            text = file.read()
        self.assertEqual(text, "i,d,s,m,t\n" + csv_text(table, [parse_type(c["type"]) for c in SCHEMA], CsvSpelling()))


if __name__ == "__main__":
    unittest.main()
