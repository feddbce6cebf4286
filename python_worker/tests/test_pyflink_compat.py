"""PyFlink's function surface kept as is: data views, udf_type, pandas AggregateFunctions."""
from __future__ import annotations

import pickle
import unittest
import warnings

import pandas as pd

from pyudf import AggregateFunction, DataTypes, ListView, MapView, udaf, udf
from pyudf.types import ListViewType, MapViewType


class ListViewTest(unittest.TestCase):
    def test_as_pyflink(self) -> None:
        view: ListView[str] = ListView()
        self.assertEqual(list(view.get()), [])
        view.add("a")
        view.add_all(["b", "c"])
        self.assertEqual(list(view.get()), ["a", "b", "c"])
        self.assertEqual(",".join(view), "a,b,c")
        other: ListView[str] = ListView()
        other.add_all(["a", "b", "c"])
        self.assertEqual(view, other)
        other.add("d")
        self.assertNotEqual(view, other)
        view.clear()
        self.assertEqual(list(view), [])
        self.assertEqual(pickle.loads(pickle.dumps(other)), other)  # accumulators travel pickled to merge

    def test_map_view_as_pyflink(self) -> None:
        view: MapView[str, int] = MapView()
        self.assertTrue(view.is_empty())
        view.put("a", 1)
        view.put_all({"b": 2, "c": 3})
        view["d"] = 4
        self.assertEqual(view.get("a"), 1)
        self.assertEqual(view["b"], 2)
        self.assertTrue(view.contains("c"))
        self.assertIn("d", view)
        view.remove("a")
        del view["b"]
        self.assertEqual(sorted(view.keys()), ["c", "d"])
        self.assertEqual(sorted(view.values()), [3, 4])
        self.assertEqual(sorted(view.items()), [("c", 3), ("d", 4)])
        self.assertEqual(sorted(view), ["c", "d"])
        with self.assertRaises(KeyError):
            view.get("a")
        self.assertFalse(view.is_empty())
        view.clear()
        self.assertTrue(view.is_empty())

    def test_view_types(self) -> None:
        self.assertIsInstance(DataTypes.LIST_VIEW(DataTypes.STRING()), ListViewType)
        self.assertEqual(str(DataTypes.MAP_VIEW(DataTypes.STRING(), DataTypes.BIGINT())), "MAP_VIEW<STRING, BIGINT>")
        self.assertIsInstance(DataTypes.MAP_VIEW(DataTypes.STRING(), DataTypes.BIGINT()), MapViewType)
        with self.assertRaises(TypeError):
            DataTypes.LIST_VIEW("STRING")  # type: ignore[arg-type]


class UdfTypeAliasTest(unittest.TestCase):
    def test_udf_type_is_the_deprecated_func_type(self) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            vectorized = udf(lambda a: a + 1, result_type=DataTypes.BIGINT(), udf_type="pandas")
            mean = udaf(lambda v: v.mean(), result_type=DataTypes.DOUBLE(), udf_type="pandas")
        self.assertEqual(vectorized.func_type, "pandas")
        self.assertEqual(mean.func_type, "pandas")
        self.assertEqual([w.category for w in caught], [DeprecationWarning, DeprecationWarning])
        with self.assertRaisesRegex(ValueError, "disagree"):
            udf(lambda a: a, result_type=DataTypes.BIGINT(), udf_type="general", func_type="pandas")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with self.assertRaisesRegex(ValueError, "not supported"):
                udf(lambda a: a, result_type=DataTypes.BIGINT(), udf_type="scala")


class MaxAdd(AggregateFunction):
    """PyFlink's test_pandas_udaf MaxAdd."""

    def get_value(self, accumulator):
        return accumulator[0]

    def create_accumulator(self):
        return []

    def accumulate(self, accumulator, *args):
        result = 0
        for arg in args:
            result += arg.max()
        accumulator.append(result)


class PandasAggregateTest(unittest.TestCase):
    def test_an_aggregate_function_in_pandas_form(self) -> None:
        max_add = udaf(MaxAdd(), result_type=DataTypes.INT(), func_type="pandas")
        self.assertEqual(max_add.func_type, "pandas")
        self.assertIsInstance(max_add.func, MaxAdd)

    def test_a_map_result_is_refused_as_pyflink_does(self) -> None:
        def pandas_udaf():
            pass

        with self.assertRaisesRegex(TypeError, "Pandas UDAF doesn't support DataType type MAP"):
            udaf(pandas_udaf, result_type=DataTypes.MAP(DataTypes.INT(), DataTypes.INT()), func_type="pandas")
        # A general aggregate may return a MAP.
        udaf(MaxAdd(), result_type=DataTypes.MAP(DataTypes.INT(), DataTypes.INT()))

    def test_calling_the_declared_function_directly(self) -> None:
        max_add = udaf(MaxAdd(), result_type=DataTypes.INT(), func_type="pandas")
        acc = max_add.func.create_accumulator()
        max_add.func.accumulate(acc, pd.Series([2, 5, 8]), pd.Series([3, 4, 6]))
        self.assertEqual(max_add.func.get_value(acc), 14)


if __name__ == "__main__":
    unittest.main()
