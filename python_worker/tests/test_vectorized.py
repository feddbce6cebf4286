"""Vectorized functions: Arrow columns as pandas.Series, and strict checks of the Series returned."""
from __future__ import annotations

import datetime
import unittest

import numpy as np
import pandas as pd
import pyarrow as pa

from pyudf._proto import worker_pb2
from pyudf.types import DataTypes
from pyudf.worker.batches import ResultTypeError
from pyudf.worker.logs import LogHub
from pyudf.worker.runtime import FunctionRuntime
from pyudf.worker.vectorized import arguments_as_series, series_to_arrow
from tests.support import arguments, decode_result, temp_modules

VECTORIZED_MODULE = """\
import pandas as pd
from pyudf import udf, ScalarFunction, DataTypes


@udf(result_type=DataTypes.DOUBLE(), func_type="pandas")
def add(a, b):
    return a + b


@udf(result_type=DataTypes.BIGINT(), func_type="pandas")
def wrong_length(a):
    return a.iloc[1:]


@udf(result_type=DataTypes.BIGINT(), func_type="pandas")
def halves(a):
    return a / 2


@udf(result_type=DataTypes.BIGINT(), func_type="pandas")
def first_only(a):
    return a.iloc[0]


@udf(result_type=DataTypes.BIGINT(), func_type="pandas")
def fails(a):
    raise ValueError("no batch for you")


@udf(result_type=DataTypes.BIGINT(), func_type="pandas")
def clips_in_place(a):
    a[a < 0] = 0
    return a


class Scale(ScalarFunction):
    def open(self, function_context):
        self.factor = float(function_context.get_job_parameter("factor", "1"))
        self.batches = function_context.get_metric_group().counter("batches")

    def eval(self, x):
        self.batches.inc()
        return x * self.factor


scale = udf(Scale(), [DataTypes.DOUBLE()], DataTypes.DOUBLE(), func_type="pandas")
"""


def spec(name, callable_, input_types=None, result_type="", **options):
    return worker_pb2.FunctionSpec(
        name=name, callable=callable_, input_types=input_types or [],
        has_input_types=input_types is not None, result_type=result_type, **options,
    )


class SeriesInTest(unittest.TestCase):
    def test_numbers_without_nulls_are_read_only_views(self):
        column = pa.array(np.arange(5, dtype="float64"))
        (series,) = arguments_as_series([column])
        self.assertEqual(series.dtype, np.float64)
        self.assertTrue(np.shares_memory(series.to_numpy(), np.frombuffer(column.buffers()[1], dtype="float64")))
        self.assertFalse(series.to_numpy().flags.writeable)

    def test_nulls_arrive_as_pandas_has_them(self):
        doubles, longs, flags, texts, blobs = arguments_as_series([
            pa.array([1.5, None]), pa.array([2 ** 60 + 1, None]), pa.array([True, None]),
            pa.array(["a", None]), pa.array([b"x", None]),
        ])
        self.assertTrue(np.isnan(doubles.iloc[1]))
        # Integers stay exact: pandas' nullable Int64, not float64.
        self.assertEqual(str(longs.dtype), "Int64")
        self.assertEqual(longs.iloc[0], 2 ** 60 + 1)
        self.assertIs(longs.iloc[1], pd.NA)
        self.assertEqual(str(flags.dtype), "boolean")
        self.assertIs(flags.iloc[1], pd.NA)
        self.assertTrue(pd.isna(texts.iloc[1]))
        self.assertEqual(texts.iloc[0], "a")
        self.assertEqual(blobs.tolist(), [b"x", None])


