"""Expressions over Arrow batches, as the host evaluator computes them, and job.json's checks (no cluster needed)."""
from __future__ import annotations

import decimal
import os
import tempfile
import unittest
import zlib

try:
    import ray  # noqa: F401  the cluster package runs where Ray is installed
except ImportError:
    raise unittest.SkipTest("ray is not installed: the Ray driver's tests run in the Ray environment")

import pyarrow as pa

from pyudf.cluster.aggregates import POSITION, _partition_of, partition_rows
from pyudf.cluster.calcs import BatchRows, Calc
from pyudf.cluster.calls import FunctionCaller
from pyudf.cluster.expressions import Batch, evaluate
from pyudf.cluster.job import ClusterJobError, parse_job
from tests.cluster.support import binary, call, column, constant, function


def job_with(functions: list[dict], **options: object):
    directory = tempfile.mkdtemp(prefix="pyudf-job-")
    os.makedirs(os.path.join(directory, "modules"))
    raw = {"format": "pyudf-ray-job", "version": 1, "jobId": os.urandom(8).hex(), "functions": functions,
           "plan": {"nodes": []}, "sink": {"kind": "collect"}, **options}
    return parse_job(raw, directory)


class ExpressionTest(unittest.TestCase):
    def setUp(self) -> None:
        self.job = job_with([
            function("calls_seen", "lambda x: x", ["INT"], "INT"),
            function("boom", "lambda x: 1 // 0", ["INT"], "INT"),
        ])

    def eval(self, expr: dict, columns: list[pa.Array]) -> list:
        rows = BatchRows(FunctionCaller(self.job))
        return evaluate(expr, Batch(columns, len(columns[0])), rows).to_pylist()

    def test_integer_arithmetic_wraps_to_the_result_type(self) -> None:
        ints = pa.array([2147483647, -2147483648, None], type=pa.int32())
        self.assertEqual(self.eval(binary("+", column(0, "INT"), constant(1, "INT"), "INT"), [ints]), [-2147483648, -2147483647, None])
        self.assertEqual(self.eval({"kind": "unary", "op": "-", "operand": column(0, "INT"), "type": "INT"}, [ints]),
                         [-2147483647, -2147483648, None])
        big = pa.array([9223372036854775807], type=pa.int64())
        self.assertEqual(self.eval(binary("*", column(0, "BIGINT"), constant("2", "BIGINT"), "BIGINT"), [big]), [-2])

    def test_integer_division_truncates_and_fails_on_zero(self) -> None:
        a = pa.array([-7, 7, 7], type=pa.int32())
        b = pa.array([2, -2, 0], type=pa.int32())
        self.assertEqual(self.eval(binary("/", column(0, "INT"), column(1, "INT"), "INT"), [a.slice(0, 2), b.slice(0, 2)]), [-3, -3])
        self.assertEqual(self.eval(binary("%", column(0, "INT"), column(1, "INT"), "INT"), [a.slice(0, 2), b.slice(0, 2)]), [-1, 1])
        with self.assertRaises(ClusterJobError) as caught:
            self.eval(binary("/", column(0, "INT"), column(1, "INT"), "INT"), [a, b])
        self.assertEqual(caught.exception.code, "ARITHMETIC")
        self.assertIn("7 / 0", caught.exception.message)

    def test_double_division_by_zero_is_ieee(self) -> None:
        x = pa.array([1.0, -1.0, 0.0], type=pa.float64())
        out = self.eval(binary("/", column(0, "DOUBLE"), constant(0, "DOUBLE"), "DOUBLE"), [x])
        self.assertEqual(out[:2], [float("inf"), float("-inf")])
        self.assertNotEqual(out[2], out[2])  # NaN

    def test_three_valued_logic_and_short_circuit(self) -> None:
        a = pa.array([True, False, None, None, True], type=pa.bool_())
        b = pa.array([None, None, True, False, False], type=pa.bool_())
        self.assertEqual(self.eval(binary("AND", column(0, "BOOLEAN"), column(1, "BOOLEAN"), "BOOLEAN"), [a, b]),
                         [None, False, None, False, False])
        self.assertEqual(self.eval(binary("OR", column(0, "BOOLEAN"), column(1, "BOOLEAN"), "BOOLEAN"), [a, b]),
                         [True, None, True, None, True])
        # b <> 0 AND a / b > 1: the division never sees the row whose b is 0.
        x, y = pa.array([6, 6], type=pa.int32()), pa.array([0, 2], type=pa.int32())
        guard = binary("AND", binary("<>", column(1, "INT"), constant(0, "INT"), "BOOLEAN"),
                       binary(">", binary("/", column(0, "INT"), column(1, "INT"), "INT"), constant(1, "INT"), "BOOLEAN"), "BOOLEAN")
        self.assertEqual(self.eval(guard, [x, y]), [False, True])
        # A function behind a decided AND is not called for that row.
        guarded_call = binary("AND", binary("<>", column(0, "INT"), constant(0, "INT"), "BOOLEAN"),
                              binary("=", call("boom", [column(0, "INT")], "INT"), constant(1, "INT"), "BOOLEAN"), "BOOLEAN")
        self.assertEqual(self.eval(guarded_call, [pa.array([0, 0], type=pa.int32())]), [False, False])

    def test_nulls_and_comparisons(self) -> None:
        s = pa.array(["\uffff", "\U0001F600", None])
        # UTF-16 code units: the surrogate pair of U+1F600 sorts below U+FFFF.
        self.assertEqual(self.eval(binary(">", column(0, "STRING"), constant("\U0001F600", "STRING"), "BOOLEAN"), [s]), [True, False, None])
        self.assertEqual(self.eval({"kind": "isNull", "operand": column(0, "STRING"), "negated": True, "type": "BOOLEAN"}, [s]),
                         [True, True, False])
        d = pa.array([decimal.Decimal("1.50"), decimal.Decimal("2.00")], type=pa.decimal128(10, 2))
        self.assertEqual(self.eval(binary("=", column(0, "DECIMAL(10, 2)"), constant("1.5", "DECIMAL(10, 2)"), "BOOLEAN"), [d]), [True, False])

    def test_a_python_error_names_the_function_and_row(self) -> None:
        with self.assertRaises(ClusterJobError) as caught:
            self.eval(call("boom", [column(0, "INT")], "INT"), [pa.array([5], type=pa.int32())])
        error = caught.exception.to_event()["error"]
        self.assertEqual((error["code"], error["functionName"], error["exceptionType"], error["row"]),
                         ("UDF_ERROR", "boom", "ZeroDivisionError", [5]))
        self.assertIn("ZeroDivisionError", error["traceback"])


