"""`python -m pyudf.cluster` against a real local Ray cluster: job bundles in, events and rows out."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import unittest

try:
    import ray  # noqa: F401
except ImportError:
    raise unittest.SkipTest("ray is not installed: the Ray driver's tests run in the Ray environment")

import pyarrow as pa

from tests.cluster.support import LocalCluster, binary, call, column, constant, free_port, function, run_driver, write_bundle

cluster: LocalCluster


def setUpModule() -> None:
    global cluster
    cluster = LocalCluster(num_cpus=2)


def tearDownModule() -> None:
    cluster.stop()


UDFS = '''
import os
import time
from pyudf import DataTypes, udf
from pyudf.udf import ScalarFunction
from pyudf.aggregate_function import AggregateFunction


def double(x):
    return None if x is None else x * 2


class Scale(ScalarFunction):
    def open(self, function_context):
        self.factor = int(function_context.get_job_parameter("factor", "1"))

    def eval(self, x):
        return x * self.factor


scale = udf(Scale(), result_type=DataTypes.BIGINT())


def fails_on_three(x):
    if x == 3:
        raise ValueError(f"three is not allowed")
    return x


def dies_on_three(x):
    if x == 3:
        os._exit(7)
    return x


def hangs_on_two(x):
    if x == 2:
        time.sleep(120)
    return x


class Total(AggregateFunction):
    def create_accumulator(self):
        return [0]

    def accumulate(self, acc, v):
        if v is not None:
            acc[0] += v

    def get_value(self, acc):
        return acc[0]


total = Total()
'''

AB = [{"name": "a", "type": "BIGINT"}, {"name": "b", "type": "BIGINT"}]


def scan(schema: list[dict], table: str = "t0") -> dict:
    return {"kind": "scan", "source": {"kind": "arrow", "file": f"data/{table}.arrow"}, "schema": schema}


class DriverTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="pyudf-bundle-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def bundle(self, **spec: object) -> str:
        spec.setdefault("modules", {"udfs": UDFS})
        return write_bundle(os.path.join(self.dir, "bundle"), **spec)

    def run_ok(self, bundle: str):
        run = run_driver(bundle, cluster.address)
        self.assertEqual(run.exit_code, 0, f"{run.events}\n{run.output[-3000:]}")
        self.assertEqual([e["event"] for e in run.events], ["connected", "done"])
        self.assertEqual(run.events[0]["rayVersion"], ray.__version__)
        return run

    def run_failing(self, bundle: str, code: str):
        run = run_driver(bundle, cluster.address)
        self.assertEqual(run.exit_code, 1, f"{run.events}\n{run.output[-3000:]}")
        self.assertEqual(run.last["event"], "error", run.events)
        self.assertEqual(run.error["code"], code, run.error)
        return run

    def test_scalar_functions_expressions_and_a_filter(self) -> None:
        # (a + b) via a lambda, doubled by a module function, scaled by a ScalarFunction whose open() reads a job
        # parameter; NULL propagation, integer wrap and three-valued logic around the calls; a filter over them.
        out = [{"name": "s", "type": "BIGINT"}, {"name": "d", "type": "BIGINT"}, {"name": "k", "type": "BIGINT"},
               {"name": "big", "type": "BOOLEAN"}]
        bigint = "BIGINT"
        summed = call("add", [column(0, bigint), column(1, bigint)], bigint)
        bundle = self.bundle(
            functions=[
                function("add", "lambda i, j: None if j is None else i + j", [bigint, bigint], bigint),
                function("double", "udfs.double", [bigint], bigint),
                function("scale", "udfs.scale", [bigint], bigint),
            ],
            nodes=[
                scan(AB),
                {"kind": "project", "input": 0, "schema": out, "items": [
                    summed,
                    binary("*", call("double", [summed], bigint), constant("4611686018427387904", bigint), bigint),
                    call("scale", [column(0, bigint)], bigint),
                    binary("OR", {"kind": "isNull", "operand": column(1, bigint), "negated": False, "type": "BOOLEAN"},
                           binary(">", summed, constant(10, bigint), "BOOLEAN"), "BOOLEAN"),
                ]},
                {"kind": "filter", "input": 1, "schema": out,
                 "predicate": binary("OR", column(3, "BOOLEAN"), binary("=", column(2, bigint), constant(30, bigint), "BOOLEAN"), "BOOLEAN")},
            ],
            tables={"t0": pa.table({"a": [1, 2, 3, 4], "b": [20, None, 1, 5]})},
            jobParameters={"factor": "10"},
        )
        run = self.run_ok(bundle)
        # double(21) * 2^62 wraps to -2^63 ... as Flink's BIGINT does; the NULL row keeps NULLs and passes by IS NULL.
        self.assertEqual(run.rows.to_pylist(), [
            {"s": 21, "d": (42 * 2 ** 62 + 2 ** 63) % 2 ** 64 - 2 ** 63, "k": 10, "big": True},
            {"s": None, "d": None, "k": 20, "big": True},
            {"s": 4, "d": (8 * 2 ** 62 + 2 ** 63) % 2 ** 64 - 2 ** 63, "k": 30, "big": False},
        ])
        self.assertEqual(run.events[1]["rows"], 3)

    def test_table_function_inner_and_outer_joined_by_a_sql_stage(self) -> None:
        schema = [{"name": "s", "type": "STRING"}]
        joined = schema + [{"name": "w", "type": "STRING"}]
        split = call("split", [column(0, "STRING")], "STRING")
        bundle = self.bundle(
            functions=[function("split", "lambda s: [(w,) for w in (s or '').split()]", ["STRING"], category="table",
                                result_types=["STRING"])],
            nodes=[
                scan(schema),
                {"kind": "lateralJoin", "input": 0, "schema": joined, "call": split, "outer": False, "predicate": None},
                {"kind": "lateralJoin", "input": 0, "schema": joined, "call": split, "outer": True,
                 "predicate": binary("<>", column(1, "STRING"), constant("skip", "STRING"), "BOOLEAN")},
                {"kind": "sql", "inputs": [1, 2], "rowwise": False,
                 "schema": [{"name": "j", "type": "STRING"}] + joined,
                 "sql": "SELECT 'inner' AS j, s, w FROM input0 UNION ALL SELECT 'outer' AS j, s, w FROM input1 ORDER BY j, s NULLS FIRST, w"},
            ],
            tables={"t0": pa.table({"s": ["a b", "", None, "skip"]})},
        )
        run = self.run_ok(bundle)
        self.assertEqual([tuple(r.values()) for r in run.rows.to_pylist()], [
            ("inner", "a b", "a"), ("inner", "a b", "b"), ("inner", "skip", "skip"),
            ("outer", None, None), ("outer", "", None), ("outer", "a b", "a"), ("outer", "a b", "b"), ("outer", "skip", None),
        ])

    def test_aggregate_function_with_keys_and_without(self) -> None:
        kv = [{"name": "k", "type": "STRING"}, {"name": "v", "type": "BIGINT"}]
        # As the host writes it: the keys, each use of an aggregate function, then the select list over
        # the groups' columns (the keys, then one column per use).
        total = {"name": "total", "category": "aggregate", "args": [column(1, "BIGINT")], "type": "BIGINT"}
        bundle = self.bundle(
            functions=[function("total", "udfs.total", ["BIGINT"], "BIGINT", category="aggregate")],
            nodes=[
                scan(kv),
                {"kind": "aggregate", "input": 0, "keys": [0], "uses": [total], "output": [column(0, "STRING"), column(1, "BIGINT")],
                 "tableAggregate": False, "schema": [{"name": "k", "type": "STRING"}, {"name": "t", "type": "BIGINT"}]},
                {"kind": "aggregate", "input": 0, "keys": [], "uses": [total], "output": [column(0, "BIGINT")], "tableAggregate": False,
                 "schema": [{"name": "t", "type": "BIGINT"}]},
                {"kind": "filter", "input": 0, "schema": kv, "predicate": constant(False, "BOOLEAN")},
                {"kind": "aggregate", "input": 3, "keys": [], "uses": [total], "output": [column(0, "BIGINT")], "tableAggregate": False,
                 "schema": [{"name": "t", "type": "BIGINT"}]},
                {"kind": "sql", "inputs": [1, 2, 4], "rowwise": False, "schema": [{"name": "k", "type": "STRING"}, {"name": "t", "type": "BIGINT"}],
                 "sql": "SELECT * FROM (SELECT k, t FROM input0) UNION ALL SELECT 'all', t FROM input1 UNION ALL SELECT 'none', t FROM input2"},
            ],
            tables={"t0": pa.table({"k": ["x", "y", None, "x", "y"], "v": [1, 2, 3, 4, None]})},
        )
        run = self.run_ok(bundle)
        self.assertEqual(sorted((r["k"] or "", r["t"]) for r in run.rows.to_pylist()),
                         [("", 3), ("all", 10), ("none", 0), ("x", 5), ("y", 2)])

    def test_error_policies_skip_null_and_dead_letter(self) -> None:
        dead_letters = os.path.join(self.dir, "letters", "dead.jsonl")
        v = [{"name": "v", "type": "BIGINT"}]
        raising = "lambda x, bad={n}: 1 // (x - bad) * 0 + x"
        bundle = self.bundle(
            functions=[
                function("skips", raising.format(n=2), ["BIGINT"], "BIGINT", policy="skip"),
                function("nulls", raising.format(n=3), ["BIGINT"], "BIGINT", policy="null"),
                function("letters", raising.format(n=4), ["BIGINT"], "BIGINT", policy="deadLetter"),
            ],
            nodes=[scan(v), {"kind": "project", "input": 0, "schema": v * 0 + [
                {"name": "v", "type": "BIGINT"}, {"name": "s", "type": "BIGINT"}, {"name": "n", "type": "BIGINT"}, {"name": "l", "type": "BIGINT"}],
                "items": [column(0, "BIGINT"), *(call(f, [column(0, "BIGINT")], "BIGINT") for f in ("skips", "nulls", "letters"))]}],
            tables={"t0": pa.table({"v": [1, 2, 3, 4, 5]})},
            deadLetterPath=dead_letters,
        )
        run = self.run_ok(bundle)
        self.assertEqual(run.rows.to_pylist(), [
            {"v": 1, "s": 1, "n": 1, "l": 1}, {"v": 3, "s": 3, "n": None, "l": 3}, {"v": 5, "s": 5, "n": 5, "l": 5},
        ])
        self.assertEqual(run.events[1]["errorCounts"], {
            "letters": {"policy": "deadLetter", "rows": 1}, "nulls": {"policy": "null", "rows": 1}, "skips": {"policy": "skip", "rows": 1},
        })
        with open(dead_letters, encoding="utf-8") as f:
            letters = [json.loads(line) for line in f]
        self.assertEqual([(x["function"], x["arguments"], x["exceptionType"]) for x in letters], [("letters", [4], "ZeroDivisionError")])

    def test_fail_policy_names_function_row_and_traceback(self) -> None:
        v = [{"name": "v", "type": "BIGINT"}]
        bundle = self.bundle(
            functions=[function("picky", "udfs.fails_on_three", ["BIGINT"], "BIGINT")],
            nodes=[scan(v), {"kind": "project", "input": 0, "schema": v, "items": [call("picky", [column(0, "BIGINT")], "BIGINT")]}],
            tables={"t0": pa.table({"v": [1, 2, 3, 4]})},
        )
        error = self.run_failing(bundle, "UDF_ERROR").error
        self.assertEqual((error["functionName"], error["row"], error["exceptionType"]), ("picky", [3], "ValueError"))
        self.assertIn("three is not allowed", error["message"])
        self.assertIn("raise ValueError", error["traceback"])
        self.assertRegex(error["sourceLocation"], r"udfs\.py:\d+$")

    def test_a_row_that_kills_its_process_is_named_after_the_retry_cap(self) -> None:
        v = [{"name": "v", "type": "BIGINT"}]
        bundle = self.bundle(
            functions=[function("fragile", "udfs.dies_on_three", ["BIGINT"], "BIGINT")],
            nodes=[scan(v), {"kind": "project", "input": 0, "schema": v, "items": [call("fragile", [column(0, "BIGINT")], "BIGINT")]}],
            tables={"t0": pa.table({"v": [1, 2, 3, 4, 5, 6]})},
            batchSize=4, maxTaskRetries=1,
        )
        error = self.run_failing(bundle, "WORKER_CRASHED").error
        self.assertEqual((error["functionName"], error["row"]), ("fragile", [3]))
        self.assertIn("exit code 7", error["message"])

    def test_a_row_that_hangs_is_named_with_udf_timeout(self) -> None:
        v = [{"name": "v", "type": "BIGINT"}]
        bundle = self.bundle(
            functions=[function("slow", "udfs.hangs_on_two", ["BIGINT"], "BIGINT")],
            nodes=[scan(v), {"kind": "project", "input": 0, "schema": v, "items": [call("slow", [column(0, "BIGINT")], "BIGINT")]}],
            tables={"t0": pa.table({"v": [1, 2, 3, 4]})},
            batchSize=4, maxTaskRetries=1, udfTimeoutMs=2000,
        )
        error = self.run_failing(bundle, "UDF_TIMEOUT").error
        self.assertEqual((error["functionName"], error["row"]), ("slow", [2]))


class RefusedJobTest(unittest.TestCase):
    """Failures before any work: no cluster is needed for them."""

    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="pyudf-bundle-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.bundle = write_bundle(os.path.join(self.dir, "bundle"), functions=[], nodes=[scan(AB)],
                                   tables={"t0": pa.table({"a": [1], "b": [2]})})

    def test_an_unreachable_address_fails_fast_naming_it(self) -> None:
        address = f"127.0.0.1:{free_port()}"
        run = run_driver(self.bundle, address)
        self.assertEqual(run.exit_code, 1)
        self.assertEqual([e["event"] for e in run.events], ["error"])
        self.assertEqual(run.error["code"], "CLUSTER_UNREACHABLE")
        self.assertIn(address, run.error["message"])
        self.assertIn("refused", run.error["message"].lower())
        self.assertLess(run.seconds, 15)

    def test_another_job_json_version_is_refused_naming_it(self) -> None:
        path = os.path.join(self.bundle, "job.json")
        with open(path, encoding="utf-8") as f:
            job = json.load(f)
        job["version"] = 7
        with open(path, "w", encoding="utf-8") as f:
            json.dump(job, f)
        run = run_driver(self.bundle, cluster.address)
        self.assertEqual((run.exit_code, run.error["code"], run.error["version"]), (1, "JOB_REFUSED", 7))
        self.assertIn("version 7", run.error["message"])


if __name__ == "__main__":
    unittest.main()
