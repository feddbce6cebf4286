"""Table functions: ``udtf`` and ``TableFunction``, loaded and run by the worker's runtime."""
from __future__ import annotations

import sys
import unittest

import pyarrow as pa

from pyudf import DataTypes, TableFunction, UserDefinedTableFunctionWrapper, udtf
from pyudf._proto import worker_pb2
from pyudf.worker.logs import LogHub
from pyudf.worker.runtime import FunctionRuntime
from tests.support import arguments, no_arguments, temp_modules

MODULE = """\
from pyudf import udtf, udf, TableFunction, DataTypes


@udtf(result_types=[DataTypes.STRING(), DataTypes.INT()])
def split(line):
    for word in line.split():
        yield word, len(word)


@udtf(result_types=DataTypes.BIGINT())
def count_to(n):
    return range(n)


@udtf(result_types=[DataTypes.BIGINT()])
def nothing(x):
    return None


class Repeat(TableFunction):
    opened = 0
    closed = 0

    def open(self, function_context):
        type(self).opened += 1
        self.times = int(function_context.get_job_parameter("times", "2"))

    def eval(self, s):
        for _ in range(self.times):
            yield s

    def close(self):
        type(self).closed += 1


repeat = udtf(Repeat(), [DataTypes.STRING()], [DataTypes.STRING()])


@udtf(result_types=[DataTypes.BIGINT()])
def half_then_fail(n):
    yield n
    if n == 2:
        raise ValueError(f"cannot go on after {n}")
    yield n * 10


@udtf(result_types=[DataTypes.STRING(), DataTypes.INT()])
def three_values(s):
    yield s, 1, 2


@udtf(result_types=[DataTypes.STRING(), DataTypes.INT()])
def wrong_type(s):
    yield s, len(s)
    yield s, "long"


scalar = udf(lambda x: x, [DataTypes.BIGINT()], DataTypes.BIGINT())
"""


def spec(name, callable_, input_types=None, result_types=(), category=""):
    return worker_pb2.FunctionSpec(
        name=name, callable=callable_, input_types=input_types or [], has_input_types=input_types is not None,
        category=category, result_types=list(result_types),
    )


def rows_of(reply):
    assert not reply.HasField("error"), reply.error
    table = pa.ipc.open_stream(reply.result).read_all()
    return table.to_pydict()


class UdtfDeclarationTest(unittest.TestCase):
    def test_decorator_keeps_types_and_calls_the_generator(self):
        @udtf(input_types=[DataTypes.STRING()], result_types=[DataTypes.STRING(), DataTypes.INT()])
        def split(line):
            for word in line.split():
                yield word, len(word)

        self.assertIsInstance(split, UserDefinedTableFunctionWrapper)
        self.assertEqual(split.input_types, [DataTypes.STRING()])
        self.assertEqual(split.result_types, [DataTypes.STRING(), DataTypes.INT()])
        self.assertEqual(list(split("a bb")), [("a", 1), ("bb", 2)])

    def test_single_type_and_strings(self):
        self.assertEqual(udtf(lambda n: range(n), result_types="BIGINT").result_types, [DataTypes.BIGINT()])
        self.assertEqual(udtf(lambda n: range(n), result_types=["BIGINT", "STRING"]).result_types,
                         [DataTypes.BIGINT(), DataTypes.STRING()])

    def test_table_function_instance(self):
        class Emit(TableFunction):
            def eval(self, n):
                return range(n)

        wrapped = udtf(Emit(), DataTypes.BIGINT(), DataTypes.BIGINT())
        self.assertEqual(list(wrapped(3)), [0, 1, 2])

    def test_refuses_what_is_not_a_function(self):
        with self.assertRaises(TypeError):
            udtf(42, result_types=DataTypes.INT())
        with self.assertRaises(TypeError):
            udtf(TableFunction, result_types=DataTypes.INT())  # the class, not an instance
        with self.assertRaises(ValueError):
            udtf(lambda x: x, result_types=[])


