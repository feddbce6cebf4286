"""pyudf.worker.runtime.FunctionRuntime: loading a job's functions and running batches."""
from __future__ import annotations

import logging
import os
import sys
import unittest

import pyarrow as pa

from pyudf._proto import worker_pb2
from pyudf.worker.logs import LogHub, capture_output
from pyudf.worker.runtime import FunctionRuntime
from tests.support import PYUDF_DIR, arguments, decode_result, no_arguments, temp_modules

UDF_MODULE = """\
import logging
from pyudf import udf, ScalarFunction, DataTypes


class BadInput(Exception):
    pass


def check(x):
    if x == 3:
        raise BadInput(f"row value {x} is not allowed")
    return x * 2


class Scaled(ScalarFunction):
    opened = 0
    closed = 0
    evals = 0

    def open(self, function_context):
        type(self).opened += 1
        self.factor = int(function_context.get_job_parameter("factor", "1"))
        self.unit = function_context.get_job_parameter("unit", "none")

    def eval(self, x):
        type(self).evals += 1
        return f"{x * self.factor} {self.unit}"

    def close(self):
        type(self).closed += 1


scaled = udf(Scaled(), [DataTypes.BIGINT()], DataTypes.STRING())


def noisy(x):
    print("saw", x)
    logging.getLogger("my.udf").warning("careful with %s", x)
    print("no newline", end="")
    return x


class FailsToOpen(ScalarFunction):
    def open(self, function_context):
        raise RuntimeError("cannot connect")

    def eval(self, x):
        return x


class FailsToClose(ScalarFunction):
    def eval(self, x):
        return x

    def close(self):
        raise OSError("flush failed")
"""


def spec(name, callable_, input_types=None, result_type="BIGINT"):
    return worker_pb2.FunctionSpec(
        name=name,
        callable=callable_,
        input_types=input_types or [],
        has_input_types=input_types is not None,
        result_type=result_type,
    )


