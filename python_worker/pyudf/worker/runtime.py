"""The functions a worker has loaded, and running one batch through one of them."""
from __future__ import annotations

import sys
from typing import Callable, Iterable, Optional

from pyudf._proto import worker_pb2
from pyudf.udf import FunctionContext
from pyudf.worker.aggregates import has_merge, run_step
from pyudf.worker.batches import ResultTypeError, decode_arguments, encode_result, to_arrow_result
from pyudf.worker.failures import add_library_dir, plain_error, udf_error
from pyudf.worker.functions import FunctionLoadError, LoadedFunction, load_function
from pyudf.worker.logs import LogHub, flush_output
from pyudf.worker.table_calls import call_table_function


class FunctionRuntime:
    def __init__(self, hub: LogHub) -> None:
        self._hub = hub
        self._functions: dict[str, LoadedFunction] = {}

    def load(self, request: worker_pb2.LoadFunctionsRequest) -> worker_pb2.LoadFunctionsReply:
        for path in reversed([*request.python_paths, *request.library_paths]):
            if path not in sys.path:
                sys.path.insert(0, path)
        for path in request.library_paths:
            add_library_dir(path)
        loaded: dict[str, LoadedFunction] = {}
        for spec in request.functions:
            self._hub.current_function = spec.name
            try:
                loaded[spec.name] = load_function(
                    spec.name,
                    spec.callable,
                    list(spec.input_types) if spec.has_input_types else None,
                    spec.result_type or None,
                    spec.category,
                    list(spec.result_types) or None,
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
        context = FunctionContext(dict(request.job_parameters))
        opened: list[LoadedFunction] = []
        for function in loaded.values():
            self._hub.current_function = function.name
            try:
                function.open(context)
                opened.append(function)
            except Exception as exc:
                for done in opened:
                    self._close_one(done)
                return worker_pb2.LoadFunctionsReply(error=udf_error(function.name, "open", exc))
            finally:
                flush_output()
                self._hub.current_function = ""
        self._functions.update(loaded)
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
            return self._as(function, lambda: run_step(function, request))
        columns = decode_arguments(request.arguments)
        if request.argument_columns:
            columns = [columns[index] for index in request.argument_columns]
        num_rows = len(columns[0]) if columns else request.num_rows
        if function.category == "table":
            return self._as(function, lambda: call_table_function(function, request.call_id, columns, num_rows))
        results: list = []
        row_errors: list = []
        self._hub.current_function = function.name
        try:
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
                        call_id=request.call_id, error=udf_error(function.name, "eval", exc, len(results)),
                    )
                row_errors.append(udf_error(function.name, "eval", exc, len(results)))
                results.append(None)
            if row_errors:
                # Outside the except clause: a later row's exception must not chain onto this
                # row's ("During handling of the above exception...") in its traceback.
                self._finish_rows(function, columns, num_rows, results, row_errors)
        finally:
            flush_output()
            self._hub.current_function = ""
        result_type = function.result_type
        if row_errors and not result_type.nullable:
            result_type = result_type.as_nullable()  # the failed rows' NULLs are the policy's, not the function's
        try:
            array = to_arrow_result(results, result_type)
        except ResultTypeError as exc:
            return worker_pb2.CallReply(call_id=request.call_id, error=plain_error(
                function.name, "result", "ResultTypeError", str(exc), exc.row_index, function.source_location,
            ))
        return worker_pb2.CallReply(call_id=request.call_id, result=encode_result(array), row_errors=row_errors)

    def _as(self, function: LoadedFunction, run: Callable[[], worker_pb2.CallReply]) -> worker_pb2.CallReply:
        """Runs a call of `function`, its output tagged with its name."""
        self._hub.current_function = function.name
        try:
            return run()
        finally:
            flush_output()
            self._hub.current_function = ""

    @staticmethod
    def _finish_rows(function: LoadedFunction, columns: list, num_rows: int, results: list, row_errors: list) -> None:
        """After a row raised under continue_on_error: the rest one by one, each failure recorded."""
        call = function.call
        for row in range(len(results), num_rows):
            try:
                results.append(call(*(column[row] for column in columns)))
            except BaseException as exc:
                row_errors.append(udf_error(function.name, "eval", exc, row))
                results.append(None)

    def close_all(self) -> Iterable[worker_pb2.UdfError]:
        errors = [e for e in map(self._close_one, self._functions.values()) if e is not None]
        self._functions.clear()
        return errors

    def _close_one(self, function: LoadedFunction) -> Optional[worker_pb2.UdfError]:
        self._hub.current_function = function.name
        try:
            function.close()
            return None
        except Exception as exc:
            return udf_error(function.name, "close", exc)
        finally:
            flush_output()
            self._hub.current_function = ""
