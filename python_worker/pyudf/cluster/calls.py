"""The job's Python functions in one Ray worker process, called on Arrow columns.

Functions load through the local worker's own FunctionRuntime, once per process
(open() then runs once per process before its first batch); close() runs when
the process exits. A call's row errors go through the function's error policy.
"""
from __future__ import annotations

import atexit
import fcntl
import itertools
import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import pyarrow as pa

from pyudf._proto import worker_pb2
from pyudf.cluster.job import ClusterJobError, FunctionDecl, Job
from pyudf.cluster.values import arrow_type, json_value
from pyudf.worker.batches import encode_batch
from pyudf.worker.conversions import python_values
from pyudf.worker.logs import LogHub
from pyudf.worker.runtime import FunctionRuntime

_call_ids = itertools.count(1)


def function_spec(decl: FunctionDecl) -> worker_pb2.FunctionSpec:
    return worker_pb2.FunctionSpec(
        name=decl.name,
        callable=decl.callable,
        input_types=decl.input_types,
        has_input_types=decl.has_input_types,
        result_type=decl.result_type,
        # Rows that raise come back as row errors for every policy but fail: the policy decides.
        continue_on_error=decl.policy != "fail",
        category=decl.category,
        result_types=decl.result_types,
        func_type=decl.func_type,
        concurrency=decl.concurrency,
        io_threads=decl.io_threads,
    )


def load_request(job: Job) -> worker_pb2.LoadFunctionsRequest:
    return worker_pb2.LoadFunctionsRequest(
        functions=[function_spec(d) for d in job.functions.values()],
        python_paths=[job.modules_dir],
        job_parameters=job.job_parameters,
    )


_lock = threading.Lock()
_runtimes: dict[str, FunctionRuntime] = {}


def runtime_for(job: Job) -> FunctionRuntime:
    """The process's runtime for `job`, loaded (and the functions opened) on first use."""
    with _lock:
        runtime = _runtimes.get(job.job_id)
        if runtime is not None:
            return runtime
        # Output is not captured: print() and logging reach the process's stdout/stderr, which Ray forwards.
        runtime = FunctionRuntime(LogHub())
        reply = runtime.load(load_request(job))
        if reply.HasField("error"):
            raise load_failure(reply.error)
        _runtimes[job.job_id] = runtime
        atexit.register(_close_quietly, runtime)
        return runtime


def _close_quietly(runtime: FunctionRuntime) -> None:
    try:
        runtime.close_all()
    except Exception:  # the process is ending: nothing is left to report to
        pass


def load_failure(error: worker_pb2.UdfError) -> ClusterJobError:
    where = f" at {error.source_location}" if error.source_location else ""
    return ClusterJobError(
        "UDF_ERROR",
        f'Python function "{error.function_name}" failed in {error.phase}: {error.exception_type}: {error.message}{where}',
        functionName=error.function_name, phase=error.phase, exceptionType=error.exception_type,
        traceback=error.traceback or None, sourceLocation=error.source_location or None,
    )


def encode_arguments(args: Sequence[pa.Array]) -> bytes:
    if not args:
        return b""
    return encode_batch(pa.RecordBatch.from_arrays(list(args), names=[f"a{i}" for i in range(len(args))]))


def argument_row(args: Sequence[pa.Array], row: int) -> list[Any]:
    return [json_value(python_values(a.slice(row, 1))[0]) for a in args]


def call_failure(name: str, error: worker_pb2.UdfError, args: Sequence[pa.Array], num_rows: int) -> ClusterJobError:
    """A function's failure on a row (or, vectorized, a batch), named with the call, as udfFailure names it."""
    if error.exception_type == "pyudf.InternalError":
        return ClusterJobError("WORKER_CRASHED", f'Python worker failed while running "{name}": {error.message}', functionName=name)
    row = argument_row(args, error.row_index) if 0 <= error.row_index < num_rows else None
    call = f"{name}({', '.join(json.dumps(v) for v in row)})" if row is not None else f"{name} on a batch of {num_rows} row(s)"
    where = f" at {error.source_location}" if error.source_location else ""
    if error.phase == "result":
        message = f'Python function "{name}" {error.message}{where}; call: {call}'
    else:
        message = f'Python function "{name}" raised {error.exception_type}: {error.message}{where}; call: {call}'
    return ClusterJobError(
        "UDF_ERROR", message, functionName=name, phase=error.phase or "eval", exceptionType=error.exception_type,
        traceback=error.traceback or None, sourceLocation=error.source_location or None, row=row,
    )


@dataclass
class PolicyOutcome:
    """What a function's error policy made of the rows that raised in one call."""

    nulled: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)


def apply_policy(decl: FunctionDecl, job: Job, row_errors: Sequence[worker_pb2.UdfError], args: Sequence[pa.Array],
                 num_rows: int, counts: dict[str, int]) -> PolicyOutcome:
    """fail raises the first row's error; null keeps the rows (NULL); skip drops them; deadLetter writes, then drops."""
    if not row_errors:
        return PolicyOutcome()
    if decl.policy == "fail":
        raise call_failure(decl.name, row_errors[0], args, num_rows)
    errors: list[worker_pb2.UdfError] = []
    for error in row_errors:
        if error.row_index >= 0:
            errors.append(error)
        else:  # a vectorized function fails a batch as a whole: the error is every row's
            for row in range(num_rows):
                copy = worker_pb2.UdfError()
                copy.CopyFrom(error)
                copy.row_index = row
                errors.append(copy)
    rows = [e.row_index for e in errors]
    counts[decl.name] = counts.get(decl.name, 0) + len(rows)
    if decl.policy == "deadLetter":
        send_dead_letters(job.dead_letter_path or "", [{
            "function": decl.name,
            "arguments": argument_row(args, e.row_index),
            "exceptionType": e.exception_type,
            "message": e.message,
            "traceback": e.traceback,
            "sourceLocation": e.source_location,
        } for e in errors])
    if decl.policy == "null":
        return PolicyOutcome(nulled=rows)
    return PolicyOutcome(dropped=rows)


