"""The functions a worker has loaded, and running one batch through one of them."""
from __future__ import annotations

import sys
import time
from typing import Callable, Optional

import pyarrow as pa

from pyudf._proto import worker_pb2
from pyudf.metrics import MetricGroup, MetricRegistry
from pyudf.udf import FunctionContext
from pyudf.worker import load_phases
from pyudf.worker.aggregate_functions import has_merge, run_step
from pyudf.worker.batches import by_argument, decode_arguments
from pyudf.worker.concurrent_calls import ConcurrentCalls
from pyudf.worker.failures import add_library_dir, plain_error, udf_error
from pyudf.worker.functions import load_function
from pyudf.worker.loading import FunctionLoadError, LoadedFunction
from pyudf.worker.logs import LogHub, flush_output
from pyudf.worker.metric_reports import read_gauges, read_metrics
from pyudf.worker.scalar_functions import call_row_function, call_vectorized_function, is_vectorized, pandas_support
from pyudf.worker.table_functions import call_table_function


class FunctionRuntime:
    def __init__(self, hub: LogHub) -> None:
        self._hub = hub
        self._functions: dict[str, LoadedFunction] = {}
        self._metrics: dict[str, MetricRegistry] = {}
        self._concurrent = ConcurrentCalls()

    def load(self, request: worker_pb2.LoadFunctionsRequest) -> worker_pb2.LoadFunctionsReply:
        for path in reversed([*request.python_paths, *request.library_paths]):
            if path not in sys.path:
                sys.path.insert(0, path)
        for path in request.library_paths:
            add_library_dir(path)
        loaded: dict[str, LoadedFunction] = {}
        for spec in request.functions:
            self._hub.current_function = spec.name
            load_phases.enter(spec.name, "load", f"evaluation of {spec.callable!r}")
            try:
                loaded[spec.name] = load_function(
                    spec.name,
                    spec.callable,
                    list(spec.input_types) if spec.has_input_types else None,
                    spec.result_type or None,
                    spec.category,
                    list(spec.result_types) or None,
                    spec.func_type,
                    spec.concurrency,
                    spec.io_threads,
                )
                loaded[spec.name].continue_on_error = spec.continue_on_error
            except FunctionLoadError as exc:
                return worker_pb2.LoadFunctionsReply(error=plain_error(
                    spec.name, "load", exc.exception_type, str(exc), source_location=exc.source_location,
                ))
            except Exception as exc:  # the user's module or expression failed: report, stay up
                return worker_pb2.LoadFunctionsReply(error=udf_error(spec.name, "load", exc))
            finally:
                flush_output()
                self._hub.current_function = ""
        vectorized = [f.name for f in loaded.values() if is_vectorized(f)]
        if vectorized:
            try:
                pandas_support()  # pandas loads with the first job that needs it, before any batch waits for it
            except ImportError as exc:
                return worker_pb2.LoadFunctionsReply(error=plain_error(
                    vectorized[0], "load", "ImportError",
                    f"a vectorized function (func_type='pandas') needs pandas and numpy: {exc}",
                ))
        opened: list[LoadedFunction] = []
        registries = {name: MetricRegistry() for name in loaded}
        for function in loaded.values():
            self._hub.current_function = function.name
            context = FunctionContext(dict(request.job_parameters), MetricGroup(registries[function.name]))
            load_phases.enter(function.name, "open", f"open() of function {function.name!r}")
            try:
                self._concurrent.run_lifecycle(function.open, context)
                opened.append(function)
            except Exception as exc:
                for done in opened:
                    self._close_one(done)
                return worker_pb2.LoadFunctionsReply(error=udf_error(function.name, "open", exc))
            finally:
                flush_output()
                self._hub.current_function = ""
        self._functions.update(loaded)
        self._metrics.update(registries)
        return worker_pb2.LoadFunctionsReply(functions=[
            worker_pb2.LoadedFunction(
                name=f.name,
                input_types=[str(t) for t in f.input_types or []],
                has_input_types=f.input_types is not None,
                result_type=str(f.result_type) if f.result_type is not None else "",
                kind=f.kind,
                source_location=f.source_location,
                category=f.category,
                result_types=[str(t) for t in f.result_types or []],
                has_merge=has_merge(f),
                concurrency=f.concurrency if f.kind in ("async", "threads") else 0,
            )
            for f in loaded.values()
        ])

    def call(self, request: worker_pb2.CallRequest) -> worker_pb2.CallReply:
        try:
            return self._call(request)
        except BaseException as exc:  # a failure of ours must not end the stream for every later batch
            return worker_pb2.CallReply(call_id=request.call_id, error=plain_error(
                request.function_name, "eval", "pyudf.InternalError",
                f"the worker failed to process a batch of {request.function_name!r}: "
                f"{type(exc).__name__}: {exc}",
            ))

    def _call(self, request: worker_pb2.CallRequest) -> worker_pb2.CallReply:
        function = self._functions.get(request.function_name)
        if function is None:
            known = ", ".join(sorted(self._functions)) or "none"
            return worker_pb2.CallReply(call_id=request.call_id, error=plain_error(
                request.function_name, "eval", "LookupError",
                f"no function {request.function_name!r} is loaded in this worker; loaded: {known}",
            ))
        if request.HasField("aggregate") or function.aggregator is not None:
            # Only accumulating takes rows; the other steps are the aggregate's bookkeeping.
            accumulates = request.aggregate.step == "accumulate"
            return self._as(function, lambda: run_step(function, request), request.num_rows if accumulates else None)
        if is_vectorized(function):
            return call_vectorized_function(function, request, self._hub)
        columns = by_argument(request, decode_arguments(request.arguments))
        num_rows = len(columns[0]) if columns else request.num_rows
        if function.category == "table":
            return self._as(function, lambda: call_table_function(function, request.call_id, columns, num_rows), num_rows)
        return call_row_function(function, request.call_id, columns, num_rows, self._hub, self._concurrent)

    def _as(self, function: LoadedFunction, run: Callable[[], worker_pb2.CallReply],
            rows_in: Optional[int] = None) -> worker_pb2.CallReply:
        """Runs a call of `function`, its output tagged with its name; measured when it takes rows."""
        self._hub.current_function = function.name
        started = time.perf_counter_ns()
        try:
            reply = run()
        finally:
            nanos = time.perf_counter_ns() - started
            flush_output()
            self._hub.current_function = ""
        if rows_in is not None and not reply.HasField("error"):
            failed = len(reply.row_errors)
            # A table function's rows out are the rows it produced, whatever their number.
            produced = _batch_rows(reply.result) if function.category == "table" else rows_in - failed
            reply.stats.CopyFrom(worker_pb2.CallStats(rows_in=rows_in, rows_out=produced, rows_failed=failed,
                                                      function_nanos=nanos))
        return reply

    def read_registered_metrics(self) -> list[worker_pb2.FunctionMetrics]:
        """The metrics the functions registered, as they stand, without closing them: a process that
        outlives its batches (a Ray worker) reports what it holds after each one. Gauges that raise are left out."""
        return [
            worker_pb2.FunctionMetrics(function_name=name, readings=[*read_gauges(name, registry)[0], *read_metrics(registry)])
            for name, registry in self._metrics.items() if len(registry.items()) > 0
        ]

    def close_all(self) -> tuple[list[worker_pb2.UdfError], list[worker_pb2.FunctionMetrics]]:
        """close() of every function, which are then forgotten; what they raised, and their metrics."""
        errors: list[worker_pb2.UdfError] = []
        metrics: list[worker_pb2.FunctionMetrics] = []
        for function in self._functions.values():
            registry = self._metrics.get(function.name, MetricRegistry())
            gauges, gauge_errors = read_gauges(function.name, registry)
            errors.extend(gauge_errors)
            error = self._close_one(function)
            if error is not None:
                errors.append(error)
            metrics.append(worker_pb2.FunctionMetrics(
                function_name=function.name, readings=[*gauges, *read_metrics(registry)],
            ))
        self._functions.clear()
        self._metrics.clear()
        return errors, metrics

    def _close_one(self, function: LoadedFunction) -> Optional[worker_pb2.UdfError]:
        self._hub.current_function = function.name
        try:
            self._concurrent.release(function)
            self._concurrent.run_lifecycle(function.close)
            return None
        except Exception as exc:
            return udf_error(function.name, "close", exc)
        finally:
            flush_output()
            self._hub.current_function = ""


def _batch_rows(data: bytes) -> int:
    return pa.ipc.open_stream(data).read_all().num_rows if data else 0