class SeriesOutTest(unittest.TestCase):
    def convert(self, result, type_, rows=None):
        return series_to_arrow(result, len(result) if rows is None else rows, type_)

    def refused(self, result, type_, rows=None):
        with self.assertRaises(ResultTypeError) as caught:
            self.convert(result, type_, rows)
        return caught.exception

    def test_matching_dtypes_convert(self):
        self.assertEqual(self.convert(pd.Series([1.5, np.nan]), DataTypes.DOUBLE()).to_pylist(), [1.5, None])
        self.assertEqual(self.convert(pd.Series([1, 2]), DataTypes.DOUBLE()).to_pylist(), [1.0, 2.0])
        self.assertEqual(self.convert(pd.Series([1, None], dtype="Int64"), DataTypes.BIGINT()).to_pylist(), [1, None])
        self.assertEqual(self.convert(pd.Series([7], dtype="int8"), DataTypes.INT()).type, pa.int32())
        self.assertEqual(self.convert(pd.Series([True, None], dtype="boolean"), DataTypes.BOOLEAN()).to_pylist(),
                         [True, None])
        self.assertEqual(self.convert(pd.Series(["a", None]), DataTypes.STRING()).to_pylist(), ["a", None])
        self.assertEqual(self.convert(pd.Series([b"a", None]), DataTypes.BYTES()).to_pylist(), [b"a", None])
        self.assertEqual(self.convert(pd.Series([1.5], dtype="float32"), DataTypes.FLOAT()).to_pylist(), [1.5])
        self.assertEqual(self.convert(pd.Series([], dtype="float64"), DataTypes.DOUBLE()).to_pylist(), [])

    def test_nan_is_null(self):
        # pandas marks missing values with NaN; pandas 3 turns NaN into NA even in Float64.
        result = self.convert(pd.Series([np.nan, 1.0], dtype="Float64"), DataTypes.DOUBLE())
        self.assertEqual(result.to_pylist(), [None, 1.0])

    def test_not_a_series(self):
        error = self.refused(np.array([1, 2]), DataTypes.BIGINT(), rows=2)
        self.assertEqual(error.row_index, -1)
        self.assertIn("returned numpy.ndarray array([1, 2])", str(error))
        self.assertIn("must return a pandas.Series", str(error))
        self.assertIn("returned int 3", str(self.refused(3, DataTypes.BIGINT(), rows=1)))

    def test_wrong_length_names_both_lengths(self):
        error = self.refused(pd.Series([1, 2]), DataTypes.BIGINT(), rows=3)
        self.assertEqual(str(error), "returned a Series of 2 value(s) for a batch of 3 row(s); "
                                     "a vectorized function returns one value per row")

    def test_floats_are_not_rounded_into_integers(self):
        error = self.refused(pd.Series([1.0, 2.0]), DataTypes.BIGINT())
        self.assertIn("returned a Series of dtype float64, which is not a BIGINT", str(error))
        self.assertIn(".astype('Int64')", str(error))
        self.assertIn("dtype bool, which is not a BIGINT", str(self.refused(pd.Series([True]), DataTypes.BIGINT())))
        self.assertIn("dtype str, which is not a DOUBLE", str(self.refused(pd.Series(["1.5"]), DataTypes.DOUBLE())))
        self.assertIn("dtype int64, which is not a STRING", str(self.refused(pd.Series([1]), DataTypes.STRING())))
        self.assertIn("dtype int64, which is not a BOOLEAN", str(self.refused(pd.Series([1]), DataTypes.BOOLEAN())))

    def test_out_of_range_names_the_row(self):
        error = self.refused(pd.Series([1, 2 ** 40]), DataTypes.INT())
        self.assertEqual(error.row_index, 1)
        self.assertIn("returned 1099511627776 for row 1, which is out of range for INT", str(error))
        error = self.refused(pd.Series([0, 2 ** 63], dtype="uint64"), DataTypes.BIGINT())
        self.assertEqual(error.row_index, 1)
        error = self.refused(pd.Series([1, -200, None], dtype="Int64"), DataTypes.TINYINT())
        self.assertEqual(error.row_index, 1)
        error = self.refused(pd.Series([1.0, 1e300]), DataTypes.FLOAT())
        self.assertEqual(error.row_index, 1)
        self.assertIn("out of range for FLOAT", str(error))
        self.assertIn("not in range", str(self.refused(pd.Series([2 ** 53 + 1]), DataTypes.DOUBLE())))

    def test_nulls_for_a_not_null_type_name_the_row(self):
        error = self.refused(pd.Series([1.0, np.nan]), DataTypes.DOUBLE(nullable=False))
        self.assertEqual(error.row_index, 1)
        self.assertIn("missing value (NaN, None or NA) for row 1, but the result type is DOUBLE NOT NULL", str(error))

    def test_other_types_are_checked_value_by_value(self):
        dates = self.convert(pd.Series([datetime.date(2020, 1, 2), None]), DataTypes.DATE())
        self.assertEqual(dates.to_pylist(), [datetime.date(2020, 1, 2), None])
        stamps = self.convert(pd.Series(pd.to_datetime(["2020-01-01 10:00:00", None])), DataTypes.TIMESTAMP(3))
        self.assertEqual(stamps.to_pylist(), [datetime.datetime(2020, 1, 1, 10), None])
        error = self.refused(pd.Series([1.5]), DataTypes.DECIMAL(10, 2))
        self.assertEqual(error.row_index, 0)

    def test_object_series_are_checked_value_by_value(self):
        self.assertEqual(self.convert(pd.Series([1, None], dtype=object), DataTypes.BIGINT()).to_pylist(), [1, None])
        self.assertEqual(self.convert(pd.Series(["a", np.nan], dtype=object), DataTypes.STRING()).to_pylist(),
                         ["a", None])
        error = self.refused(pd.Series([1, 2.5], dtype=object), DataTypes.BIGINT())
        self.assertEqual(error.row_index, 1)
        self.assertIn("returned 2.5 (float) for row 1, which is not a BIGINT", str(error))


