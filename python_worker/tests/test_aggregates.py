"""Aggregate functions: ``udaf`` and ``AggregateFunction``, and the accumulators a worker keeps."""
from __future__ import annotations

import sys
import unittest

import pyarrow as pa

from pyudf import AggregateFunction, DataTypes, UserDefinedAggregateFunctionWrapper, udaf
from pyudf._proto import worker_pb2
from pyudf.worker.logs import LogHub
from pyudf.worker.runtime import FunctionRuntime
from tests.support import arguments, decode_result, temp_modules

MODULE = """\
from pyudf import udaf, AggregateFunction, DataTypes


class MyAvg(AggregateFunction):
    merges = 0

    def create_accumulator(self):
        return [0.0, 0]

    def accumulate(self, acc, v):
        if v is not None:
            acc[0] += v
            acc[1] += 1

    def get_value(self, acc):
        return acc[0] / acc[1] if acc[1] else None

    def merge(self, acc, accs):
        type(self).merges += 1
        for other in accs:
            acc[0] += other[0]
            acc[1] += other[1]

    def get_result_type(self):
        return DataTypes.DOUBLE()

    def get_accumulator_type(self):
        return "ARRAY<DOUBLE>"


my_avg = udaf(MyAvg())


class Count(AggregateFunction):
    def create_accumulator(self):
        return [0]

    def accumulate(self, acc):
        acc[0] += 1

    def get_value(self, acc):
        return acc[0]


count = udaf(Count(), result_type=DataTypes.BIGINT(), accumulator_type="ARRAY<BIGINT>")


class Picky(AggregateFunction):
    def create_accumulator(self):
        return []

    def accumulate(self, acc, v):
        if v < 0:
            raise ValueError(f"negative value {v}")
        acc.append(v)

    def get_value(self, acc):
        if len(acc) > 2:
            raise OverflowError("too many values")
        return sum(acc)


picky = udaf(Picky(), [DataTypes.BIGINT()], DataTypes.BIGINT())
wrong = udaf(Picky(), [DataTypes.BIGINT()], DataTypes.STRING())


@udaf(result_type=DataTypes.DOUBLE(), func_type="pandas")
def mean(v):
    return v.mean()


@udaf(result_type=DataTypes.BIGINT(), func_type="pandas")
def spread(a, b):
    return int(a.max() - b.min())
"""


def spec(name, callable_, input_types=None, result_type="", category=""):
    return worker_pb2.FunctionSpec(
        name=name, callable=callable_, input_types=input_types or [], has_input_types=input_types is not None,
        result_type=result_type, category=category,
    )


class UdafDeclarationTest(unittest.TestCase):
    def test_types_from_the_arguments_or_the_methods(self):
        class Sum(AggregateFunction):
            def create_accumulator(self):
                return [0]

            def accumulate(self, acc, v):
                acc[0] += v

            def get_value(self, acc):
                return acc[0]

            def get_result_type(self):
                return "BIGINT"

        self.assertEqual(udaf(Sum()).result_type, DataTypes.BIGINT())
        wrapped = udaf(Sum(), result_type=DataTypes.INT(), accumulator_type="ARRAY<BIGINT>")
        self.assertIsInstance(wrapped, UserDefinedAggregateFunctionWrapper)
        self.assertEqual((wrapped.result_type, wrapped.accumulator_type, wrapped.func_type),
                         (DataTypes.INT(), "ARRAY<BIGINT>", "general"))

    def test_pandas_decorator(self):
        @udaf(result_type=DataTypes.FLOAT(), func_type="pandas")
        def mean_udaf(v):
            return v.mean()

        self.assertEqual((mean_udaf.func_type, mean_udaf.result_type), ("pandas", DataTypes.FLOAT()))

    def test_refuses_what_pyflink_refuses(self):
        with self.assertRaises(ValueError):
            udaf(lambda v: v.sum(), result_type=DataTypes.BIGINT(), func_type="vectorized")
        with self.assertRaises(TypeError):
            udaf(lambda v: v.sum(), result_type=DataTypes.BIGINT())  # general needs an AggregateFunction

    def test_retract_and_merge_raise_unless_defined(self):
        with self.assertRaises(RuntimeError):
            AggregateFunction().retract([], 1)
        with self.assertRaises(RuntimeError):
            AggregateFunction().merge([], [])


