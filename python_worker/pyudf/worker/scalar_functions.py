"""Scalar functions in the worker: loading one, and running a batch through it.

A row function is called once per row (in order, or concurrently when async or
given io_threads); a vectorized one (func_type='pandas') once per batch with
pandas.Series, through pyudf.worker.vectorized, which is imported only by jobs
that have one: pandas takes longer to import than the rest of the worker.
"""
from __future__ import annotations

import time
from types import ModuleType
from typing import Any, Optional, Sequence

import pyarrow as pa

from pyudf._proto import worker_pb2
from pyudf.types import DataType
from pyudf.udf import FUNC_TYPES, ScalarFunction, UserDefinedFunction, UserDefinedFunctionWrapper, check_call_options, is_async
from pyudf.worker.batches import ResultTypeError, by_argument, decode_arrays, encode_result, to_arrow_result
from pyudf.worker.concurrent_calls import ConcurrentCalls
from pyudf.worker.failures import plain_error, udf_error
from pyudf.worker.loading import (
    FunctionLoadError, HostDeclaration, LoadedFunction, agreed_signature, check_arity, location_of, no_lifecycle,
)
from pyudf.worker.logs import LogHub, flush_output

# Calls of one batch of an async function running at once, unless declared.
DEFAULT_ASYNC_CONCURRENCY = 64


def load_scalar_function(host: HostDeclaration, value: Any) -> LoadedFunction:
    name = host.name
    py_inputs: Optional[list[DataType]] = None
    py_result: Optional[DataType] = None
    py_func_type: Optional[str] = None
    py_concurrency: Optional[int] = None
    py_io_threads: Optional[int] = None
    if isinstance(value, UserDefinedFunctionWrapper):
        py_inputs, py_result = value.input_types, value.result_type
        py_func_type, py_concurrency, py_io_threads = value.func_type, value.concurrency, value.io_threads
        value = value.func

    if isinstance(value, ScalarFunction):
        call, target = value.eval, value.eval
    elif callable(value):
        call, target = value, value
    else:
        raise FunctionLoadError(
            "TypeError",
            f"function {name!r}: {host.expression!r} evaluates to {type(value).__name__} {value!r}, "
            "which is not callable",
        )
    location = location_of(target)
    opener = value.open if isinstance(value, UserDefinedFunction) else no_lifecycle
    closer = value.close if isinstance(value, UserDefinedFunction) else no_lifecycle

    input_types, result_type = agreed_signature(host, py_inputs, py_result, location)
    if result_type is None:
        raise FunctionLoadError(
            "SignatureMismatch",
            f"function {name!r} has no result type: declare result_type in Python "
            "(udf(..., result_type=DataTypes.BIGINT())) or pass it to udf() in TypeScript",
            location,
        )
    if input_types is not None:
        check_arity(name, target, len(input_types), location)
    func_type = _func_type(name, host.func_type, py_func_type, location)
    # The job may tune what the Python declaration chose.
    concurrency = host.concurrency or py_concurrency
    io_threads = host.io_threads or py_io_threads
    try:
        check_call_options(value, func_type, concurrency, io_threads, f"function {name!r}")
    except ValueError as exc:
        raise FunctionLoadError("SignatureMismatch", str(exc), location) from None
    loaded = LoadedFunction(name, call, input_types, result_type, location, opener, closer)
    if func_type == "pandas":
        loaded.kind = "pandas"
    elif is_async(value):
        loaded.kind, loaded.concurrency = "async", concurrency or DEFAULT_ASYNC_CONCURRENCY
    elif io_threads:
        loaded.kind, loaded.concurrency = "threads", io_threads
    return loaded


def _func_type(name: str, host: str, python: Optional[str], location: str) -> str:
    if host and host not in FUNC_TYPES:
        raise FunctionLoadError(
            "SignatureMismatch",
            f"function {name!r}: funcType {host!r} is not supported; supported: {', '.join(FUNC_TYPES)}",
            location,
        )
    if host and python is not None and host != python:
        raise FunctionLoadError(
            "SignatureMismatch",
            f"function {name!r}: TypeScript declares funcType {host!r}, Python declares func_type {python!r}",
            location,
        )
    return host or python or "general"


