"""Table aggregate functions: ``udtaf`` and ``TableAggregateFunction``, run as aggregates of emitted rows."""
from __future__ import annotations

import unittest

import pyarrow as pa

from pyudf import DataTypes, Row, TableAggregateFunction, UserDefinedTableAggregateFunctionWrapper, udtaf
from pyudf._proto import worker_pb2
from pyudf.worker.logs import LogHub
from pyudf.worker.runtime import FunctionRuntime
from tests.support import arguments, decode_result, temp_modules

MODULE = """\
from pyudf import udtaf, TableAggregateFunction, DataTypes, Row


class Top2(TableAggregateFunction):
    def create_accumulator(self):
        return [None, None]

    def accumulate(self, acc, v):
        if v is None:
            return
        if acc[0] is None or v > acc[0]:
            acc[1], acc[0] = acc[0], v
        elif acc[1] is None or v > acc[1]:
            acc[1] = v

    def emit_value(self, acc):
        for v in acc:
            if v is not None:
                yield Row(v)

    def merge(self, acc, accs):
        for other in accs:
            for v in other:
                self.accumulate(acc, v)

    def get_result_type(self):
        return DataTypes.ROW([DataTypes.FIELD("v", DataTypes.BIGINT())])


top2 = udtaf(Top2())


class NoType(TableAggregateFunction):
    def create_accumulator(self):
        return []

    def accumulate(self, acc, v):
        acc.append(v)

    def emit_value(self, acc):
        raise ValueError("cannot emit")


no_type = NoType()
failing = udtaf(NoType(), result_type=DataTypes.ROW([DataTypes.FIELD("v", DataTypes.BIGINT())]))
"""


def spec(name, callable_, result_type="", category=""):
    return worker_pb2.FunctionSpec(name=name, callable=callable_, result_type=result_type, category=category)


class UdtafDeclarationTest(unittest.TestCase):
    def test_types_from_the_arguments_or_the_methods(self):
        class Emit(TableAggregateFunction):
            def get_result_type(self):
                return "ROW<a BIGINT>"

        wrapped = udtaf(Emit())
        self.assertIsInstance(wrapped, UserDefinedTableAggregateFunctionWrapper)
        self.assertEqual(str(wrapped.result_type), "ROW<a BIGINT>")
        self.assertEqual(str(udtaf(Emit(), result_type="ROW<b INT>").result_type), "ROW<b INT>")

    def test_refuses_what_is_no_table_aggregate(self):
        with self.assertRaises(TypeError):
            udtaf(lambda v: v)
        with self.assertRaises(TypeError):  # its rows are a ROW's
            udtaf(TableAggregateFunction(), result_type=DataTypes.BIGINT())
        with self.assertRaises(ValueError):
            udtaf(TableAggregateFunction(), func_type="pandas")


class TableAggregateRuntimeTest(unittest.TestCase):
    def setUp(self):
        self.modules = temp_modules(self)
        self.mod, _ = self.modules.write(MODULE)
        self.runtime = FunctionRuntime(LogHub())

    def step(self, name, step, groups, data=b""):
        return self.runtime.call(worker_pb2.CallRequest(
            call_id=1, function_name=name, arguments=data, num_rows=len(groups),
            aggregate=worker_pb2.AggregateStep(use=0, step=step, groups=groups),
        ))

    def test_reports_a_table_aggregate_of_rows_and_emits_them_per_group(self):
        reply = self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=[spec("top2", f"{self.mod}.top2")]))
        self.assertFalse(reply.HasField("error"), reply.error)
        loaded = reply.functions[0]
        # Its value per group: the rows emit_value() yields, which the host unnests.
        self.assertEqual((loaded.category, loaded.result_type, loaded.has_merge),
                         ("table_aggregate", "ARRAY<ROW<v BIGINT>> NOT NULL", True))
        data = arguments([1, 7, 3, 5, 2], types=[pa.int64()])
        self.assertFalse(self.step("top2", "accumulate", [0, 0, 1, 1, 0], data).HasField("error"))
        values = self.step("top2", "get_value", [0, 1, 2])
        self.assertFalse(values.HasField("error"), values.error)
        self.assertEqual(decode_result(values.result).to_pylist(), [[{"v": 7}, {"v": 2}], [{"v": 5}, {"v": 3}], []])

    def test_accumulators_of_two_workers_merge_before_emitting(self):
        load = worker_pb2.LoadFunctionsRequest(functions=[spec("top2", f"{self.mod}.top2")])
        self.runtime.load(load)
        other = FunctionRuntime(LogHub())
        other.load(load)
        self.step("top2", "accumulate", [0, 0], arguments([4, 1], types=[pa.int64()]))
        other.call(worker_pb2.CallRequest(call_id=1, function_name="top2", arguments=arguments([9, 2], types=[pa.int64()]),
                                          num_rows=2, aggregate=worker_pb2.AggregateStep(step="accumulate", groups=[0, 0])))
        exported = other.call(worker_pb2.CallRequest(call_id=2, function_name="top2",
                                                     aggregate=worker_pb2.AggregateStep(step="export", groups=[0])))
        self.assertFalse(exported.HasField("error"), exported.error)
        merged = self.runtime.call(worker_pb2.CallRequest(call_id=3, function_name="top2", aggregate=worker_pb2.AggregateStep(
            step="merge", groups=[0], accumulators=exported.accumulators)))
        self.assertFalse(merged.HasField("error"), merged.error)
        self.assertEqual(decode_result(self.step("top2", "get_value", [0]).result).to_pylist(), [[{"v": 9}, {"v": 4}]])

    def test_a_result_type_declared_nowhere_or_not_a_row_fails_the_load(self):
        reply = self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=[spec("no_type", f"{self.mod}.no_type")]))
        self.assertIn("has no result type", reply.error.message)
        reply = self.runtime.load(worker_pb2.LoadFunctionsRequest(
            functions=[spec("no_type", f"{self.mod}.no_type", result_type="BIGINT", category="table_aggregate")]))
        self.assertIn("a ROW of its columns", reply.error.message)

    def test_emit_value_that_raises_names_the_function(self):
        self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=[spec("failing", f"{self.mod}.failing")]))
        self.step("failing", "accumulate", [0], arguments([1], types=[pa.int64()]))
        reply = self.step("failing", "get_value", [0])
        self.assertTrue(reply.HasField("error"))
        self.assertIn("cannot emit", reply.error.message)
        self.assertEqual(reply.error.exception_type, "ValueError")


if __name__ == "__main__":
    unittest.main()
