"""Every SQL type in a vectorized function: the pandas forms it is given, and its results back to Arrow."""
from __future__ import annotations

import datetime
import decimal
import unittest

import numpy as np
import pandas as pd
import pyarrow as pa

from pyudf.row import Row
from pyudf.types import DataTypes as D
from pyudf.worker.batches import ResultTypeError
from pyudf.worker.vectorized import arguments_as_series, series_to_arrow

UTC = datetime.timezone.utc
ITEM = D.ROW([D.FIELD("a", D.INT()), D.FIELD("b", D.STRING())])


def given(values, data_type):
    (result,) = arguments_as_series([pa.array(values, type=data_type.to_arrow())])
    return result


def back(result, data_type):
    return series_to_arrow(result, len(result), data_type).to_pylist()


class GivenTest(unittest.TestCase):
    def test_exact_scalars_as_pyflink_gives_them(self):
        decimals = given([decimal.Decimal("-0.0000000001"), None], D.DECIMAL(38, 10))
        self.assertEqual(decimals.tolist(), [decimal.Decimal("-1E-10"), None])
        self.assertEqual(given([datetime.date(1, 1, 1), None], D.DATE()).tolist(), [datetime.date(1, 1, 1), None])
        self.assertEqual(given([datetime.time(1, 2, 3, 4), None], D.TIME(6)).tolist(), [datetime.time(1, 2, 3, 4), None])
        stamps = given([datetime.datetime(1, 1, 1, 0, 0, 0, 1), None], D.TIMESTAMP(6))
        self.assertEqual(str(stamps.dtype), "datetime64[us]")
        self.assertIs(stamps.iloc[1], pd.NaT)
        self.assertEqual(str(given([None], D.TIMESTAMP(3)).dtype), "datetime64[ms]")
        instants = given([datetime.datetime(2000, 1, 1, tzinfo=UTC)], D.TIMESTAMP_LTZ(6))
        self.assertEqual(str(instants.dtype), "datetime64[us, UTC]")

    def test_integers_inside_collections_are_never_floats(self):
        arrays = given([[2 ** 60 + 1, None], [1]], D.ARRAY(D.BIGINT()))
        self.assertEqual(arrays.iloc[0].tolist(), [2 ** 60 + 1, None])
        self.assertIsInstance(arrays.iloc[1][0], int)
        maps = given([{"k": 2 ** 60 + 1, "none": None}], D.MAP(D.STRING(), D.BIGINT()))
        self.assertEqual(maps.iloc[0], [("k", 2 ** 60 + 1), ("none", None)])
        rows = given([[{"a": 7, "b": None}, None]], D.ARRAY(ITEM))
        self.assertEqual(rows.iloc[0].tolist(), [{"a": 7, "b": None}, None])
        self.assertIsInstance(rows.iloc[0][0]["a"], int)

    def test_timestamp_ltz_inside_an_array_stays_aware(self):
        arrays = given([[datetime.datetime(2000, 1, 1, 0, 0, 0, 1, tzinfo=UTC), None]], D.ARRAY(D.TIMESTAMP_LTZ(6)))
        stamp, missing = arrays.iloc[0]
        self.assertEqual(stamp, pd.Timestamp("2000-01-01 00:00:00.000001", tz="UTC"))
        self.assertIs(missing, pd.NaT)
        nested = given([{"l": [[datetime.datetime(2000, 1, 1, tzinfo=UTC)]]}],
                       D.ROW([D.FIELD("l", D.ARRAY(D.ARRAY(D.TIMESTAMP_LTZ(6))))]))
        self.assertIsNotNone(nested["l"].iloc[0][0][0].tzinfo)

    def test_a_row_is_a_dataframe_whose_null_rows_have_missing_fields(self):
        frame = given([{"a": 1, "b": "x"}, None], ITEM)
        self.assertIsInstance(frame, pd.DataFrame)
        self.assertEqual(list(frame.columns), ["a", "b"])
        self.assertEqual(str(frame["a"].dtype), "Int32")
        self.assertIs(frame["a"].iloc[1], pd.NA)
        self.assertTrue(pd.isna(frame["b"].iloc[1]))

    def test_a_row_inside_a_row_has_its_fields_spliced_in_as_pyflink_does(self):
        outer = D.ROW([D.FIELD("k", D.TINYINT()), D.FIELD("item", ITEM)])
        frame = given([{"k": 1, "item": {"a": 2, "b": "x"}}, {"k": 2, "item": None}, None], outer)
        self.assertEqual(list(frame.columns), ["k", "a", "b"])
        self.assertEqual(frame["a"].tolist()[0], 2)
        self.assertIs(frame["a"].iloc[1], pd.NA)  # the inner row's NULL, and the outer's, in each field
        self.assertIs(frame["a"].iloc[2], pd.NA)
        self.assertTrue(pd.isna(frame["k"].iloc[2]))


