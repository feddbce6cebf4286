"""Reading sources on a local Ray: CSV in byte ranges, Parquet and JSON by the host's query, bundled Arrow."""
from __future__ import annotations

import datetime
import decimal
import os
import shutil
import tempfile
import unittest

from tests.cluster.local_ray import start_ray

import duckdb
import pyarrow as pa

from pyudf.cluster.sources import CsvFormatError, arrow_schema, csv_byte_ranges, read_source
from tests.cluster import reference

COLUMNS = [{"name": "id", "type": "BIGINT"}, {"name": "name", "type": "STRING NOT NULL"},
           {"name": "score", "type": "DOUBLE"}, {"name": "n", "type": "INT"}, {"name": "ok", "type": "BOOLEAN"},
           {"name": "f", "type": "FLOAT"}]


def setUpModule() -> None:
    start_ray()


def all_rows(dataset, schema: list[dict]) -> pa.Table:
    """A dataset's blocks in order, each kept in its own types (concatenation refuses any other schema)."""
    blocks = list(dataset.iter_batches(batch_format="pyarrow", batch_size=None))
    return pa.concat_tables(blocks or [arrow_schema(schema).empty_table()], promote_options="none")


def csv_lines(count: int) -> list[str]:
    return [f"{i},name {i},{i * 0.25 if i % 7 else ''},{-i if i % 5 else ''},{'true' if i % 2 else 'FALSE'},{i / 8}"
            for i in range(count)]


class CsvSourceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.sql = reference.csv_scan_sql(COLUMNS)
        cls.sql_with_header = reference.csv_scan_sql(COLUMNS, ignoreFirstLine=True)

    def setUp(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="pyudf-sources-")
        self.addCleanup(shutil.rmtree, self.directory)

    def write(self, text: str, name: str = "in.csv") -> str:
        path = os.path.join(self.directory, name)
        with open(path, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        return path

    def read(self, path: str, header: bool = False, range_bytes: int = 2000) -> pa.Table:
        source = {"kind": "csv", "path": path, "sql": self.sql_with_header if header else self.sql, "header": header}
        return all_rows(read_source(source, COLUMNS, self.directory, range_bytes=range_bytes), COLUMNS)

    def whole_file(self, path: str, header: bool = False) -> pa.Table:
        sql = (self.sql_with_header if header else self.sql).replace("{path}", path).replace("{skip}", "1" if header else "0")
        return duckdb.connect().execute(sql).to_arrow_table()

    def assert_rows(self, actual: pa.Table, expected: pa.Table) -> None:
        self.assertEqual(actual.schema, arrow_schema(COLUMNS))
        self.assertEqual(actual.to_pylist(), expected.to_pylist())

    def test_many_ranges_give_the_rows_of_one_query_over_the_whole_file(self) -> None:
        path = self.write("\n".join(csv_lines(2000)) + "\n")
        ranges = csv_byte_ranges(path, 2000)
        self.assertGreater(len(ranges), 15)
        self.assertEqual(ranges[0].start, 0)
        self.assertEqual(ranges[-1].end, os.path.getsize(path))
        with open(path, "rb") as file:
            data = file.read()
        for before, after in zip(ranges, ranges[1:]):
            self.assertEqual(before.end, after.start)
            self.assertEqual(data[before.end - 1:before.end], b"\n")
        table = self.read(path)
        self.assertEqual(table.num_rows, 2000)
        self.assert_rows(table, self.whole_file(path))

    def test_a_header_is_skipped_once(self) -> None:
        path = self.write("id,name,score,n,ok,f\n" + "\n".join(csv_lines(300)) + "\n")
        table = self.read(path, header=True, range_bytes=1000)
        self.assertEqual(table.num_rows, 300)
        self.assert_rows(table, self.whole_file(path, header=True))

    def test_a_file_without_a_final_line_break(self) -> None:
        path = self.write("\n".join(csv_lines(500)))
        self.assert_rows(self.read(path), self.whole_file(path))
        self.assertEqual(self.read(path).num_rows, 500)

    def test_an_empty_file_has_no_rows(self) -> None:
        path = self.write("")
        self.assertEqual(len(csv_byte_ranges(path)), 1)
        table = self.read(path)
        self.assertEqual(table.num_rows, 0)
        self.assertEqual(table.schema, arrow_schema(COLUMNS))

    def test_lines_longer_than_a_range_stay_whole(self) -> None:
        lines = [f"{i},{'x' * (1000 if i % 3 == 0 else 5)},1.5,2,true,0.5" for i in range(30)]
        path = self.write("\n".join(lines) + "\n")
        table = self.read(path, range_bytes=100)
        self.assertEqual(table.column("name").to_pylist(), [line.split(",")[1] for line in lines])

    def test_a_bad_line_in_the_third_range_is_named_by_file_and_line(self) -> None:
        lines = ["id,name,score,n,ok,f"] + csv_lines(500)
        path = self.write("\n".join(lines) + "\n")
        third = csv_byte_ranges(path, 2000)[2]
        with open(path, "rb") as file:
            first_line = file.read(third.start).count(b"\n") + 1
            last_line = first_line + file.read(third.end - third.start).count(b"\n") - 1
        bad = (first_line + last_line) // 2  # 1-based
        fields = lines[bad - 1].split(",")
        for broken, why in [([*fields[:3], "x" * len(fields[3]), *fields[4:]], "a refused INT field"),
                            ([*fields[:2], fields[2] + fields[3], *fields[4:], ""], "a field too many"),
                            ([*fields[:5], fields[5] + ","], "an empty seventh field")]:
            with self.subTest(why=why):
                lines[bad - 1] = ",".join(broken)[:len(",".join(fields))].ljust(len(",".join(fields)), "0") \
                    if why == "a refused INT field" else ",".join(broken)
                path = self.write("\n".join(lines) + "\n")
                with self.assertRaises(CsvFormatError) as caught:
                    self.read(path, header=True)
                self.assertEqual(caught.exception.file, path)
                self.assertEqual(caught.exception.line, bad)
                self.assertIn(f"{path}:{bad}: ", str(caught.exception))
                lines[bad - 1] = ",".join(fields)

    def test_a_quoted_line_break_cut_by_a_range_is_an_error_not_wrong_rows(self) -> None:
        lines = csv_lines(200)
        lines[100] = '100,"two\nlines",1.5,2,true,0.5'
        path = self.write("\n".join(lines) + "\n")
        cut_inside = any(r.start == sum(len(l) + 1 for l in lines[:100]) + len('100,"two\n') for r in csv_byte_ranges(path, 300))
        with self.assertRaises(CsvFormatError) as caught:
            self.read(path, range_bytes=300 if cut_inside else self.range_cutting(path, lines))
        # Both ranges fail: the one ending inside the field (line 101) and the one starting inside it (102).
        self.assertIn(caught.exception.line, (101, 102))
        self.assertIn("quoted field holding a line break cannot be read", str(caught.exception))

    def range_cutting(self, path: str, lines: list[str]) -> int:
        """A range size that puts a boundary right after the quoted line break."""
        offset = sum(len(line) + 1 for line in lines[:100]) + len('100,"two\n')
        for size in range(offset, 0, -1):
            if any(r.start == offset for r in csv_byte_ranges(path, size)):
                return size
        self.fail("no range size cuts the quoted field")


class FileSourceTest(unittest.TestCase):
    SCHEMA = [{"name": "a", "type": "BIGINT"}, {"name": "t", "type": "TIMESTAMP(3)"},
              {"name": "d", "type": "DECIMAL(10, 2)"}, {"name": "s", "type": "STRING"}]

    def setUp(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="pyudf-sources-")
        self.addCleanup(shutil.rmtree, self.directory)

    def write_files(self, suffix: str, copy_options: str) -> list[str]:
        paths = []
        connection = duckdb.connect()
        for k in range(3):
            path = os.path.join(self.directory, f"part{k}.{suffix}")
            connection.execute(
                f"COPY (SELECT {k} * 1000 + i AS a, TIMESTAMP '2024-01-01 00:00:00.125' + INTERVAL (i) SECOND AS t, "
                f"CAST(i / 4 AS DECIMAL(10, 2)) AS d, 's' || i AS s FROM range(500) r(i)) TO '{path}' ({copy_options})")
            paths.append(path)
        return paths

    def expected(self) -> list[dict]:
        return [{"a": k * 1000 + i, "t": datetime.datetime(2024, 1, 1, 0, 0, i % 60, 125000) + datetime.timedelta(minutes=i // 60),
                 "d": decimal.Decimal(i / 4).quantize(decimal.Decimal("0.01")), "s": f"s{i}"}
                for k in range(3) for i in range(500)]

    def read(self, source: dict) -> pa.Table:
        return all_rows(read_source(source, self.SCHEMA, self.directory), self.SCHEMA)

    def test_parquet_files_in_order_with_the_schema_types(self) -> None:
        paths = self.write_files("parquet", "FORMAT parquet")
        columns = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in
                            [("a", "BIGINT"), ("t", "TIMESTAMP_MS"), ("d", "DECIMAL(10, 2)"), ("s", "VARCHAR")])
        table = self.read({"kind": "parquet", "paths": paths, "sql": f"SELECT {columns} FROM read_parquet('{{path}}')"})
        self.assertEqual(table.schema, arrow_schema(self.SCHEMA))
        self.assertEqual(table.to_pylist(), self.expected())

    def test_json_lines_files_in_order_with_the_schema_types(self) -> None:
        paths = self.write_files("json", "FORMAT json")
        columns = "{'a': 'BIGINT', 't': 'TIMESTAMP_MS', 'd': 'DECIMAL(10, 2)', 's': 'VARCHAR'}"
        sql = f"SELECT * FROM read_json('{{path}}', format = 'newline_delimited', columns = {columns})"
        table = self.read({"kind": "json", "paths": paths, "sql": sql})
        self.assertEqual(table.schema, arrow_schema(self.SCHEMA))
        self.assertEqual(table.to_pylist(), self.expected())


class ArrowSourceTest(unittest.TestCase):
    def test_a_bundled_table_in_several_blocks_in_order(self) -> None:
        directory = tempfile.mkdtemp(prefix="pyudf-bundle-")
        self.addCleanup(shutil.rmtree, directory)
        os.makedirs(os.path.join(directory, "data"))
        schema = [{"name": "i", "type": "BIGINT NOT NULL"}, {"name": "s", "type": "STRING"},
                  {"name": "t", "type": "TIME(3)"}]
        table = pa.table({"i": pa.array(range(20000), pa.int64()), "s": [f"row {i}" for i in range(20000)],
                          "t": pa.array([datetime.time(0, 0, i % 60) for i in range(20000)], pa.time32("ms"))},
                         schema=arrow_schema(schema))
        with pa.OSFile(os.path.join(directory, "data", "t0.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            for batch in table.to_batches(max_chunksize=7000):
                writer.write_batch(batch)
        dataset = read_source({"kind": "arrow", "file": "data/t0.arrow"}, schema, directory, arrow_block_bytes=64 << 10)
        self.assertGreater(dataset.materialize().num_blocks(), 3)
        rows = all_rows(dataset, schema)
        self.assertEqual(rows.schema, table.schema)
        self.assertEqual(rows.to_pylist(), table.to_pylist())


if __name__ == "__main__":
    unittest.main()