class RuntimeTest(unittest.TestCase):
    def setUp(self):
        self.modules = temp_modules(self)
        self.mod, self.mod_path = self.modules.write(UDF_MODULE)
        self.hub = LogHub()
        self.runtime = FunctionRuntime(self.hub)

    def module(self):
        return sys.modules[self.mod]

    def load(self, *specs, job_parameters=None, python_paths=(), library_paths=()):
        return self.runtime.load(worker_pb2.LoadFunctionsRequest(
            functions=list(specs), job_parameters=job_parameters or {}, python_paths=list(python_paths),
            library_paths=list(library_paths),
        ))

    def call(self, name, data, num_rows=0, call_id=1):
        return self.runtime.call(worker_pb2.CallRequest(
            call_id=call_id, function_name=name, arguments=data, num_rows=num_rows,
        ))

    def assertResult(self, reply, expected, arrow_type=None):
        self.assertFalse(reply.HasField("error"), reply.error)
        array = decode_result(reply.result)
        self.assertEqual(array.to_pylist(), expected)
        if arrow_type is not None:
            self.assertEqual(array.type, arrow_type)

    def test_load_and_call(self):
        reply = self.load(spec("add", "lambda i, j: i + j", ["BIGINT", "BIGINT"], "BIGINT"))
        self.assertFalse(reply.HasField("error"), reply.error)
        self.assertEqual(len(reply.functions), 1)
        loaded = reply.functions[0]
        self.assertEqual(loaded.name, "add")
        self.assertEqual(list(loaded.input_types), ["BIGINT", "BIGINT"])
        self.assertTrue(loaded.has_input_types)
        self.assertEqual(loaded.result_type, "BIGINT")
        self.assertEqual(loaded.kind, "general")
        self.assertEqual(loaded.source_location, "<udf add>:1")

        reply = self.call("add", arguments([1, 2, None], [10, 20, 30]), 3, call_id=7)
        self.assertEqual(reply.call_id, 7)
        # None + 30 raises: the lambda decides, not the worker.
        self.assertEqual(reply.error.exception_type, "TypeError")
        self.assertEqual(reply.error.row_index, 2)

        reply = self.call("add", arguments([1, 2, 3], [10, 20, 30]), 3, call_id=8)
        self.assertEqual(reply.call_id, 8)
        self.assertResult(reply, [11, 22, 33], pa.int64())

    def test_types_declared_in_python_come_back(self):
        reply = self.load(spec("scaled", f"{self.mod}.scaled", None, ""))
        self.assertFalse(reply.HasField("error"), reply.error)
        loaded = reply.functions[0]
        self.assertEqual((list(loaded.input_types), loaded.has_input_types, loaded.result_type),
                         (["BIGINT"], True, "STRING"))
        self.assertTrue(loaded.source_location.startswith(self.mod_path + ":"))

    def test_undeclared_input_types(self):
        reply = self.load(spec("any", "lambda *xs: len(xs)", None, "INT"))
        self.assertEqual((list(reply.functions[0].input_types), reply.functions[0].has_input_types),
                         ([], False))
        self.assertResult(self.call("any", arguments([1, 2], ["a", "b"], [b"x", b"y"]), 2),
                          [3, 3], pa.int32())

    def test_python_paths_reach_sys_path(self):
        other = temp_modules(self)
        sys.path.remove(other.directory)  # only the request puts it on sys.path
        name, _ = other.write("def neg(x):\n    return -x\n")
        self.addCleanup(lambda: other.directory in sys.path and sys.path.remove(other.directory))
        reply = self.load(spec("neg", f"{name}.neg", ["BIGINT"]), python_paths=[other.directory])
        self.assertFalse(reply.HasField("error"), reply.error)
        self.assertEqual(sys.path[0], other.directory)
        self.assertResult(self.call("neg", arguments([5])), [-5])

    def test_error_at_row_3(self):
        self.load(spec("check", f"{self.mod}.check", ["BIGINT"]))
        reply = self.call("check", arguments([0, 1, 2, 3, 4]), 5, call_id=4)
        self.assertEqual(reply.call_id, 4)
        self.assertEqual(reply.result, b"")
        error = reply.error
        self.assertEqual(error.function_name, "check")
        self.assertEqual(error.phase, "eval")
        self.assertEqual(error.row_index, 3)
        self.assertEqual(error.exception_type, f"{self.mod}.BadInput")
        self.assertEqual(error.message, "row value 3 is not allowed")
        raise_line = UDF_MODULE.splitlines().index('        raise BadInput(f"row value {x} is not allowed")') + 1
        self.assertEqual(error.source_location, f"{self.mod_path}:{raise_line}")
        self.assertTrue(error.traceback.startswith("Traceback (most recent call last):\n"), error.traceback)
        self.assertIn(f'File "{self.mod_path}", line {raise_line}, in check', error.traceback)
        self.assertIn('raise BadInput(f"row value {x} is not allowed")', error.traceback)
        self.assertTrue(error.traceback.endswith(f"{self.mod}.BadInput: row value 3 is not allowed\n"),
                        error.traceback)
        self.assertNotIn(PYUDF_DIR, error.traceback)
        self.assertNotIn("runtime.py", error.traceback)

    def test_error_in_a_lambda_shows_its_source(self):
        self.load(spec("inv", "lambda x: 100 // (x - 3)", ["BIGINT"]))
        error = self.call("inv", arguments([4, 5, 6, 3, 7])).error
        self.assertEqual((error.phase, error.row_index, error.exception_type, error.message),
                         ("eval", 3, "ZeroDivisionError", "integer division or modulo by zero"))
        self.assertIn('File "<udf inv>", line 1, in <lambda>', error.traceback)
        self.assertIn("lambda x: 100 // (x - 3)", error.traceback)
        self.assertNotIn(PYUDF_DIR, error.traceback)
        self.assertEqual(error.source_location, "<udf inv>:1")

    def test_error_inside_the_standard_library_points_at_the_users_line(self):
        self.load(spec("parse", 'lambda s: __import__("json").loads(s)["n"]', ["STRING"], "BIGINT"))
        error = self.call("parse", arguments(['{"n": 1}', "not json"])).error
        self.assertEqual((error.row_index, error.exception_type), (1, "json.decoder.JSONDecodeError"))
        self.assertIn("json", error.traceback)  # the library's frames stay in the traceback
        self.assertEqual(error.source_location, "<udf parse>:1")

    def test_error_inside_an_installed_requirement_points_at_the_users_line(self):
        installed = temp_modules(self)
        sys.path.remove(installed.directory)  # only the request puts it on sys.path, as a library
        self.addCleanup(lambda: installed.directory in sys.path and sys.path.remove(installed.directory))
        lib, lib_path = installed.write("def strict_parse(s):\n    return int(s)\n")
        self.load(spec("parse_it", f'lambda s: __import__("{lib}").strict_parse(s)', ["STRING"]),
                  library_paths=[installed.directory])
        error = self.call("parse_it", arguments(["1", "x"])).error
        self.assertEqual((error.row_index, error.exception_type), (1, "ValueError"))
        self.assertIn(lib_path, error.traceback)  # the library's frame stays in the traceback
        self.assertEqual(error.source_location, "<udf parse_it>:1")

    def test_continue_on_error_returns_nulls_and_every_failing_row(self):
        fn = spec("inv", "lambda x: 12 // x", ["BIGINT"], "BIGINT NOT NULL")
        fn.continue_on_error = True
        self.load(fn)
        reply = self.call("inv", arguments([3, 0, 4, 0, 6]))
        self.assertFalse(reply.HasField("error"), reply.error)
        self.assertEqual(decode_result(reply.result).to_pylist(), [4, None, 3, None, 2])
        self.assertEqual([(e.row_index, e.exception_type, e.phase) for e in reply.row_errors],
                         [(1, "ZeroDivisionError", "eval"), (3, "ZeroDivisionError", "eval")])
        self.assertIn("<udf inv>", reply.row_errors[0].traceback)

    def test_continue_on_error_tracebacks_are_each_rows_own(self):
        fn = spec("inv", "lambda x: 12 // x", ["BIGINT"], "BIGINT")
        fn.continue_on_error = True
        self.load(fn)
        reply = self.call("inv", arguments([0, 1, 0]))
        later = reply.row_errors[1].traceback
        self.assertEqual(later.count("Traceback (most recent call last)"), 1, later)
        self.assertNotIn("During handling of the above exception", later)
        self.assertNotIn("pyudf/worker", later)

    def test_without_continue_on_error_the_first_failure_ends_the_batch(self):
        self.load(spec("inv", "lambda x: 12 // x", ["BIGINT"]))
        reply = self.call("inv", arguments([3, 0, 4, 0, 6]))
        self.assertEqual((reply.error.row_index, len(reply.row_errors), reply.result), (1, 0, b""))

    def test_error_at_first_row(self):
        self.load(spec("boom", "lambda x: {}[x]", ["BIGINT"]))
        error = self.call("boom", arguments([9, 8])).error
        self.assertEqual((error.row_index, error.exception_type, error.message), (0, "KeyError", "9"))

    def test_bad_result_is_reported_with_its_row(self):
        self.load(spec("half", "lambda x: x / 2", ["BIGINT"], "BIGINT"))
        reply = self.call("half", arguments([2, 4, 5]))
        self.assertEqual(reply.result, b"")
        error = reply.error
        self.assertEqual((error.function_name, error.phase, error.exception_type, error.row_index),
                         ("half", "result", "ResultTypeError", 0))
        self.assertEqual(error.message, "returned 1.0 (float) for row 0, which is not a BIGINT")
        self.assertEqual(error.source_location, "<udf half>:1")
        self.assertEqual(error.traceback, "")

    def test_none_result_for_not_null(self):
        self.load(spec("maybe", "lambda x: x if x > 0 else None", ["BIGINT"], "BIGINT NOT NULL"))
        error = self.call("maybe", arguments([1, 0, -1])).error
        self.assertEqual((error.phase, error.row_index), ("result", 1))
        self.assertResult(self.call("maybe", arguments([1, 2])), [1, 2])

    def test_open_and_close_are_called_once_each(self):
        reply = self.load(spec("scaled", f"{self.mod}.scaled", None, ""),
                          job_parameters={"factor": "3", "unit": "kg"})
        self.assertFalse(reply.HasField("error"), reply.error)
        scaled = self.module().Scaled
        self.assertEqual((scaled.opened, scaled.closed), (1, 0))
        self.assertResult(self.call("scaled", arguments([1, 2])), ["3 kg", "6 kg"], pa.string())
        self.assertResult(self.call("scaled", arguments([10])), ["30 kg"])
        self.assertEqual((scaled.opened, scaled.evals, scaled.closed), (1, 3, 0))
        self.assertEqual(self.runtime.close_all()[0], [])
        self.assertEqual((scaled.opened, scaled.closed), (1, 1))
        # Closed functions are gone: closing again does nothing, calling is an error.
        self.assertEqual(self.runtime.close_all(), ([], []))
        self.assertEqual(scaled.closed, 1)
        self.assertEqual(self.call("scaled", arguments([1])).error.exception_type, "LookupError")

    def test_job_parameters_reach_function_context(self):
        self.load(spec("scaled", f"{self.mod}.scaled", None, ""), job_parameters={"factor": "5"})
        self.assertResult(self.call("scaled", arguments([2])), ["10 none"])

    def test_open_failure(self):
        reply = self.load(
            spec("scaled", f"{self.mod}.scaled", None, ""),
            spec("fails", f"{self.mod}.FailsToOpen", ["BIGINT"]),
        )
        self.assertEqual(list(reply.functions), [])
        error = reply.error
        self.assertEqual((error.function_name, error.phase, error.exception_type, error.message),
                         ("fails", "open", "RuntimeError", "cannot connect"))
        self.assertIn("in open", error.traceback)
        self.assertNotIn(PYUDF_DIR, error.traceback)
        # What opened before is closed again, and nothing stays loaded.
        self.assertEqual((self.module().Scaled.opened, self.module().Scaled.closed), (1, 1))
        self.assertEqual(self.call("scaled", arguments([1])).error.exception_type, "LookupError")

    def test_close_failure_is_reported(self):
        self.load(spec("fc", f"{self.mod}.FailsToClose", ["BIGINT"]))
        errors, _ = self.runtime.close_all()
        self.assertEqual(len(errors), 1)
        self.assertEqual((errors[0].function_name, errors[0].phase, errors[0].exception_type,
                          errors[0].message, errors[0].row_index),
                         ("fc", "close", "OSError", "flush failed", -1))

    def test_load_failure_loads_nothing(self):
        reply = self.load(
            spec("ok", "lambda x: x", ["BIGINT"]),
            spec("mismatch", f"{self.mod}.scaled", ["INT"], "STRING"),
        )
        self.assertEqual(list(reply.functions), [])
        error = reply.error
        self.assertEqual((error.function_name, error.phase, error.exception_type, error.row_index),
                         ("mismatch", "load", "SignatureMismatch", -1))
        self.assertEqual(
            error.message,
            "function 'mismatch': input types differ: TypeScript declares [INT], Python declares [BIGINT]",
        )
        self.assertTrue(error.source_location.startswith(self.mod_path + ":"))
        self.assertEqual(self.call("ok", arguments([1])).error.exception_type, "LookupError")

    def test_load_syntax_error(self):
        error = self.load(spec("bad", "lambda x: x +", ["BIGINT"])).error
        self.assertEqual((error.function_name, error.phase, error.exception_type),
                         ("bad", "load", "SyntaxError"))
        self.assertEqual(error.source_location, "<udf bad>:1")

    def test_load_missing_dependency(self):
        broken, _ = self.modules.write("import pyudf_no_such_dependency_xyz\n")
        error = self.load(spec("f", f"{broken}.f", ["BIGINT"])).error
        self.assertEqual((error.phase, error.exception_type), ("load", "ModuleNotFoundError"))
        self.assertEqual(error.message, "No module named 'pyudf_no_such_dependency_xyz'")

    def test_zero_argument_udf_yields_one_result_per_row(self):
        self.load(spec("seven", "lambda: 7", [], "INT"))
        self.assertResult(self.call("seven", no_arguments(4), 4), [7, 7, 7, 7], pa.int32())
        self.assertResult(self.call("seven", no_arguments(0), 0), [])

    def test_zero_argument_udf_error_row(self):
        self.load(spec("count", "lambda c=iter(range(10)): 1 // (5 - next(c))", [], "BIGINT"))
        error = self.call("count", no_arguments(8), 8).error
        self.assertEqual((error.phase, error.row_index, error.exception_type), ("eval", 5, "ZeroDivisionError"))

    def test_unknown_function(self):
        self.load(spec("b", "lambda: 1", []), spec("a", "lambda: 2", []))
        reply = self.call("nope", arguments([1]), 1, call_id=9)
        self.assertEqual(reply.call_id, 9)
        self.assertEqual(reply.result, b"")
        self.assertEqual((reply.error.function_name, reply.error.phase, reply.error.exception_type),
                         ("nope", "eval", "LookupError"))
        self.assertEqual(reply.error.message, "no function 'nope' is loaded in this worker; loaded: a, b")

    def test_unknown_function_with_nothing_loaded(self):
        reply = self.call("nope", arguments([1]))
        self.assertEqual(reply.error.message, "no function 'nope' is loaded in this worker; loaded: none")