class BackTest(unittest.TestCase):
    def refused(self, result, data_type):
        with self.assertRaises(ResultTypeError) as caught:
            series_to_arrow(result, len(result), data_type)
        return caught.exception

    def test_every_type_goes_back_unchanged(self):
        cases = [
            (D.DECIMAL(38, 10), [decimal.Decimal("9" * 28 + "." + "9" * 10), None]),
            (D.TIMESTAMP(6), [datetime.datetime(1, 1, 1, 0, 0, 0, 1), datetime.datetime(9999, 12, 31, 23, 59, 59, 999999), None]),
            (D.TIMESTAMP_LTZ(3), [datetime.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC), None]),
            (D.ARRAY(D.ARRAY(D.BIGINT())), [[[2 ** 60 + 1, None], []], [], None]),
            (D.ARRAY(D.TIMESTAMP_LTZ(6)), [[datetime.datetime(2000, 1, 1, tzinfo=UTC), None]]),
            (D.MAP(D.DATE(), D.ARRAY(D.DECIMAL(5, 2))), [{datetime.date(1, 1, 1): [decimal.Decimal("1.50"), None]}, {}, None]),
            (D.ARRAY(ITEM), [[{"a": 1, "b": None}, None], []]),
            (ITEM, [{"a": 1, "b": "x"}, None, {"a": None, "b": "y"}]),
        ]
        for data_type, values in cases:
            with self.subTest(str(data_type)):
                expected = pa.array(values, type=data_type.to_arrow()).to_pylist()
                self.assertEqual(back(given(values, data_type), data_type), expected)

    def test_missing_values_at_any_depth_are_null(self):
        self.assertEqual(back(pd.Series([np.array([1.5, np.nan]), None]), D.ARRAY(D.DOUBLE())), [[1.5, None], None])
        self.assertEqual(back(pd.Series([{"a": np.nan, "b": pd.NA}]), D.MAP(D.STRING(), D.INT())), [[("a", None), ("b", None)]])
        self.assertEqual(back(pd.Series([decimal.Decimal("NaN"), pd.NA]), D.DECIMAL(5, 2)), [None, None])

    def test_plain_python_values_are_taken_as_from_a_row_function(self):
        self.assertEqual(back(pd.Series([[1, 2], (3,)]), D.ARRAY(D.INT())), [[1, 2], [3]])
        self.assertEqual(back(pd.Series([{"k": 1}]), D.MAP(D.STRING(), D.INT())), [[("k", 1)]])
        self.assertEqual(back(pd.Series([Row(b="x", a=1), (2, "y")]), ITEM), [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
        self.assertEqual(back(pd.Series([1, None], dtype="Int64"), D.DECIMAL(5, 2)), [decimal.Decimal("1.00"), None])

    def test_decimals_are_never_rounded_nor_taken_from_floats(self):
        error = self.refused(pd.Series([decimal.Decimal("1.00"), decimal.Decimal("1.005")]), D.DECIMAL(5, 2))
        self.assertEqual(error.row_index, 1)
        self.assertIn("has more than 2 digit(s) after the point", str(error))
        error = self.refused(pd.Series([decimal.Decimal("1"), decimal.Decimal("1000")]), D.DECIMAL(5, 2))
        self.assertEqual(error.row_index, 1)
        self.assertIn("has more than 3 digit(s) before the point", str(error))
        self.assertIn("returned 1.5 (float) for row 0", str(self.refused(pd.Series([1.5]), D.DECIMAL(5, 2))))

    def test_datetime64_series(self):
        midnights = pd.Series(pd.to_datetime(["1969-07-20", None]))
        self.assertEqual(back(midnights, D.DATE()), [datetime.date(1969, 7, 20), None])
        error = self.refused(pd.Series(pd.to_datetime(["2000-01-01 00:00:00", "2000-01-01 00:00:01"])), D.DATE())
        self.assertEqual(error.row_index, 1)
        ny = pd.Series(pd.to_datetime(["2000-01-01 12:00"])).dt.tz_localize(datetime.timezone(datetime.timedelta(hours=-5)))
        self.assertEqual(back(ny, D.TIMESTAMP_LTZ(6)), [datetime.datetime(2000, 1, 1, 17, tzinfo=UTC)])
        error = self.refused(pd.Series(np.array(["9999-12-31", "10000-01-01"], dtype="datetime64[s]")), D.TIMESTAMP(6))
        self.assertEqual(error.row_index, 1)
        self.assertIn("outside years 0001 to 9999", str(error))
        error = self.refused(pd.Series(pd.to_datetime(["2000-01-01 00:00:00.001"])), D.TIMESTAMP(2))
        self.assertIn("has more digits of a second than TIMESTAMP(2) holds", str(error))
        error = self.refused(pd.Series(pd.to_datetime(["2000-01-01", None])), D.TIMESTAMP(6, nullable=False))
        self.assertEqual(error.row_index, 1)

    def test_numpy_and_pandas_datetimes_inside(self):
        nanos = pd.Series([np.array(["2000-01-01T00:00:00.000000001"], dtype="datetime64[ns]")])
        error = self.refused(nanos, D.ARRAY(D.TIMESTAMP(6)))
        self.assertIn("element [0] is np.datetime64('2000-01-01T00:00:00.000000001') (datetime64), which has nanoseconds", str(error))
        error = self.refused(pd.Series([pd.Timestamp("2000-01-01 00:00:00.000000001")], dtype=object), D.TIMESTAMP(6))
        self.assertIn("which has nanoseconds", str(error))

    def test_numpy_arrays_of_other_dtypes_are_checked_element_by_element(self):
        error = self.refused(pd.Series([np.array([1, 2]), np.array([True])]), D.ARRAY(D.INT()))
        self.assertEqual(error.row_index, 1)
        self.assertIn("element [0] is np.True_ (bool), which is not a INT", str(error))
        error = self.refused(pd.Series([np.array([[1, 2]])]), D.ARRAY(D.INT()))
        self.assertIn("is a 2-dimensional numpy array", str(error))

    def test_map_pairs(self):
        self.assertEqual(back(pd.Series([[("a", 1)], np.array([("b", 2)], dtype=object)]), D.MAP(D.STRING(), D.INT())),
                         [[("a", 1)], [("b", 2)]])
        error = self.refused(pd.Series([[("a", 1), ("a", 2)]]), D.MAP(D.STRING(), D.INT()))
        self.assertIn("has the key 'a' twice", str(error))
        error = self.refused(pd.Series([[("a", 1, 2)]]), D.MAP(D.STRING(), D.INT()))
        self.assertIn("('a', 1, 2) (tuple) is not a (key, value) pair", str(error))

    def test_dataframes_for_a_row(self):
        by_name = pd.DataFrame({"b": ["x", None], "a": pd.array([1, None], dtype="Int32")})
        self.assertEqual(back(by_name, ITEM), [{"a": 1, "b": "x"}, None])
        unnamed = pd.concat([pd.Series([1]), pd.Series(["x"])], axis=1)
        self.assertEqual(back(unnamed, ITEM), [{"a": 1, "b": "x"}])
        self.assertEqual(back(by_name, ITEM.not_null()), [{"a": 1, "b": "x"}, {"a": None, "b": None}])
        error = self.refused(pd.DataFrame({"a": [1], "c": ["x"]}), ITEM)
        self.assertIn("returned a DataFrame with columns ['a', 'c'], but ROW<a INT, b STRING> has fields ['a', 'b']", str(error))
        error = self.refused(pd.DataFrame({"a": [1.5], "b": ["x"]}), ITEM)
        self.assertIn("column 'a' does not fit field 'a' of ROW<a INT, b STRING>: returned a Series of dtype float64", str(error))
        strict = D.ROW([D.FIELD("a", D.INT(nullable=False)), D.FIELD("b", D.STRING())])
        self.assertEqual(back(pd.DataFrame({"a": pd.array([1, None], dtype="Int32"), "b": ["x", None]}), strict),
                         [{"a": 1, "b": "x"}, None])
        error = self.refused(pd.DataFrame({"a": pd.array([1, None], dtype="Int32"), "b": ["x", "y"]}), strict)
        self.assertEqual(error.row_index, 1)
        self.assertIn("row 1 has no value in field 'a'", str(error))
        self.assertIn("(or, for a ROW, a DataFrame of a column per field)", str(self.refused([{"a": 1, "b": "x"}], ITEM)))
        self.assertIn("must return a pandas.Series of one value per row", str(self.refused(pd.DataFrame({"a": [1]}), D.INT())))


if __name__ == "__main__":
    unittest.main()