class TableFunctionRuntimeTest(unittest.TestCase):
    def setUp(self):
        self.modules = temp_modules(self)
        self.mod, self.path = self.modules.write(MODULE)
        self.runtime = FunctionRuntime(LogHub())

    def load(self, *specs, job_parameters=None):
        reply = self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=list(specs), job_parameters=job_parameters or {}))
        return reply

    def call(self, name, data, num_rows=0):
        return self.runtime.call(worker_pb2.CallRequest(call_id=3, function_name=name, arguments=data, num_rows=num_rows))

    def test_load_reports_a_table_function_and_its_columns(self):
        reply = self.load(spec("split", f"{self.mod}.split"))
        self.assertFalse(reply.HasField("error"), reply.error)
        loaded = reply.functions[0]
        self.assertEqual((loaded.category, list(loaded.result_types), loaded.result_type, loaded.has_input_types),
                         ("table", ["STRING", "INT"], "", False))
        self.assertTrue(loaded.source_location.startswith(self.path + ":"))

    def test_rows_per_input_row_in_order_with_their_row(self):
        self.load(spec("split", f"{self.mod}.split"))
        rows = rows_of(self.call("split", arguments(["a bb", "", "ccc d"]), 3))
        self.assertEqual(rows, {"row": [0, 0, 2, 2], "f0": ["a", "bb", "ccc", "d"], "f1": [1, 2, 3, 1]})

    def test_returned_list_range_and_none_follow_pyflink(self):
        self.load(spec("count_to", f"{self.mod}.count_to"), spec("nothing", f"{self.mod}.nothing"),
                  spec("listed", "lambda x: [x, (x + 1,)]", ["BIGINT"], ["BIGINT"], "table"),
                  spec("one", "lambda x: (x, str(x))", ["BIGINT"], ["BIGINT", "STRING"], "table"))
        self.assertEqual(rows_of(self.call("count_to", arguments([2, 0, 1]), 3)), {"row": [0, 0, 2], "f0": [0, 1, 0]})
        self.assertEqual(rows_of(self.call("nothing", arguments([1, 2]), 2)), {"row": [], "f0": []})
        self.assertEqual(rows_of(self.call("listed", arguments([5]), 1)), {"row": [0, 0], "f0": [5, 6]})
        # A returned tuple is one row.
        self.assertEqual(rows_of(self.call("one", arguments([7]), 1)), {"row": [0], "f0": [7], "f1": ["7"]})

    def test_host_declared_lambda_is_a_table_function(self):
        reply = self.load(spec("chars", "lambda s: iter(s)", ["STRING"], ["STRING"], "table"))
        self.assertEqual(reply.functions[0].category, "table")
        self.assertEqual(rows_of(self.call("chars", arguments(["ab", "c"]), 2)),
                         {"row": [0, 0, 1], "f0": ["a", "b", "c"]})

    def test_no_argument_table_function(self):
        self.load(spec("pair", "lambda: [1, 2]", [], ["INT"], "table"))
        self.assertEqual(rows_of(self.call("pair", no_arguments(2), 2)), {"row": [0, 0, 1, 1], "f0": [1, 2, 1, 2]})

    def test_open_and_close_run_once_with_the_job_parameters(self):
        self.load(spec("repeat", f"{self.mod}.repeat"), job_parameters={"times": "3"})
        cls = sys.modules[self.mod].Repeat
        self.assertEqual((cls.opened, cls.closed), (1, 0))
        self.assertEqual(rows_of(self.call("repeat", arguments(["x"]), 1))["f0"], ["x", "x", "x"])
        self.assertEqual(self.runtime.close_all()[0], [])
        self.assertEqual((cls.opened, cls.closed), (1, 1))

    def test_a_raising_row_fails_with_its_row_and_its_partial_rows_are_dropped(self):
        self.load(spec("half_then_fail", f"{self.mod}.half_then_fail"))
        reply = self.call("half_then_fail", arguments([1, 2, 3]), 3)
        self.assertEqual((reply.error.phase, reply.error.row_index, reply.error.exception_type, reply.error.message),
                         ("eval", 1, "ValueError", "cannot go on after 2"))
        self.assertTrue(reply.error.source_location.startswith(self.path + ":"))

        self.runtime.close_all()
        go_on = spec("half_then_fail", f"{self.mod}.half_then_fail")
        go_on.continue_on_error = True
        self.load(go_on)
        reply = self.call("half_then_fail", arguments([1, 2, 3]), 3)
        self.assertEqual(rows_of(reply), {"row": [0, 0, 2, 2], "f0": [1, 10, 3, 30]})
        self.assertEqual([e.row_index for e in reply.row_errors], [1])

    def test_a_row_of_the_wrong_arity_is_a_result_error_naming_the_row(self):
        self.load(spec("three_values", f"{self.mod}.three_values"))
        error = self.call("three_values", arguments(["a", "b"]), 2).error
        self.assertEqual((error.phase, error.exception_type, error.row_index), ("result", "ResultTypeError", 0))
        self.assertIn("3 values, but it has 2 result column(s) (STRING, INT) for row 0", error.message)

    def test_a_value_of_the_wrong_type_is_a_result_error_naming_the_row(self):
        self.load(spec("wrong_type", f"{self.mod}.wrong_type"))
        error = self.call("wrong_type", arguments(["ok", "xy"]), 2).error
        self.assertEqual((error.phase, error.row_index), ("result", 0))
        self.assertIn("for row 0: result column 2 (INT) cannot hold 'long' (str)", error.message)

    def test_declarations_must_agree(self):
        reply = self.load(spec("split", f"{self.mod}.split", None, ["STRING"], "table"))
        self.assertEqual(reply.error.exception_type, "SignatureMismatch")
        self.assertIn("result types differ", reply.error.message)
        reply = self.load(spec("scalar", f"{self.mod}.scalar", None, [], "table"))
        self.assertEqual(reply.error.exception_type, "SignatureMismatch")
        self.assertIn("TypeScript declares a table function, Python a scalar function", reply.error.message)
        reply = self.load(spec("untyped", "lambda s: [s]", ["STRING"], [], "table"))
        self.assertIn("has no result types", reply.error.message)


if __name__ == "__main__":
    unittest.main()