class VectorizedRuntimeTest(unittest.TestCase):
    def setUp(self):
        self.mod, _ = temp_modules(self).write(VECTORIZED_MODULE)
        self.runtime = FunctionRuntime(LogHub())

    def load(self, *specs, job_parameters=None):
        reply = self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=list(specs),
                                                                  job_parameters=job_parameters or {}))
        self.assertFalse(reply.HasField("error"), reply.error)
        return reply

    def call(self, name, data, num_rows=0):
        return self.runtime.call(worker_pb2.CallRequest(call_id=1, function_name=name, arguments=data,
                                                        num_rows=num_rows))

    def test_a_batch_is_one_call(self):
        reply = self.load(spec("add", f"{self.mod}.add", ["DOUBLE", "DOUBLE"]))
        self.assertEqual(reply.functions[0].kind, "pandas")
        reply = self.call("add", arguments([1.0, None, 3.0], [0.5, 2.0, None]))
        self.assertFalse(reply.HasField("error"), reply.error)
        self.assertEqual(decode_result(reply.result).to_pylist(), [1.5, None, None])
        self.assertEqual((reply.stats.rows_in, reply.stats.rows_out, reply.stats.rows_failed), (3, 3, 0))
        self.assertGreater(reply.stats.function_nanos, 0)

    def test_empty_batch(self):
        self.load(spec("add", f"{self.mod}.add", ["DOUBLE", "DOUBLE"]))
        reply = self.call("add", arguments([], [], types=[pa.float64(), pa.float64()]))
        self.assertFalse(reply.HasField("error"), reply.error)
        self.assertEqual(decode_result(reply.result).to_pylist(), [])

    def test_declared_in_typescript(self):
        reply = self.load(spec("plus", "lambda a, b: a + b", ["BIGINT", "BIGINT"], "BIGINT", func_type="pandas"))
        self.assertEqual(reply.functions[0].kind, "pandas")
        reply = self.call("plus", arguments([1, 2], [10, None]))
        self.assertEqual(decode_result(reply.result).to_pylist(), [11, None])

    def test_scalar_function_subclass_with_open(self):
        self.load(spec("scale", f"{self.mod}.scale"), job_parameters={"factor": "4"})
        reply = self.call("scale", arguments([1.0, 2.5]))
        self.assertEqual(decode_result(reply.result).to_pylist(), [4.0, 10.0])
        self.call("scale", arguments([1.0]))
        _, metrics = self.runtime.close_all()
        self.assertEqual([(r.identifier, r.kind, r.count) for r in metrics[0].readings], [("batches", "counter", 2)])

    def test_a_raising_function_fails_its_batch(self):
        self.load(spec("fails", f"{self.mod}.fails", ["BIGINT"]))
        error = self.call("fails", arguments([1, 2])).error
        self.assertEqual((error.phase, error.exception_type, error.message, error.row_index),
                         ("eval", "ValueError", "no batch for you", -1))
        self.assertIn('raise ValueError("no batch for you")', error.traceback)

    def test_with_an_error_policy_every_row_of_the_batch_failed(self):
        self.load(spec("fails", f"{self.mod}.fails", ["BIGINT"], continue_on_error=True))
        reply = self.call("fails", arguments([1, 2, 3]))
        self.assertFalse(reply.HasField("error"))
        self.assertEqual(decode_result(reply.result).to_pylist(), [None, None, None])
        self.assertEqual([(e.row_index, e.message) for e in reply.row_errors], [(-1, "no batch for you")])
        self.assertEqual((reply.stats.rows_in, reply.stats.rows_out, reply.stats.rows_failed), (3, 0, 3))

    def test_result_errors(self):
        self.load(spec("wrong_length", f"{self.mod}.wrong_length", ["BIGINT"]),
                  spec("halves", f"{self.mod}.halves", ["BIGINT"]),
                  spec("first_only", f"{self.mod}.first_only", ["BIGINT"]))
        error = self.call("wrong_length", arguments([1, 2, 3])).error
        self.assertEqual((error.phase, error.exception_type), ("result", "ResultTypeError"))
        self.assertIn("a Series of 2 value(s) for a batch of 3 row(s)", error.message)
        self.assertIn("dtype float64, which is not a BIGINT", self.call("halves", arguments([1, 2])).error.message)
        self.assertIn("must return a pandas.Series", self.call("first_only", arguments([1, 2])).error.message)

    def test_changing_an_argument_in_place_says_why_it_fails(self):
        self.load(spec("clips", f"{self.mod}.clips_in_place", ["BIGINT"]))
        error = self.call("clips", arguments([1, -2])).error
        self.assertEqual(error.exception_type, "ValueError")
        self.assertIn("read-only views of the batch: change a copy, s = s.copy()", error.message)

    def test_python_and_typescript_func_types_must_agree(self):
        reply = self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=[
            spec("add", f"{self.mod}.add", None, "", func_type="general"),
        ]))
        self.assertEqual(reply.error.exception_type, "SignatureMismatch")
        self.assertIn("TypeScript declares funcType 'general', Python declares func_type 'pandas'",
                      reply.error.message)
