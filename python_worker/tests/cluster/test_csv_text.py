"""CSV text from Python byte for byte equal to the TypeScript CSV sink's, over a wide sample."""
from __future__ import annotations

import datetime
import decimal
import math
import random
import struct
import unittest

import pyarrow as pa

from pyudf.cluster.csv_text import CsvSpelling, csv_header, csv_text, js_number
from pyudf.type_text import parse_type
from tests.cluster import reference

TRICKY_DOUBLES = [
    0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.1 + 0.2, 1 / 3, 2 / 3, 100.0, 1e20, 1e21, 1.5e21, 123456789012345680000.0,
    1e-6, 1e-7, 1.5e-7, 0.000001234, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 9007199254740993.0,
    9007199254740992.0, 4.35, 0.3, 123.456, -1e-300, 1e300, 2.0 ** 63, 2.0 ** 64, 1e15 + 0.3, 12345.678e10,
    float("nan"), float("inf"), float("-inf"), 0.5, 25.0, 1e-5, 3.14159, 6.02214076e23, 1.602e-19,
]


def random_doubles(count: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    values = []
    while len(values) < count:
        bits = rng.getrandbits(64)
        value = struct.unpack("<d", struct.pack("<Q", bits))[0]
        if not math.isnan(value):
            values.append(value)
        values.append(rng.uniform(-1000, 1000))
        values.append(round(rng.uniform(-1, 1), rng.randint(0, 8)) * 10 ** rng.randint(-10, 25))
    return values[:count]


def column(values: list, type_text: str) -> pa.Array:
    return pa.array(values, type=parse_type(type_text).to_arrow())


class JsNumberTest(unittest.TestCase):
    def test_known_spellings(self) -> None:
        self.assertEqual([js_number(x) for x in [1e21, 1e20, 0.1, -0.0, 1e-7, 1.5e-6, float("nan"), float("-inf")]],
                         ["1e+21", "100000000000000000000", "0.1", "0", "1e-7", "0.0000015", "NaN", "-Infinity"])


class GoldenCsvTextTest(unittest.TestCase):
    """The same Arrow rows through the TypeScript csvText and through csv_text."""

    def assert_same_text(self, table: pa.Table, types: list[str], spelling: dict) -> None:
        expected = reference.csv_text(table, types, spelling)
        ours = csv_text(table, [parse_type(t) for t in types],
                        CsvSpelling(spelling["fieldDelimiter"], spelling["quoteCharacter"], spelling["nullLiteral"]))
        if ours != expected:
            ours_lines, expected_lines = ours.split("\n"), expected.split("\n")
            for i, (a, b) in enumerate(zip(ours_lines, expected_lines)):
                self.assertEqual(a, b, f"line {i + 1} differs")
        self.assertEqual(ours, expected)

    def scalar_table(self) -> tuple[pa.Table, list[str]]:
        doubles = TRICKY_DOUBLES + random_doubles(3000, seed=7)
        n = len(doubles)
        rng = random.Random(11)
        pick = lambda options: [options[i % len(options)] for i in range(n)]  # noqa: E731
        strings = ["", "plain", "a,b", 'say "hi"', "line\nbreak", "cr\rhere", "NULL", "'single'", "tab\there",
                   "ünïcödé ✓", "𝄞 music", " spaced ", ";", "||", "x|", "0", "semi;colon", "dot.ted", None]
        columns = {
            "d": (doubles, "DOUBLE"),
            "f": ([struct.unpack("<f", struct.pack("<f", x))[0] if math.isfinite(x) and abs(x) < 3e38 else x
                   for x in doubles], "FLOAT"),
            "b": ([rng.randint(-2 ** 63, 2 ** 63 - 1) for _ in range(n - 3)] + [-2 ** 63, 2 ** 63 - 1, None], "BIGINT"),
            "i": (pick([0, -1, 2 ** 31 - 1, -2 ** 31, None, 42]), "INT"),
            "t": (pick([-128, 127, 0, None]), "TINYINT"),
            "sm": (pick([-32768, 32767, 7]), "SMALLINT"),
            "bo": (pick([True, False, None]), "BOOLEAN"),
            "s": (pick(strings), "STRING"),
            "by": (pick([b"", b"\x00\xff", b"hello world", None, bytes(range(40))]), "BYTES"),
            "dec": (pick([decimal.Decimal("0"), decimal.Decimal("-0.50"), decimal.Decimal("12.3456"), None,
                          decimal.Decimal("-99999999.9999"), decimal.Decimal("7")]), "DECIMAL(12, 4)"),
            "dec0": (pick([decimal.Decimal("0"), decimal.Decimal("-12"), decimal.Decimal("1" * 38)]), "DECIMAL(38, 0)"),
            "big": (pick([decimal.Decimal("-0." + "1" * 38), decimal.Decimal("0E-38")]), "DECIMAL(38, 38)"),
            "da": (pick([datetime.date(1, 1, 1), datetime.date(9999, 12, 31), datetime.date(1969, 12, 31), None,
                         datetime.date(2024, 2, 29)]), "DATE"),
            "t0": (pick([datetime.time(0, 0), datetime.time(23, 59, 59), None]), "TIME(0)"),
            "t3": (pick([datetime.time(13, 45, 30, 250000), datetime.time(0, 0, 0, 1000)]), "TIME(3)"),
            "t6": (pick([datetime.time(13, 45, 30, 250001), datetime.time(23, 59, 59, 999999)]), "TIME(6)"),
            "ts0": (pick([datetime.datetime(1, 1, 1), datetime.datetime(1969, 12, 31, 23, 59, 59)]), "TIMESTAMP(0)"),
            "ts3": (pick([datetime.datetime(2024, 2, 29, 13, 45, 30, 250000), None,
                          datetime.datetime(1900, 1, 1, 0, 0, 0, 1000)]), "TIMESTAMP(3)"),
            "ts6": (pick([datetime.datetime(9999, 12, 31, 23, 59, 59, 999999), datetime.datetime(1970, 1, 1)]), "TIMESTAMP"),
            "ltz": (pick([datetime.datetime(2024, 2, 29, 13, 45, 30, 250001, tzinfo=datetime.timezone.utc), None]),
                    "TIMESTAMP_LTZ(6)"),
        }
        table = pa.table({name: column(values, type_text) for name, (values, type_text) in columns.items()})
        return table, [type_text for _, type_text in columns.values()]

    def test_scalar_values_with_default_spelling(self) -> None:
        table, types = self.scalar_table()
        self.assert_same_text(table, types, {"fieldDelimiter": ",", "quoteCharacter": '"', "nullLiteral": ""})

    def test_scalar_values_with_other_spellings(self) -> None:
        table, types = self.scalar_table()
        for spelling in [
            {"fieldDelimiter": ";", "quoteCharacter": "'", "nullLiteral": "NULL"},
            {"fieldDelimiter": ".", "quoteCharacter": '"', "nullLiteral": "0"},  # a delimiter numbers hold
            {"fieldDelimiter": "||", "quoteCharacter": "|", "nullLiteral": "\\N"},
            {"fieldDelimiter": "\t", "quoteCharacter": "e", "nullLiteral": "NaN"},
        ]:
            with self.subTest(spelling=spelling):
                self.assert_same_text(table, types, spelling)

    def test_composite_values_spelled_as_javascript_does(self) -> None:
        types = ["ARRAY<INT>", "ARRAY<DOUBLE>", "ARRAY<STRING>", "ARRAY<ARRAY<BIGINT>>", "ARRAY<BYTES>",
                 "MAP<STRING, INT>", "ROW<a INT, b STRING>"]
        values = [
            [[1, None, 3], [], None],
            [[0.1, 1e21, None], [float("nan")], [-0.0]],
            [["a,b", None, ""], ['q"'], None],
            [[[1, 2], None, []], [[2 ** 63 - 1]], []],
            [[b"\x01\x02", None], [], None],
            [[("k", 1)], None, []],
            [{"a": 1, "b": "x"}, None, {"a": None, "b": None}],
        ]
        table = pa.table({f"c{i}": column(v, t) for i, (v, t) in enumerate(zip(values, types))})
        self.assert_same_text(table, types, {"fieldDelimiter": ",", "quoteCharacter": '"', "nullLiteral": ""})

    def test_header_line_quotes_names_as_fields(self) -> None:
        self.assertEqual(csv_header(["a", "b,c", 'q"'], CsvSpelling()), 'a,"b,c","q"""\n')


if __name__ == "__main__":
    unittest.main()
