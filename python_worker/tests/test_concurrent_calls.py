"""Async functions and io_threads: the rows of one batch run concurrently, results in row order."""
from __future__ import annotations

import sys
import unittest

from pyudf import DataTypes, udf
from pyudf._proto import worker_pb2
from pyudf.worker.logs import LogHub
from pyudf.worker.runtime import FunctionRuntime
from tests.support import arguments, decode_result, temp_modules

CONCURRENT_MODULE = """\
import asyncio
import sys
import threading
import time

from pyudf import udf, ScalarFunction, DataTypes

running = 0
most_running = 0
started = []
lock = threading.Lock()


def enter(x):
    global running, most_running
    with lock:
        running += 1
        most_running = max(most_running, running)
        started.append(x)


def leave():
    global running
    with lock:
        running -= 1


@udf(input_types=[DataTypes.BIGINT()], result_type=DataTypes.BIGINT())
async def slow_double(x):
    enter(x)
    # Later rows finish first: the order of results must not follow completion.
    await asyncio.sleep(0.02 if x < 5 else 0.001)
    leave()
    return x * 2


@udf(input_types=[DataTypes.BIGINT()], result_type=DataTypes.BIGINT(), concurrency=3)
async def limited(x):
    enter(x)
    await asyncio.sleep(0.005)
    leave()
    return x


@udf(input_types=[DataTypes.BIGINT()], result_type=DataTypes.BIGINT(), concurrency=1)
async def fails_on_three(x):
    enter(x)
    if x == 3:
        raise KeyError(f"no {x}")
    await asyncio.sleep(0)
    leave()
    return x


@udf(input_types=[DataTypes.BIGINT()], result_type=DataTypes.BIGINT())
async def fails_on_odd(x):
    await asyncio.sleep(0.01 * (10 - x))
    if x % 2:
        raise ValueError(f"odd {x}")
    return x


@udf(input_types=[DataTypes.BIGINT()], result_type=DataTypes.BIGINT())
async def exits(x):
    sys.exit(3)


class Lookup(ScalarFunction):
    async def open(self, function_context):
        self.loop = asyncio.get_running_loop()
        self.prefix = function_context.get_job_parameter("prefix", "")

    async def eval(self, x):
        assert asyncio.get_running_loop() is self.loop
        await asyncio.sleep(0)
        return f"{self.prefix}{x}"

    async def close(self):
        await asyncio.sleep(0)
        type(self).closed_on = asyncio.get_running_loop()


lookup = udf(Lookup(), [DataTypes.BIGINT()], DataTypes.STRING())


@udf(input_types=[DataTypes.BIGINT()], result_type=DataTypes.BIGINT(), io_threads=4)
def blocking(x):
    enter(x)
    time.sleep(0.02 if x < 4 else 0.001)
    leave()
    if x == 6:
        raise OSError(f"refused {x}")
    return threading.get_ident()
"""


def spec(name, callable_, **options):
    return worker_pb2.FunctionSpec(name=name, callable=callable_, **options)