def call_row_function(
    function: LoadedFunction, call_id: int, columns: Sequence[Sequence[Any]], num_rows: int,
    hub: LogHub, concurrent: ConcurrentCalls,
) -> worker_pb2.CallReply:
    """Calls the function on each row (its output tagged with its name in `hub`); one result per row."""
    results: list = []
    row_errors: list = []
    hub.current_function = function.name
    started = time.perf_counter_ns()
    try:
        if function.kind in ("async", "threads"):
            results, failures = concurrent.run(function, columns, num_rows)
            if failures and not function.continue_on_error:
                row, exc = failures[0]
                return worker_pb2.CallReply(call_id=call_id, error=udf_error(function.name, "eval", exc, row))
            row_errors = [udf_error(function.name, "eval", exc, row) for row, exc in failures]
        else:
            try:
                if columns:
                    # extend() keeps what map() produced before a failure: its length is the failing row.
                    results.extend(map(function.call, *columns))
                else:
                    call = function.call
                    results.extend(call() for _ in range(num_rows))
            # BaseException: sys.exit() in a UDF is the UDF's failure, not the worker's exit.
            except BaseException as exc:
                if not function.continue_on_error:
                    return worker_pb2.CallReply(
                        call_id=call_id, error=udf_error(function.name, "eval", exc, len(results)),
                    )
                row_errors.append(udf_error(function.name, "eval", exc, len(results)))
                results.append(None)
            if row_errors:
                # Outside the except clause: a later row's exception must not chain onto this
                # row's ("During handling of the above exception...") in its traceback.
                _finish_rows(function, columns, num_rows, results, row_errors)
    finally:
        nanos = time.perf_counter_ns() - started
        flush_output()
        hub.current_function = ""
    result_type = function.result_type
    if row_errors and not result_type.nullable:
        result_type = result_type.as_nullable()  # the failed rows' NULLs are the policy's, not the function's
    try:
        array = to_arrow_result(results, result_type)
    except ResultTypeError as exc:
        return _result_error(call_id, function, exc)
    return worker_pb2.CallReply(
        call_id=call_id, result=encode_result(array), row_errors=row_errors,
        stats=_stats(num_rows, len(row_errors), nanos),
    )


def call_vectorized_function(function: LoadedFunction, request: worker_pb2.CallRequest, hub: LogHub) -> worker_pb2.CallReply:
    """One call for the whole batch: it succeeds or fails as a whole."""
    vectorized = pandas_support()
    arrays = by_argument(request, decode_arrays(request.arguments))
    num_rows = len(arrays[0]) if arrays else request.num_rows
    series = vectorized.arguments_as_series(arrays)
    failure: Optional[BaseException] = None
    result: Any = None
    hub.current_function = function.name
    started = time.perf_counter_ns()
    try:
        result = function.call(*series)
    except BaseException as exc:  # sys.exit() included, as for row functions
        failure = exc
    finally:
        nanos = time.perf_counter_ns() - started
        flush_output()
        hub.current_function = ""
    if failure is not None:
        error = udf_error(function.name, "eval", failure)
        if isinstance(failure, ValueError) and "read-only" in str(failure):
            error.message += vectorized.READ_ONLY_HINT
        if not function.continue_on_error:
            return worker_pb2.CallReply(call_id=request.call_id, error=error)
        # Row -1: every row of the batch failed; the job's error policy applies to each.
        nulls = pa.nulls(num_rows, type=function.result_type.to_arrow())
        return worker_pb2.CallReply(
            call_id=request.call_id, result=encode_result(nulls), row_errors=[error],
            stats=_stats(num_rows, num_rows, nanos),
        )
    try:
        array = vectorized.series_to_arrow(result, num_rows, function.result_type)
    except ResultTypeError as exc:
        return _result_error(request.call_id, function, exc)
    return worker_pb2.CallReply(
        call_id=request.call_id, result=encode_result(array), stats=_stats(num_rows, 0, nanos),
    )


def _result_error(call_id: int, function: LoadedFunction, exc: ResultTypeError) -> worker_pb2.CallReply:
    return worker_pb2.CallReply(call_id=call_id, error=plain_error(
        function.name, "result", "ResultTypeError", str(exc), exc.row_index, function.source_location,
    ))


def _finish_rows(function: LoadedFunction, columns: Sequence[Sequence[Any]], num_rows: int, results: list, row_errors: list) -> None:
    """After a row raised under continue_on_error: the rest one by one, each failure recorded."""
    call = function.call
    for row in range(len(results), num_rows):
        try:
            results.append(call(*(column[row] for column in columns)))
        except BaseException as exc:
            row_errors.append(udf_error(function.name, "eval", exc, row))
            results.append(None)


def is_vectorized(function: LoadedFunction) -> bool:
    return function.category == "scalar" and function.kind == "pandas"


def pandas_support() -> ModuleType:
    """pandas takes longer to import than the rest of the worker: only jobs with vectorized functions pay."""
    from pyudf.worker import vectorized
    return vectorized


def _stats(rows_in: int, rows_failed: int, nanos: int) -> worker_pb2.CallStats:
    return worker_pb2.CallStats(rows_in=rows_in, rows_out=rows_in - rows_failed, rows_failed=rows_failed,
                                function_nanos=nanos)
