"""pyudf.worker.conversions: what UDFs are given for the new types, and how their results are checked."""
from __future__ import annotations

import datetime as dt
import unittest
from decimal import Decimal

import pyarrow as pa

from pyudf import Row
from pyudf.types import parse_type
from pyudf.worker.batches import ResultTypeError, decode_arguments, encode_result, to_arrow_result
from pyudf.worker.conversions import python_values
from tests.support import arguments, decode_result

UTC = dt.timezone.utc
# Written out: Decimal arithmetic (-MAX, MAX + 1) would round to the context's 28 digits.
MAX_38_10 = Decimal("9" * 28 + "." + "9" * 10)
MIN_38_10 = Decimal("-" + "9" * 28 + "." + "9" * 10)


def round_trip(values, type_text):
    """Results of `type_text` through the worker's own IPC, back as a UDF would be given them."""
    data = encode_result(to_arrow_result(values, parse_type(type_text)))
    return decode_arguments(arguments(decode_result(data).to_pylist(), types=[parse_type(type_text).to_arrow()]))[0]


class GivenValuesTest(unittest.TestCase):
    def test_scalars_arrive_as_pyflink_gives_them(self):
        columns = decode_arguments(arguments(
            [Decimal("-12.3400"), None],
            [dt.date(1969, 7, 20), None],
            [dt.time(23, 59, 59, 999999), None],
            [dt.datetime(1900, 1, 1, 0, 0, 0, 1), None],
            [dt.datetime(2038, 1, 19, 3, 14, 8, 5, tzinfo=UTC), None],
            types=[pa.decimal128(10, 4), pa.date32(), pa.time64("us"), pa.timestamp("us"), pa.timestamp("us", tz="UTC")],
        ))
        self.assertEqual([c[0] for c in columns], [
            Decimal("-12.3400"), dt.date(1969, 7, 20), dt.time(23, 59, 59, 999999), dt.datetime(1900, 1, 1, 0, 0, 0, 1),
            dt.datetime(2038, 1, 19, 3, 14, 8, 5, tzinfo=UTC),
        ])
        self.assertEqual(str(columns[0][0]), "-12.3400")
        self.assertIs(columns[4][0].tzinfo, UTC)
        self.assertEqual([c[1] for c in columns], [None] * 5)

    def test_rows_arrive_as_named_rows_deep_inside(self):
        row_type = pa.struct([("a", pa.int32()), ("b", pa.list_(pa.struct([("c", pa.string())])))])
        [column] = decode_arguments(arguments(
            [[{"a": 1, "b": [{"c": "x"}, None]}, None], [], None],
            types=[pa.list_(row_type)],
        ))
        self.assertEqual(column[0], [Row(a=1, b=[Row(c="x"), None]), None])
        self.assertEqual(column[0][0].b[0].c, "x")
        self.assertEqual(column[1], [])
        self.assertIsNone(column[2])

    def test_maps_arrive_as_dicts(self):
        values = pa.array([[("k", [1, None]), ("n", None)], [], None],
                          type=pa.map_(pa.string(), pa.list_(pa.int32())))
        self.assertEqual(python_values(values), [{"k": [1, None], "n": None}, {}, None])
        rows = pa.array([[(dt.date(2020, 1, 1), {"v": 1})]], type=pa.map_(pa.date32(), pa.struct([("v", pa.int8())])))
        self.assertEqual(python_values(rows), [{dt.date(2020, 1, 1): Row(v=1)}])