def send_dead_letters(path: str, letters: list[dict[str, Any]]) -> None:
    """Appends JSON lines to the shared dead-letter file, locked: tasks on one node append at once."""
    text = "".join(json.dumps(letter, separators=(",", ":")) + "\n" for letter in letters)
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                f.write(text)
                f.flush()
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
    except OSError as exc:
        raise ClusterJobError("IO", f"cannot write dead letters to {path}: {exc}", file=path) from exc


def call_request(name: str, args: Sequence[pa.Array], num_rows: int,
                 aggregate: Optional[worker_pb2.AggregateStep] = None) -> worker_pb2.CallRequest:
    request = worker_pb2.CallRequest(call_id=next(_call_ids) & 0xFFFFFFFF, function_name=name,
                                     arguments=encode_arguments(args), num_rows=num_rows)
    if aggregate is not None:
        request.aggregate.CopyFrom(aggregate)
    return request


def decode_result(data: bytes) -> list[pa.Array]:
    if not data:
        return []
    table = pa.ipc.open_stream(data).read_all()
    return [column.combine_chunks() if column.num_chunks != 1 else column.chunk(0) for column in table.columns]


Guard = Callable[[worker_pb2.CallRequest, Callable[[worker_pb2.CallRequest], worker_pb2.CallReply]], worker_pb2.CallReply]


def unguarded(request: worker_pb2.CallRequest,
              call: Callable[[worker_pb2.CallRequest], worker_pb2.CallReply]) -> worker_pb2.CallReply:
    return call(request)


@dataclass
class TableRows:
    """A table function's rows for a batch: each produced row's input row (ascending), then its columns."""

    sources: list[int]
    columns: list[pa.Array]
    nulled: set[int]
    dropped: list[int]


class FunctionCaller:
    """Calls the job's scalar and table functions on a batch's columns, each reply through its function's policy."""

    def __init__(self, job: Job, guard: Guard = unguarded) -> None:
        self.job = job
        self._guard = guard
        self._runtime: Optional[FunctionRuntime] = None
        # Rows each function's error policy absorbed (null, skip, deadLetter), for the job's errorCounts.
        self.policy_rows: dict[str, int] = {}
        # What the worker measured, per function: [batches, rows in, rows out, rows failed, nanoseconds inside it].
        self.stats: dict[str, list[int]] = {}

    def registered_metrics(self) -> list[dict[str, Any]]:
        """What this process's functions registered (counters, meters, distributions, gauges), as JSON."""
        runtime = self._runtime or _runtimes.get(self.job.job_id)
        if runtime is None:
            return []
        return [
            {"functionName": m.function_name, "readings": [{
                "identifier": r.identifier, "kind": r.kind, "count": r.count, "rate": r.rate, "sum": r.sum, "min": r.min,
                "max": r.max, "number": r.number, "text": r.text, "isText": r.is_text,
            } for r in m.readings]}
            for m in runtime.read_registered_metrics()
        ]

    def record(self, name: str, reply: worker_pb2.CallReply) -> None:
        """Counts an answered batch in the function's figures (the job's metrics)."""
        totals = self.stats.setdefault(name, [0, 0, 0, 0, 0])
        totals[0] += 1
        totals[1] += reply.stats.rows_in
        totals[2] += reply.stats.rows_out
        totals[3] += reply.stats.rows_failed
        totals[4] += reply.stats.function_nanos

    def _reply(self, name: str, args: Sequence[pa.Array], num_rows: int) -> worker_pb2.CallReply:
        if self._runtime is None:
            self._runtime = runtime_for(self.job)
        if name not in self.job.functions:
            raise ClusterJobError("JOB_REFUSED", f"job.json calls function {name!r}, which it does not declare")
        reply = self._guard(call_request(name, args, num_rows), self._runtime.call)
        if reply.HasField("error"):
            raise call_failure(name, reply.error, args, num_rows)
        self.record(name, reply)
        return reply

    def scalar(self, name: str, args: Sequence[pa.Array], num_rows: int, type_text: str) -> tuple[pa.Array, PolicyOutcome]:
        reply = self._reply(name, args, num_rows)
        outcome = apply_policy(self.job.functions[name], self.job, reply.row_errors, args, num_rows, self.policy_rows)
        columns = decode_result(reply.result)
        if columns:
            return columns[0], outcome
        # Every row killed its process (run isolated): the result is all NULL.
        return pa.nulls(num_rows, arrow_type(type_text)), outcome

    def table(self, name: str, args: Sequence[pa.Array], num_rows: int, result_types: Sequence[str]) -> TableRows:
        reply = self._reply(name, args, num_rows)
        outcome = apply_policy(self.job.functions[name], self.job, reply.row_errors, args, num_rows, self.policy_rows)
        columns = decode_result(reply.result)
        if not columns:
            columns = [pa.array([], type=pa.int32()), *(pa.array([], type=arrow_type(t)) for t in result_types)]
        if len(columns) != len(result_types) + 1:
            raise ClusterJobError("WORKER_CRASHED", f'the reply for table function "{name}" holds {len(columns)} column(s), not {len(result_types) + 1}',
                                  functionName=name)
        return TableRows(columns[0].to_pylist(), columns[1:], set(outcome.nulled), outcome.dropped)