class RowNodesTest(unittest.TestCase):
    def test_pack_and_unpack_many(self) -> None:
        job = job_with([function("pairs", "lambda r: [(r.a, 'x'), (r.a, 'y')] if r.a else []", ["ROW<a INT>"],
                                 "ARRAY<ROW<n INT, t STRING>>")])
        schema = [{"name": "a", "type": "INT"}]
        packed = schema + [{"name": "_row", "type": "ROW<a INT>"}]
        called = [{"name": "a", "type": "INT"}, {"name": "r", "type": "ARRAY<ROW<n INT, t STRING>>"}]
        unpacked = [{"name": "a", "type": "INT"}, {"name": "n", "type": "INT"}, {"name": "t", "type": "STRING"}]
        calc = Calc(job, [
            ({"kind": "packRow", "schema": packed}, schema),
            ({"kind": "project", "schema": called, "items": [column(0, "INT"), call("pairs", [column(1, "ROW<a INT>")], called[1]["type"])]}, packed),
            ({"kind": "unpackRow", "many": True, "schema": unpacked}, called),
        ])
        out = calc(pa.table({"a": pa.array([1, 0, 2], type=pa.int32())}))
        self.assertEqual(out.to_pylist(), [
            {"a": 1, "n": 1, "t": "x"}, {"a": 1, "n": 1, "t": "y"}, {"a": 2, "n": 2, "t": "x"}, {"a": 2, "n": 2, "t": "y"},
        ])


class ShuffleTest(unittest.TestCase):
    """The groupBy shuffle's cut of a block: keys equal as the host's Map has them share a part."""

    def test_equal_keys_share_a_partition_in_every_process(self) -> None:
        for partitions in (1, 3, 7):
            self.assertEqual(_partition_of((float("nan"),), partitions), _partition_of((float("nan"),), partitions))
            self.assertEqual(_partition_of((0.0,), partitions), _partition_of((-0.0,), partitions))
            self.assertEqual(_partition_of((None, "x"), partitions), _partition_of((None, "x"), partitions))
        # A stable hash, not Python's salted one: a fixed value for a fixed key.
        self.assertEqual(_partition_of(("apple",), 1 << 30), zlib.crc32(repr(("apple",)).encode()) % (1 << 30))

    def test_a_block_is_cut_into_parts_that_keep_each_rows_place(self) -> None:
        table = pa.table({"k": ["a", "b", None, "a", "b", None], "v": [1, 2, 3, 4, 5, 6]})
        parts = partition_rows(table, [0], 3, block_index=2)
        self.assertEqual(len(parts), 3)
        rows = sorted((r[POSITION], r["k"], r["v"]) for part in parts for r in part.to_pylist())
        self.assertEqual(rows, [((2 << 32) + i, k, v) for i, (k, v) in enumerate(zip(table["k"].to_pylist(), table["v"].to_pylist()))])
        for part in parts:
            keys = {r["k"] for r in part.to_pylist()}
            for other in parts:
                if other is not part:
                    self.assertFalse(keys & {r["k"] for r in other.to_pylist()})


class JobFileTest(unittest.TestCase):
    def test_another_version_is_refused_naming_it(self) -> None:
        with self.assertRaises(ClusterJobError) as caught:
            parse_job({"format": "pyudf-ray-job", "version": 2}, ".")
        self.assertEqual(caught.exception.code, "JOB_REFUSED")
        self.assertIn("version 2", caught.exception.message)
        self.assertIn("version 1", caught.exception.message)

    def test_an_unknown_policy_is_refused(self) -> None:
        with self.assertRaises(ClusterJobError) as caught:
            job_with([function("f", "lambda x: x", ["INT"], "INT", policy="retry")])
        self.assertIn("'retry'", caught.exception.message)


if __name__ == "__main__":
    unittest.main()