class CheckedResultsTest(unittest.TestCase):
    def refused(self, values, type_text) -> ResultTypeError:
        with self.assertRaises(ResultTypeError) as caught:
            to_arrow_result(values, parse_type(type_text))
        return caught.exception

    def test_decimal_extremes_round_trip_exactly(self):
        values = [MAX_38_10, MIN_38_10, Decimal("0.0000000001"), Decimal("-0.0000000001"), Decimal(0), None]
        back = round_trip(values, "DECIMAL(38, 10)")
        self.assertEqual(back, values)
        self.assertEqual(str(back[0]), "9999999999999999999999999999.9999999999")

    def test_decimal_takes_ints_and_trailing_zeros(self):
        self.assertEqual(round_trip([7, Decimal("1.5000"), Decimal("2E+1")], "DECIMAL(5, 2)"),
                         [Decimal("7.00"), Decimal("1.50"), Decimal("20.00")])

    def test_decimal_that_does_not_fit(self):
        error = self.refused([Decimal("1.00"), Decimal("1.234")], "DECIMAL(5, 2)")
        self.assertEqual((error.row_index, str(error)), (
            1, "returned Decimal('1.234') (Decimal) for row 1, which has more than 2 digit(s) after the point, "
               "as DECIMAL(5, 2) holds (quantize it first)"))
        error = self.refused([Decimal("1000")], "DECIMAL(5, 2)")
        self.assertEqual(str(error), "returned Decimal('1000') (Decimal) for row 0, which has more than 3 digit(s) "
                                     "before the point, as DECIMAL(5, 2) holds")
        self.assertEqual(self.refused([Decimal("1" + "0" * 28)], "DECIMAL(38, 10)").row_index, 0)
        self.assertIn("which is not a DECIMAL(5, 2) (a decimal.Decimal or an int)", str(self.refused([1.5], "DECIMAL(5, 2)")))
        self.assertIn("True (bool) for row 0, which is not a DECIMAL", str(self.refused([True], "DECIMAL(5, 2)")))
        self.assertIn("is not a finite number", str(self.refused([Decimal("NaN")], "DECIMAL(5, 2)")))

    def test_dates(self):
        values = [dt.date(1, 1, 1), dt.date(1969, 12, 31), dt.date(9999, 12, 31), None]
        self.assertEqual(round_trip(values, "DATE"), values)
        error = self.refused([dt.date(2020, 1, 1), dt.datetime(2020, 1, 1)], "DATE")
        self.assertEqual(str(error), "returned datetime.datetime(2020, 1, 1, 0, 0) (datetime) for row 1, "
                                     "which is not a DATE (a datetime.date)")
        self.assertEqual(self.refused(["2020-01-01"], "DATE").row_index, 0)

    def test_times_keep_their_precision(self):
        self.assertEqual(round_trip([dt.time(0, 0, 0, 1), dt.time(23, 59, 59, 999999)], "TIME(6)"),
                         [dt.time(0, 0, 0, 1), dt.time(23, 59, 59, 999999)])
        self.assertEqual(round_trip([dt.time(12, 0, 0, 250000)], "TIME(3)"), [dt.time(12, 0, 0, 250000)])
        error = self.refused([dt.time(12, 0, 0, 250001)], "TIME(3)")
        self.assertIn("which has more digits of a second than TIME(3) holds", str(error))
        self.assertIn("has a time zone", str(self.refused([dt.time(1, tzinfo=UTC)], "TIME(0)")))

    def test_timestamps_naive_and_aware(self):
        naive = [dt.datetime(1, 1, 1), dt.datetime(1969, 12, 31, 23, 59, 59, 999999), dt.datetime(9999, 12, 31, 23, 59, 59, 999999)]
        self.assertEqual(round_trip(naive, "TIMESTAMP(6)"), naive)
        plus_two = dt.timezone(dt.timedelta(hours=2))
        self.assertEqual(round_trip([dt.datetime(2020, 1, 1, 1, 0, 0, 7, tzinfo=plus_two)], "TIMESTAMP_LTZ(6)"),
                         [dt.datetime(2019, 12, 31, 23, 0, 0, 7, tzinfo=UTC)])
        error = self.refused([dt.datetime(2020, 1, 1, tzinfo=UTC)], "TIMESTAMP(6)")
        self.assertIn("which is an aware datetime, but TIMESTAMP(6) holds wall-clock times", str(error))
        error = self.refused([dt.datetime(2020, 1, 1, tzinfo=UTC), dt.datetime(2020, 1, 1)], "TIMESTAMP_LTZ(3)")
        self.assertEqual(error.row_index, 1)
        self.assertIn("which is a naive datetime, but TIMESTAMP_LTZ(3) holds instants", str(error))
        self.assertIn("more digits of a second than TIMESTAMP(0)",
                      str(self.refused([dt.datetime(2020, 1, 1, 0, 0, 0, 1)], "TIMESTAMP(0)")))
        self.assertIn("out of range", str(self.refused([dt.datetime(1, 1, 1, tzinfo=plus_two)], "TIMESTAMP_LTZ(6)")))

    def test_nested_values(self):
        values = [[Row(a=1, b="x"), (2, None), None, {"a": 3, "b": "z"}, [4, "w"]], [], None]
        self.assertEqual(round_trip(values, "ARRAY<ROW<a INT, b STRING>>"),
                         [[Row(a=1, b="x"), Row(a=2, b=None), None, Row(a=3, b="z"), Row(a=4, b="w")], [], None])
        maps = [{"a": [1, None], "b": None}, {}, None]
        self.assertEqual(round_trip(maps, "MAP<STRING, ARRAY<INT>>"), maps)

    def test_rows_match_by_name_when_named(self):
        # PyFlink sorts Row(**kwargs) by name; the type's order decides where each field goes.
        [back] = round_trip([Row(b=1, a="x")], "ROW<b INT, a STRING>")
        self.assertEqual(back, Row("b", "a")(1, "x"))
        self.assertEqual((back.a, back.b, tuple(back)), ("x", 1, (1, "x")))
        error = self.refused([Row(c=1, a="x")], "ROW<b INT, a STRING>")
        self.assertIn("which has fields ['a', 'c'], but ROW<b INT, a STRING> has ['b', 'a']", str(error))
        error = self.refused([(1, "x", 3)], "ROW<b INT, a STRING>")
        self.assertIn("which has 3 value(s), but ROW<b INT, a STRING> has 2 field(s)", str(error))

    def test_a_wrong_value_deep_inside_names_its_place(self):
        error = self.refused([[Row(a=1, b="x")], [Row(a=1, b="x"), (2, 5)]], "ARRAY<ROW<a INT, b STRING>>")
        self.assertEqual((error.row_index, str(error)), (
            1, "returned [Row(a=1, b='x'), (2, 5)] (list) for row 1, which does not fit ARRAY<ROW<a INT, b STRING>>: "
               "element [1], field 'b' is 5 (int), which is not a STRING"))
        error = self.refused([{"k": [1, "2"]}], "MAP<STRING, ARRAY<INT>>")
        self.assertIn("value of key 'k', element [1] is '2' (str), which is not a INT", str(error))
        error = self.refused([{None: [1]}], "MAP<STRING, ARRAY<INT>>")
        self.assertIn("a key is None (NoneType), which cannot be a MAP key", str(error))
        error = self.refused([[1, None]], "ARRAY<INT NOT NULL>")
        self.assertIn("element [1] is None (NoneType), which the type declares NOT NULL", str(error))
        error = self.refused([[300]], "ARRAY<TINYINT>")
        self.assertIn("element [0] is 300 (int), which is out of range for TINYINT", str(error))
        error = self.refused([["\ud800"]], "ARRAY<STRING>")
        self.assertEqual(error.row_index, 0)

    def test_containers_of_the_wrong_kind(self):
        self.assertIn("'abc' (str) for row 0, which is not an ARRAY<STRING> (a list)", str(self.refused(["abc"], "ARRAY<STRING>")))
        self.assertIn("which is not an ARRAY<INT> (a list)", str(self.refused([Row(1)], "ARRAY<INT>")))
        self.assertIn("which is not a MAP<STRING, INT> (a dict)", str(self.refused([[("a", 1)]], "MAP<STRING, INT>")))
        self.assertIn("which is not a ROW<a INT> (a Row, tuple or list)", str(self.refused([5], "ROW<a INT>")))

    def test_none_for_a_not_null_result(self):
        error = self.refused([Decimal(1), None], "DECIMAL(5, 2) NOT NULL")
        self.assertEqual((error.row_index, str(error)),
                         (1, "returned None for row 1, but the result type is DECIMAL(5, 2) NOT NULL"))

    def test_arrow_types_of_results(self):
        self.assertEqual(to_arrow_result([None], parse_type("TIME(3)")).type, pa.time32("ms"))
        self.assertEqual(to_arrow_result([], parse_type("TIMESTAMP_LTZ(6)")).type, pa.timestamp("us", tz="UTC"))


if __name__ == "__main__":
    unittest.main()
