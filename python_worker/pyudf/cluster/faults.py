"""Batches that kill their process: the job's ledger of batch starts, the call watchdog, the poison-row search.

A Ray task whose process dies is retried by Ray. Each Python call on a batch is
first counted in the job's ledger (keyed by the stage and the batch's bytes); a
batch that started `maxTaskRetries` times without finishing is not run in the
task's process again but in child processes, bisecting, until the row that
kills (or hangs) the function is named. A call running longer than
`udfTimeoutMs` has its process killed by the watchdog, which Ray counts as a
crash like any other.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

import pyarrow as pa
import pyarrow.compute as pc
import ray

from pyudf._proto import worker_pb2
from pyudf.cluster.calls import argument_row, decode_result, encode_arguments, load_request
from pyudf.cluster.job import ClusterJobError, Job
from pyudf.worker.batches import encode_batch

# The exit code of a process the watchdog ended; its stderr says which call overran.
EXIT_CALL_TIMED_OUT = 75
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)
class BatchLedger:
    """Per job: how often each batch started without finishing, the rows each error policy absorbed, and each
    function's figures (batches, rows in, out and failed, time inside it) as the tasks report them.

    Lives on the driver's node (placed there by the driver), so a lost worker node loses none of it.
    """

    def __init__(self) -> None:
        self._unfinished: dict[str, int] = {}
        self._policy_rows: dict[str, int] = {}
        self._stats: dict[str, list[int]] = {}
        # Per worker process, the metrics its functions registered as it last reported them (they accumulate there).
        self._registered: dict[str, list[dict[str, Any]]] = {}

    def start(self, key: str) -> int:
        """Counts a start; returns the starts before it that never finished."""
        before = self._unfinished.get(key, 0)
        self._unfinished[key] = before + 1
        return before

    def finish(self, key: str) -> None:
        self._unfinished.pop(key, None)

    def add_policy_rows(self, counts: dict[str, int]) -> None:
        for name, rows in counts.items():
            self._policy_rows[name] = self._policy_rows.get(name, 0) + rows

    def policy_rows(self) -> dict[str, int]:
        return dict(self._policy_rows)

    def add_report(self, policy_rows: dict[str, int], stats: dict[str, list[int]],
                   process: str = "", registered: Optional[list[dict[str, Any]]] = None) -> None:
        """A task's policy rows and function figures, for the batches it ran; its process's registered metrics."""
        self.add_policy_rows(policy_rows)
        if registered:
            self._registered[process] = registered
        for name, figures in stats.items():
            totals = self._stats.setdefault(name, [0] * len(figures))
            for i, value in enumerate(figures):
                totals[i] += value

    def function_stats(self) -> dict[str, list[int]]:
        return {name: list(figures) for name, figures in self._stats.items()}

    def registered_metrics(self) -> list[list[dict[str, Any]]]:
        """Each reporting process's last report of its functions' registered metrics."""
        return list(self._registered.values())


def report_to_ledger(ledger: "ray.actor.ActorHandle", policy_rows: dict[str, int], stats: dict[str, list[int]],
                     registered: Optional[list[dict[str, Any]]] = None) -> None:
    """What a task's calls came to (BatchLedger.add_report), its registered metrics keyed by this worker process."""
    process = f"{ray.get_runtime_context().get_node_id()}/{os.getpid()}"
    ray.get(ledger.add_report.remote(policy_rows, stats, process, registered))


def create_ledger(job_id: str) -> "ray.actor.ActorHandle":
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    node = ray.get_runtime_context().get_node_id()
    return BatchLedger.options(
        name=f"pyudf-ledger-{job_id}", scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=True),
    ).remote()


def batch_key(stage: str, request: worker_pb2.CallRequest) -> str:
    digest = hashlib.sha256(stage.encode())
    digest.update(request.function_name.encode())
    digest.update(request.num_rows.to_bytes(8, "little"))
    digest.update(request.arguments)
    return digest.hexdigest()