class ConcurrentCallsTest(unittest.TestCase):
    def setUp(self):
        self.mod, self.path = temp_modules(self).write(CONCURRENT_MODULE)
        self.runtime = FunctionRuntime(LogHub())
        self.addCleanup(self.runtime.close_all)

    def module(self):
        return sys.modules[self.mod]

    def load(self, *specs, job_parameters=None):
        reply = self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=list(specs),
                                                                  job_parameters=job_parameters or {}))
        self.assertFalse(reply.HasField("error"), reply.error)
        return reply

    def call(self, name, *columns):
        return self.runtime.call(worker_pb2.CallRequest(call_id=1, function_name=name, arguments=arguments(*columns)))

    def test_async_rows_run_concurrently_in_row_order(self):
        reply = self.load(spec("slow_double", f"{self.mod}.slow_double"))
        self.assertEqual((reply.functions[0].kind, reply.functions[0].concurrency), ("async", 64))
        reply = self.call("slow_double", list(range(10)))
        self.assertEqual(decode_result(reply.result).to_pylist(), [x * 2 for x in range(10)])
        self.assertEqual(self.module().most_running, 10)
        self.assertEqual(reply.stats.rows_in, 10)

    def test_concurrency_limits_calls_in_flight(self):
        reply = self.load(spec("limited", f"{self.mod}.limited"))
        self.assertEqual(reply.functions[0].concurrency, 3)
        self.assertEqual(decode_result(self.call("limited", list(range(12))).result).to_pylist(), list(range(12)))
        self.assertEqual(self.module().most_running, 3)

    def test_the_job_may_change_the_concurrency(self):
        reply = self.load(spec("limited", f"{self.mod}.limited", concurrency=2))
        self.assertEqual(reply.functions[0].concurrency, 2)
        self.call("limited", list(range(8)))
        self.assertEqual(self.module().most_running, 2)

    def test_a_raising_row_fails_the_batch_and_stops_it(self):
        self.load(spec("fails_on_three", f"{self.mod}.fails_on_three"))
        error = self.call("fails_on_three", list(range(10))).error
        self.assertEqual((error.exception_type, error.message, error.row_index), ("KeyError", "'no 3'", 3))
        self.assertIn('raise KeyError(f"no {x}")', error.traceback)
        self.assertEqual(error.source_location, f"{self.path}:49")
        # One call at a time: nothing after the failing row started.
        self.assertEqual(self.module().started, [0, 1, 2, 3])

    def test_with_an_error_policy_every_raising_row_is_reported(self):
        self.load(spec("fails_on_odd", f"{self.mod}.fails_on_odd", continue_on_error=True))
        reply = self.call("fails_on_odd", list(range(6)))
        self.assertEqual(decode_result(reply.result).to_pylist(), [0, None, 2, None, 4, None])
        self.assertEqual([(e.row_index, e.message) for e in reply.row_errors],
                         [(1, "odd 1"), (3, "odd 3"), (5, "odd 5")])
        self.assertEqual((reply.stats.rows_out, reply.stats.rows_failed), (3, 3))

    def test_the_first_failure_stops_the_batch_at_once(self):
        self.load(spec("fails_on_odd", f"{self.mod}.fails_on_odd"))
        # Row 5 sleeps least and fails first; the rows still sleeping are cancelled.
        reply = self.call("fails_on_odd", list(range(6)))
        self.assertEqual((reply.error.row_index, reply.error.message), (5, "odd 5"))

    def test_sys_exit_is_the_rows_failure_and_the_loop_lives_on(self):
        self.load(spec("exits", f"{self.mod}.exits"), spec("slow_double", f"{self.mod}.slow_double"))
        error = self.call("exits", [1]).error
        self.assertEqual((error.exception_type, error.row_index), ("SystemExit", 0))
        self.assertEqual(decode_result(self.call("slow_double", [1]).result).to_pylist(), [2])

    def test_async_open_eval_and_close_share_the_workers_loop(self):
        self.load(spec("lookup", f"{self.mod}.lookup"), job_parameters={"prefix": "id-"})
        self.assertEqual(decode_result(self.call("lookup", [1, 2]).result).to_pylist(), ["id-1", "id-2"])
        errors, _ = self.runtime.close_all()
        self.assertEqual(errors, [])
        lookup = self.module().lookup.func
        self.assertIs(type(lookup).closed_on, lookup.loop)

    def test_io_threads_run_rows_on_threads_in_row_order(self):
        reply = self.load(spec("blocking", f"{self.mod}.blocking", continue_on_error=True))
        self.assertEqual((reply.functions[0].kind, reply.functions[0].concurrency), ("threads", 4))
        reply = self.call("blocking", list(range(8)))
        idents = decode_result(reply.result).to_pylist()
        self.assertEqual(idents[6], None)
        self.assertEqual([(e.row_index, e.message) for e in reply.row_errors], [(6, "refused 6")])
        self.assertEqual(self.module().most_running, 4)
        self.assertEqual(len({i for i in idents if i is not None}), 4)

    def test_io_threads_for_a_typescript_lambda(self):
        reply = self.load(spec("sleepy", "lambda x: __import__('time').sleep(0.01) or x", input_types=["BIGINT"],
                               has_input_types=True, result_type="BIGINT", io_threads=8))
        self.assertEqual(reply.functions[0].kind, "threads")
        self.assertEqual(decode_result(self.call("sleepy", list(range(16))).result).to_pylist(), list(range(16)))

    def test_options_that_do_not_fit_are_refused(self):
        reply = self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=[
            spec("f", f"{self.mod}.slow_double", io_threads=4),
        ]))
        self.assertEqual(reply.error.exception_type, "SignatureMismatch")
        self.assertIn("io_threads applies to plain row functions, not to an async function", reply.error.message)
        reply = self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=[
            spec("g", "lambda x: x", input_types=["BIGINT"], has_input_types=True, result_type="BIGINT",
                 concurrency=4),
        ]))
        self.assertIn("concurrency applies to async functions", reply.error.message)


class DeclarationTest(unittest.TestCase):
    def test_async_options_are_checked_where_declared(self):
        async def fetch(x):
            return x

        def plain(x):
            return x

        self.assertEqual(udf(fetch, [DataTypes.BIGINT()], DataTypes.BIGINT(), concurrency=8).concurrency, 8)
        self.assertEqual(udf(plain, [DataTypes.BIGINT()], DataTypes.BIGINT(), io_threads=8).io_threads, 8)
        for bad in (0, -1, 1.5, True):
            with self.assertRaises(ValueError) as caught:
                udf(fetch, [DataTypes.BIGINT()], DataTypes.BIGINT(), concurrency=bad)
            self.assertIn(f"concurrency must be a positive integer, got {bad!r}", str(caught.exception))
        with self.assertRaises(ValueError):
            udf(plain, [DataTypes.BIGINT()], DataTypes.BIGINT(), concurrency=8)
        with self.assertRaises(ValueError):
            udf(fetch, [DataTypes.BIGINT()], DataTypes.BIGINT(), io_threads=8)
        with self.assertRaises(ValueError) as caught:
            udf(fetch, [DataTypes.BIGINT()], DataTypes.BIGINT(), func_type="pandas")
        self.assertIn("cannot be async", str(caught.exception))