class AggregateRuntimeTest(unittest.TestCase):
    def setUp(self):
        self.modules = temp_modules(self)
        self.mod, self.path = self.modules.write(MODULE)
        self.runtime = FunctionRuntime(LogHub())
        self.call_id = 0

    def load(self, *specs):
        reply = self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=list(specs)))
        self.assertFalse(reply.HasField("error"), reply.error)
        return reply

    def step(self, name, step, groups, data=b"", use=0, accumulators=b""):
        self.call_id += 1
        return self.runtime.call(worker_pb2.CallRequest(
            call_id=self.call_id, function_name=name, arguments=data, num_rows=len(groups),
            aggregate=worker_pb2.AggregateStep(use=use, step=step, groups=groups, accumulators=accumulators),
        ))

    def values(self, name, groups, use=0):
        reply = self.step(name, "get_value", groups, use=use)
        self.assertFalse(reply.HasField("error"), reply.error)
        return decode_result(reply.result).to_pylist()

    def test_load_reports_an_aggregate(self):
        reply = self.load(spec("my_avg", f"{self.mod}.my_avg"), spec("mean", f"{self.mod}.mean"))
        first, second = reply.functions
        self.assertEqual((first.category, first.kind, first.result_type, first.has_merge), ("aggregate", "general", "DOUBLE", True))
        self.assertEqual((second.category, second.kind, second.result_type, second.has_merge), ("aggregate", "pandas", "DOUBLE", False))

    def test_groups_accumulate_across_calls_and_get_value_drops_them(self):
        self.load(spec("my_avg", f"{self.mod}.my_avg"))
        data = arguments([1.0, 2.0, None, 4.0], types=[pa.float64()])
        self.assertFalse(self.step("my_avg", "accumulate", [0, 1, 0, 1], data).HasField("error"))
        self.assertFalse(self.step("my_avg", "accumulate", [1, 2], arguments([6.0, None], types=[pa.float64()])).HasField("error"))
        # Group 2 saw only NULL, group 3 nothing: both the value of an empty accumulator.
        self.assertEqual(self.values("my_avg", [1, 0, 2, 3]), [4.0, 1.0, None, None])
        self.assertEqual(self.values("my_avg", [1]), [None])  # dropped by the first get_value

    def test_uses_keep_their_own_accumulators(self):
        self.load(spec("my_avg", f"{self.mod}.my_avg"))
        self.step("my_avg", "accumulate", [0, 0], arguments([1.0, 3.0]), use=0)
        self.step("my_avg", "accumulate", [0], arguments([10.0]), use=1)
        self.assertEqual((self.values("my_avg", [0], use=0), self.values("my_avg", [0], use=1)), ([2.0], [10.0]))

    def test_zero_argument_aggregate(self):
        self.load(spec("count", f"{self.mod}.count"))
        self.step("count", "accumulate", [0, 1, 1])
        self.assertEqual(self.values("count", [0, 1, 2]), [1, 2, 0])

    def test_export_and_merge_combine_two_workers(self):
        self.load(spec("my_avg", f"{self.mod}.my_avg"))
        other = FunctionRuntime(LogHub())
        other.load(worker_pb2.LoadFunctionsRequest(functions=[spec("my_avg", f"{self.mod}.my_avg")]))
        self.step("my_avg", "accumulate", [0], arguments([1.0]))
        other.call(worker_pb2.CallRequest(call_id=1, function_name="my_avg", arguments=arguments([2.0, 6.0]),
                                          aggregate=worker_pb2.AggregateStep(step="accumulate", groups=[0, 0])))
        exported = other.call(worker_pb2.CallRequest(call_id=2, function_name="my_avg",
                                                     aggregate=worker_pb2.AggregateStep(step="export", groups=[0])))
        self.assertFalse(exported.HasField("error"), exported.error)
        merged = self.step("my_avg", "merge", [0], accumulators=exported.accumulators)
        self.assertFalse(merged.HasField("error"), merged.error)
        self.assertEqual(self.values("my_avg", [0]), [3.0])
        self.assertEqual(sys.modules[self.mod].MyAvg.merges, 1)

    def test_accumulate_that_raises_names_the_row_and_phase(self):
        self.load(spec("picky", f"{self.mod}.picky"))
        error = self.step("picky", "accumulate", [0, 0, 1], arguments([1, -5, 2])).error
        self.assertEqual((error.phase, error.row_index, error.exception_type, error.message),
                         ("accumulate", 1, "ValueError", "negative value -5"))
        self.assertTrue(error.source_location.startswith(self.path + ":"))

    def test_accumulate_goes_on_past_failing_rows_under_a_policy(self):
        lenient = spec("picky", f"{self.mod}.picky")
        lenient.continue_on_error = True
        self.load(lenient)
        reply = self.step("picky", "accumulate", [0, 0, 1, 1], arguments([1, -5, 2, -1]))
        self.assertEqual([e.row_index for e in reply.row_errors], [1, 3])
        self.assertEqual(self.values("picky", [0, 1]), [1, 2])

    def test_get_value_that_raises_names_the_group(self):
        self.load(spec("picky", f"{self.mod}.picky"))
        self.step("picky", "accumulate", [0, 1, 1, 1], arguments([1, 2, 3, 4]))
        error = self.step("picky", "get_value", [0, 1]).error
        self.assertEqual((error.phase, error.row_index, error.exception_type), ("get_value", 1, "OverflowError"))

    def test_wrong_result_type(self):
        self.load(spec("wrong", f"{self.mod}.wrong"))
        self.step("wrong", "accumulate", [0], arguments([1]))
        error = self.step("wrong", "get_value", [0]).error
        self.assertEqual((error.phase, error.exception_type, error.row_index), ("result", "ResultTypeError", 0))
        self.assertEqual(error.message, "get_value returned 1 (int), which is not a STRING")

    def test_pandas_function_gets_each_group_whole(self):
        self.load(spec("mean", f"{self.mod}.mean"), spec("spread", f"{self.mod}.spread"))
        self.step("mean", "accumulate", [0, 1, 0], arguments([1.0, 10.0, 2.0]))
        self.step("mean", "accumulate", [1, 2], arguments([20.0, None], types=[pa.float64()]))
        # An all-NULL group's NaN mean is NULL, as in PyFlink.
        self.assertEqual(self.values("mean", [0, 1, 2]), [1.5, 15.0, None])
        self.step("spread", "accumulate", [5, 5, 5], arguments([1, 7, 3], [4, 2, 9]))
        self.assertEqual(self.values("spread", [5]), [5])

    def test_pandas_function_over_no_rows_gets_empty_series(self):
        self.load(spec("mean", f"{self.mod}.mean"))
        self.step("mean", "accumulate", [], arguments([], types=[pa.float64()]))
        self.assertEqual(self.values("mean", [0]), [None])

    def test_pandas_function_that_raises_names_the_group(self):
        self.load(spec("boom", "__import__('pyudf').udaf(lambda v: 1 // 0, result_type='BIGINT', func_type='pandas')"))
        self.step("boom", "accumulate", [3], arguments([1]))
        error = self.step("boom", "get_value", [3]).error
        self.assertEqual((error.phase, error.row_index, error.exception_type), ("get_value", 0, "ZeroDivisionError"))

    def test_host_declared_aggregate_must_be_one(self):
        reply = self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=[
            spec("sum", "lambda v: v.sum()", ["BIGINT"], "BIGINT", "aggregate"),
        ]))
        self.assertEqual(reply.error.exception_type, "TypeError")
        self.assertIn("an aggregate function is an AggregateFunction instance", reply.error.message)
        reply = self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=[
            spec("avg", f"{self.mod}.MyAvg", ["DOUBLE", "DOUBLE"], "", "aggregate"),
        ]))
        self.assertEqual(reply.error.exception_type, "SignatureMismatch")
        self.assertIn("cannot take them", reply.error.message)

    def test_close_forgets_accumulators(self):
        self.load(spec("my_avg", f"{self.mod}.my_avg"))
        self.step("my_avg", "accumulate", [0], arguments([5.0]))
        self.runtime.close_all()
        self.load(spec("my_avg", f"{self.mod}.my_avg"))
        self.assertEqual(self.values("my_avg", [0]), [None])


if __name__ == "__main__":
    unittest.main()