class Watchdog:
    """Kills this process when one call runs longer than the job's udfTimeoutMs (Ray then retries its task)."""

    def __init__(self, timeout_ms: int, what: str) -> None:
        self._timer = threading.Timer(timeout_ms / 1000, self._fire, args=(timeout_ms, what))
        self._timer.daemon = True

    def __enter__(self) -> "Watchdog":
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    @staticmethod
    def _fire(timeout_ms: int, what: str) -> None:
        sys.stderr.write(f"pyudf: {what} did not finish within {timeout_ms} ms; its process (pid {os.getpid()}) is killed\n")
        sys.stderr.flush()
        os._exit(EXIT_CALL_TIMED_OUT)


def guarded_call(job: Job, ledger: "ray.actor.ActorHandle", stage: str, request: worker_pb2.CallRequest,
                 call: Callable[[worker_pb2.CallRequest], worker_pb2.CallReply]) -> worker_pb2.CallReply:
    """One call on a batch, counted in the ledger; a batch past the retry cap runs in isolation instead."""
    key = batch_key(stage, request)
    starts = ray.get(ledger.start.remote(key))
    if starts >= job.max_task_retries:
        reply = run_isolated(job, request)
    else:
        with Watchdog(job.udf_timeout_ms, f"a call of {request.function_name!r} on {request.num_rows} row(s)"):
            reply = call(request)
    ledger.finish.remote(key)
    return reply


class LedgerGuard:
    """Runs each call of a stage through guarded_call, and sends the ledger the rows the policies absorbed."""

    def __init__(self, job: Job, ledger: "ray.actor.ActorHandle", stage: str) -> None:
        self._job = job
        self._ledger = ledger
        self._stage = stage

    def __call__(self, request: worker_pb2.CallRequest,
                 call: Callable[[worker_pb2.CallRequest], worker_pb2.CallReply]) -> worker_pb2.CallReply:
        return guarded_call(self._job, self._ledger, self._stage, request, call)

    def report(self, policy_rows: dict[str, int], stats: dict[str, list[int]], registered: Optional[list[dict[str, Any]]] = None) -> None:
        report_to_ledger(self._ledger, policy_rows, stats, registered)


@dataclass(frozen=True)
class _Death:
    timed_out: bool
    detail: str


def run_isolated(job: Job, request: worker_pb2.CallRequest) -> worker_pb2.CallReply:
    """The batch in child processes, halved until each part either completes or is the one row that kills it.

    The row that kills is the function's failure on that row (WORKER_CRASHED, or
    UDF_TIMEOUT when it hangs) under the function's error policy; the parts that
    completed make up the reply.
    """
    arguments = _decode_arguments(request)
    decl = job.functions[request.function_name]
    parts: list[tuple[int, worker_pb2.CallReply]] = []
    poison: list[tuple[int, _Death]] = []

    def search(start: int, end: int) -> None:
        reply, death = _probe(job, request, arguments, start, end)
        if reply is not None:
            parts.append((start, reply))
        elif end - start == 1:
            assert death is not None
            if decl.policy == "fail":
                raise _poison_failure(request.function_name, arguments, start, death, job)
            poison.append((start, death))
        else:
            middle = (start + end) // 2
            search(start, middle)
            search(middle, end)

    search(0, request.num_rows)
    return _combine(request, decl.category, parts, poison)


def _decode_arguments(request: worker_pb2.CallRequest) -> list[pa.Array]:
    if not request.arguments:
        return []
    return decode_result(request.arguments)