class RuntimeLogsTest(unittest.TestCase):
    """print() and logging inside a UDF become LogRecords tagged with the function."""

    def setUp(self):
        self.modules = temp_modules(self)
        self.mod, _ = self.modules.write(UDF_MODULE)
        self.hub = LogHub()
        self.runtime = FunctionRuntime(self.hub)
        root = logging.getLogger()
        saved = (sys.stdout, sys.stderr, root.level, list(root.handlers))

        def restore():
            sys.stdout, sys.stderr = saved[0], saved[1]
            root.setLevel(saved[2])
            root.handlers[:] = saved[3]

        self.addCleanup(restore)
        capture_output(self.hub)

    def records(self):
        self.hub.close()
        return [(r.level, r.function_name, r.logger, r.message) for r in self.hub.drain()]

    def test_print_and_logging_become_records(self):
        reply = self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=[
            spec("noisy", f"{self.mod}.noisy", ["BIGINT"]),
        ]))
        self.assertFalse(reply.HasField("error"), reply.error)
        reply = self.runtime.call(worker_pb2.CallRequest(
            call_id=1, function_name="noisy", arguments=arguments([1, 2]), num_rows=2,
        ))
        self.assertFalse(reply.HasField("error"), reply.error)
        print("outside any function")
        sys.stdout.flush()
        self.assertEqual(self.records(), [
            ("stdout", "noisy", "", "saw 1"),
            ("warning", "noisy", "my.udf", "careful with 1"),
            ("stdout", "noisy", "", "no newlinesaw 2"),
            ("warning", "noisy", "my.udf", "careful with 2"),
            ("stdout", "noisy", "", "no newline"),  # flushed when the call ends
            ("stdout", "", "", "outside any function"),
        ])

    def test_stderr_and_records_carry_time(self):
        self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=[
            spec("err", "lambda x: print('oops', x, file=sys.stderr) or x", ["BIGINT"]),
        ]))
        # The expression namespace has no sys: the NameError is the reply, nothing is printed.
        reply = self.runtime.call(worker_pb2.CallRequest(function_name="err", arguments=arguments([1])))
        self.assertEqual((reply.error.exception_type, reply.error.row_index), ("NameError", 0))
        self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=[
            spec("err2", "lambda x: print('oops', x, file=__import__('sys').stderr) or x", ["BIGINT"]),
        ]))
        reply = self.runtime.call(worker_pb2.CallRequest(function_name="err2", arguments=arguments([1])))
        self.assertFalse(reply.HasField("error"), reply.error)
        self.hub.close()
        records = list(self.hub.drain())
        self.assertEqual([(r.level, r.function_name, r.message) for r in records], [("stderr", "err2", "oops 1")])
        self.assertGreater(records[0].time_unix, 1.6e9)


if __name__ == "__main__":
    unittest.main()