def _probe(job: Job, request: worker_pb2.CallRequest, arguments: list[pa.Array], start: int, end: int
           ) -> tuple[Optional[worker_pb2.CallReply], Optional[_Death]]:
    part = worker_pb2.CallRequest()
    part.CopyFrom(request)
    part.num_rows = end - start
    part.arguments = encode_arguments([a.slice(start, end - start) for a in arguments])
    payload = pickle.dumps((load_request(job).SerializeToString(), part.SerializeToString()))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH", "")) if p)
    try:
        done = subprocess.run([sys.executable, "-m", "pyudf.cluster.probe"], input=payload, capture_output=True,
                              timeout=job.udf_timeout_ms / 1000, env=env, cwd=job.local_bundle_dir)
    except subprocess.TimeoutExpired:
        return None, _Death(True, f"did not finish within {job.udf_timeout_ms} ms")
    if done.returncode == 0 and done.stdout:
        return worker_pb2.CallReply.FromString(done.stdout), None
    code = done.returncode
    how = f"signal {-code}" if code < 0 else f"exit code {code}"
    stderr = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return None, _Death(False, f"its process ended with {how}" + (f": {stderr[-1]}" if stderr else ""))


def _poison_failure(name: str, arguments: list[pa.Array], row: int, death: _Death, job: Job) -> ClusterJobError:
    values = argument_row(arguments, row)
    call = f"{name}({', '.join(repr(v) for v in values)})"
    if death.timed_out:
        return ClusterJobError(
            "UDF_TIMEOUT", f'Python function "{name}" {death.detail} on a row; call: {call}',
            functionName=name, phase="eval", row=values,
        )
    return ClusterJobError(
        "WORKER_CRASHED",
        f'Python function "{name}" kills its process on a row: its batch failed {job.max_task_retries} time(s), '
        f"and run alone the row {death.detail}; call: {call}",
        functionName=name, phase="eval", row=values,
    )


def _combine(request: worker_pb2.CallRequest, category: str, parts: list[tuple[int, worker_pb2.CallReply]],
             poison: list[tuple[int, _Death]]) -> worker_pb2.CallReply:
    """The parts' replies as one, in row order; each poison row is a row error (its result NULL, or no rows)."""
    for _, reply in parts:
        if reply.HasField("error"):
            shifted = worker_pb2.CallReply(call_id=request.call_id)
            shifted.error.CopyFrom(reply.error)
            return shifted
    pieces: list[tuple[int, Optional[pa.RecordBatch]]] = []
    errors: list[worker_pb2.UdfError] = []
    for start, reply in parts:
        batch = pa.ipc.open_stream(reply.result).read_all().combine_chunks().to_batches() if reply.result else []
        if batch:
            table = batch[0]
            if category == "table":
                rows = pc.add(table.column(0), pa.scalar(start, table.column(0).type))
                table = pa.RecordBatch.from_arrays([rows, *table.columns[1:]], schema=table.schema)
            pieces.append((start, table))
        for error in reply.row_errors:
            moved = worker_pb2.UdfError()
            moved.CopyFrom(error)
            if moved.row_index >= 0:
                moved.row_index += start
            errors.append(moved)
    schema = next((b.schema for _, b in pieces if b is not None), None)
    for row, death in poison:
        errors.append(worker_pb2.UdfError(
            function_name=request.function_name, phase="eval",
            exception_type="pyudf.Timeout" if death.timed_out else "pyudf.WorkerCrashed",
            message=f"the row {death.detail}", row_index=row,
        ))
        if category != "table" and schema is not None:
            pieces.append((row, pa.RecordBatch.from_arrays([pa.nulls(1, schema.field(0).type)], schema=schema)))
    pieces.sort(key=lambda piece: piece[0])
    errors.sort(key=lambda e: e.row_index)
    reply = worker_pb2.CallReply(call_id=request.call_id, row_errors=errors)
    if schema is not None:
        reply.result = encode_batch(pa.Table.from_batches([b for _, b in pieces], schema=schema).combine_chunks().to_batches()[0]
                                    if pieces else pa.RecordBatch.from_pylist([], schema=schema))
    elif category != "table":
        # Every row killed its process: the result is all NULL; the caller knows the type.
        reply.result = b""
    return reply
