"""Aggregate functions in the worker: loading one, and the accumulators it keeps between calls.

Table aggregate functions (pyudf.worker.table_aggregate_functions) run as aggregates too.

The host numbers the groups of rows; a worker keeps one accumulator per
group (and per use of the function in the job) from the first row it
accumulates until the host asks for the group's value. A worker that dies
takes them along: the host fails the job rather than replay its input.
"""
from __future__ import annotations

import inspect
import pickle
from collections import defaultdict
from typing import Any, Callable, Optional, Sequence

import pyarrow as pa

from pyudf._proto import worker_pb2
from pyudf.aggregate_function import (
    AggregateFunction, UserDefinedAggregateFunctionWrapper, check_pandas_aggregate_result, defines_merge,
)
from pyudf.types import DataType, as_data_type
from pyudf.worker.batches import ResultTypeError, by_argument, column_values, decode_arrays, encode_result, to_arrow_result
from pyudf.worker.conversions import describe
from pyudf.worker.failures import plain_error, udf_error
from pyudf.worker.loading import FunctionLoadError, HostDeclaration, LoadedFunction, agreed_signature, location_of, no_lifecycle


def load_aggregate_function(host: HostDeclaration, value: Any) -> LoadedFunction:
    name = host.name
    py_inputs: Optional[list[DataType]] = None
    py_result: Optional[DataType] = None
    func_type = "general"
    if isinstance(value, UserDefinedAggregateFunctionWrapper):
        py_inputs, py_result, func_type = value.input_types, value.result_type, value.func_type
        value = value.func
    elif isinstance(value, AggregateFunction):
        try:
            py_result = as_data_type(value.get_result_type(), "get_result_type()")
        except (RuntimeError, NotImplementedError):
            py_result = None
    if func_type == "general" and not isinstance(value, AggregateFunction):
        raise FunctionLoadError(
            "TypeError",
            f"aggregate function {name!r} is a {type(value).__name__} {value!r}; an aggregate function is "
            "an AggregateFunction instance, or udaf(f, func_type='pandas') for a function of pandas.Series",
        )
    aggregator: _Aggregator
    if func_type == "general":
        aggregator = RowAggregator(value)
        call: Callable[..., Any] = value.accumulate
        location = location_of(value.accumulate)
    else:
        aggregator = _PandasAggregator(value)
        # An AggregateFunction in pandas form gets each group's Series in accumulate().
        call = value.accumulate if isinstance(value, AggregateFunction) else value
        location = location_of(call)
    input_types, result_type = agreed_aggregate_signature(
        host, "aggregate function", "udaf(..., result_type=DataTypes.DOUBLE())", "udaf()",
        (py_inputs, py_result), location,
    )
    if func_type == "pandas":
        try:
            check_pandas_aggregate_result(result_type)
        except TypeError as exc:
            raise FunctionLoadError("SignatureMismatch", f"aggregate function {name!r}: {exc}", location) from None
    if input_types is not None:
        check_aggregate_arity(name, call, len(input_types), location)
    is_class = isinstance(value, AggregateFunction)
    return LoadedFunction(
        name, call, input_types, result_type, location,
        value.open if is_class else no_lifecycle, value.close if is_class else no_lifecycle,
        category="aggregate", kind=func_type, aggregator=aggregator,
    )


def check_aggregate_arity(name: str, target: Callable[..., Any], arity: int, location: str) -> None:
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return
    # accumulate(acc, *args) is bound: it takes the accumulator, then the arguments.
    passed = arity + 1 if inspect.ismethod(target) and target.__name__ == "accumulate" else arity
    try:
        signature.bind(*([None] * passed))
    except TypeError as exc:
        raise FunctionLoadError(
            "SignatureMismatch",
            f"aggregate function {name!r} is declared with {arity} input type(s) "
            f"but its {target.__name__}{signature} cannot take them: {exc}",
            location,
        ) from None


def has_merge(function: LoadedFunction) -> bool:
    return isinstance(function.aggregator, RowAggregator) and function.aggregator.has_merge


def run_step(function: LoadedFunction, request: worker_pb2.CallRequest) -> worker_pb2.CallReply:
    if function.aggregator is None or not request.HasField("aggregate"):
        # The host's mistake, reported as the worker's (pyudf.InternalError).
        raise ValueError(f"a call of {function.name!r} does not match its category {function.category!r}")
    step = request.aggregate
    aggregator: _Aggregator = function.aggregator
    if step.step == "accumulate":
        return aggregator.accumulate(function, request)
    if step.step == "get_value":
        return aggregator.get_value(function, request.call_id, step.use, step.groups)
    if step.step == "export":
        return aggregator.export(function, request.call_id, step.use, step.groups)
    if step.step == "merge":
        return aggregator.merge(function, request.call_id, step.use, step.groups, step.accumulators)
    raise ValueError(f"unknown aggregate step {step.step!r}")


def _argument_arrays(request: worker_pb2.CallRequest) -> list[pa.Array]:
    return by_argument(request, decode_arrays(request.arguments))


class _Aggregator:
    def accumulate(self, function: LoadedFunction, request: worker_pb2.CallRequest) -> worker_pb2.CallReply:
        raise NotImplementedError

    def get_value(self, function: LoadedFunction, call_id: int, use: int, groups: Sequence[int]) -> worker_pb2.CallReply:
        raise NotImplementedError

    def export(self, function: LoadedFunction, call_id: int, use: int, groups: Sequence[int]) -> worker_pb2.CallReply:
        return self._no_merge(function, call_id)

    def merge(
        self, function: LoadedFunction, call_id: int, use: int, groups: Sequence[int], accumulators: bytes,
    ) -> worker_pb2.CallReply:
        return self._no_merge(function, call_id)

    @staticmethod
    def _no_merge(function: LoadedFunction, call_id: int) -> worker_pb2.CallReply:
        # The host merges only functions that reported has_merge: this is its mistake.
        raise ValueError(f"aggregate function {function.name!r} cannot merge accumulators")

    @staticmethod
    def _values_reply(function: LoadedFunction, call_id: int, values: list[Any]) -> worker_pb2.CallReply:
        result_type = function.result_type
        assert result_type is not None
        try:
            array = to_arrow_result(values, result_type)
        except ResultTypeError as exc:
            value = values[exc.row_index] if exc.row_index >= 0 else None
            message = (
                f"get_value returned None, but the result type is {result_type}" if value is None
                else f"get_value returned {describe(value)}, which is not a {result_type}"
            )
            return worker_pb2.CallReply(call_id=call_id, error=plain_error(
                function.name, "result", "ResultTypeError", message, exc.row_index, function.source_location,
            ))
        return worker_pb2.CallReply(call_id=call_id, result=encode_result(array))


class RowAggregator(_Aggregator):
    """An AggregateFunction: a Python accumulator per group, fed row by row."""

    def __init__(self, func: AggregateFunction) -> None:
        self._func = func
        self.has_merge = defines_merge(func)
        # Per use: group -> accumulator, created on the group's first row.
        self._uses: dict[int, defaultdict[int, Any]] = {}

    def accumulate(self, function: LoadedFunction, request: worker_pb2.CallRequest) -> worker_pb2.CallReply:
        columns = [column_values(array) for array in _argument_arrays(request)]
        groups = request.aggregate.groups
        accumulators = self._uses.get(request.aggregate.use)
        if accumulators is None:
            accumulators = self._uses[request.aggregate.use] = defaultdict(self._func.create_accumulator)
        accumulate, find = self._func.accumulate, accumulators.__getitem__
        row_errors: list[worker_pb2.UdfError] = []
        start = 0
        while True:
            done: list = []
            rest = (groups, columns) if start == 0 else (groups[start:], [column[start:] for column in columns])
            try:
                # map() runs the loop in C; extend() keeps what it did before a failure: its
                # length is the failing row.
                done.extend(map(accumulate, map(find, rest[0]), *rest[1]))
            # BaseException: sys.exit() in a UDF is the UDF's failure, not the worker's exit.
            except BaseException as exc:
                row = start + len(done)
                error = udf_error(function.name, "accumulate", exc, row)
                if not function.continue_on_error:
                    return worker_pb2.CallReply(call_id=request.call_id, error=error)
                # The row is left out of its group; the rest go on after it.
                row_errors.append(error)
                start = row + 1
                continue
            break
        return worker_pb2.CallReply(call_id=request.call_id, row_errors=row_errors)

    def get_value(self, function: LoadedFunction, call_id: int, use: int, groups: Sequence[int]) -> worker_pb2.CallReply:
        accumulators = self._uses.get(use, {})
        values: list[Any] = []
        try:
            for group in groups:
                accumulator = accumulators.pop(group, None)
                if accumulator is None:
                    accumulator = self._func.create_accumulator()
                values.append(self._func.get_value(accumulator))
        except BaseException as exc:
            return worker_pb2.CallReply(call_id=call_id, error=udf_error(function.name, "get_value", exc, len(values)))
        if not accumulators:
            self._uses.pop(use, None)
        return self._values_reply(function, call_id, values)

    def export(self, function: LoadedFunction, call_id: int, use: int, groups: Sequence[int]) -> worker_pb2.CallReply:
        accumulators = self._uses.get(use, {})
        taken = [accumulators.pop(group, None) for group in groups]
        try:
            payload = pickle.dumps(taken, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            error = udf_error(function.name, "merge", exc)
            error.message = f"its accumulators cannot be pickled to be merged across workers: {error.message}"
            return worker_pb2.CallReply(call_id=call_id, error=error)
        return worker_pb2.CallReply(call_id=call_id, accumulators=payload)

    def merge(
        self, function: LoadedFunction, call_id: int, use: int, groups: Sequence[int], accumulators: bytes,
    ) -> worker_pb2.CallReply:
        others = pickle.loads(accumulators)
        mine = self._uses.get(use)
        if mine is None:
            mine = self._uses[use] = defaultdict(self._func.create_accumulator)
        position = 0
        try:
            for position, (group, other) in enumerate(zip(groups, others)):
                if other is None:
                    continue  # the other worker saw no row of this group
                self._func.merge(mine[group], [other])
        except BaseException as exc:
            return worker_pb2.CallReply(call_id=call_id, error=udf_error(function.name, "merge", exc, position))
        return worker_pb2.CallReply(call_id=call_id)


class _PandasAggregator(_Aggregator):
    """A function of pandas.Series: a group's rows are kept, and passed whole at get_value."""

    def __init__(self, func: Callable[..., Any]) -> None:
        # Imported when the function loads: a missing pandas fails the load, not the job half-way.
        import pandas  # noqa: F401

        self._func = func
        self._call: Callable[[list[Any]], Any] = (
            self._aggregate_function if isinstance(func, AggregateFunction) else lambda series: func(*series)
        )
        self._chunks: dict[int, list[tuple[Any, list[pa.Array]]]] = {}
        self._grouped: dict[int, _GroupedRows] = {}

    def _aggregate_function(self, series: list[Any]) -> Any:
        # PyFlink's pandas form of an AggregateFunction: one accumulate() of the group's Series.
        accumulator = self._func.create_accumulator()
        self._func.accumulate(accumulator, *series)
        return self._func.get_value(accumulator)

    def accumulate(self, function: LoadedFunction, request: worker_pb2.CallRequest) -> worker_pb2.CallReply:
        import numpy as np

        groups = np.fromiter(request.aggregate.groups, dtype=np.int64, count=len(request.aggregate.groups))
        self._chunks.setdefault(request.aggregate.use, []).append((groups, _argument_arrays(request)))
        return worker_pb2.CallReply(call_id=request.call_id)

    def get_value(self, function: LoadedFunction, call_id: int, use: int, groups: Sequence[int]) -> worker_pb2.CallReply:
        import pandas as pd

        grouped = self._grouped.get(use)
        if grouped is None:
            grouped = self._grouped[use] = _GroupedRows(self._chunks.pop(use, []), len(function.input_types or []))
        values: list[Any] = []
        try:
            for group in groups:
                value = self._call(grouped.series_of(group))
                # pandas' missing values (NaN, NA, NaT) are SQL's NULL, as in PyFlink.
                if value is not None and pd.api.types.is_scalar(value) and not isinstance(value, (str, bytes)) \
                        and pd.isna(value):
                    value = None
                values.append(value)
        except BaseException as exc:
            return worker_pb2.CallReply(call_id=call_id, error=udf_error(function.name, "get_value", exc, len(values)))
        if grouped.empty:
            del self._grouped[use]
        return self._values_reply(function, call_id, values)


class _GroupedRows:
    """The rows a worker received for one use, sorted by group: each group's are handed out once."""

    def __init__(self, chunks: list[tuple[Any, list[pa.Array]]], declared_arguments: int) -> None:
        import numpy as np

        width = len(chunks[0][1]) if chunks else declared_arguments
        groups = np.concatenate([g for g, _ in chunks]) if chunks else np.empty(0, dtype=np.int64)
        order = np.argsort(groups, kind="stable")
        ordered = groups[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(ordered) else np.empty(0, dtype=np.int64)
        ends = np.r_[starts[1:], len(ordered)]
        self._ranges: dict[int, tuple[int, int]] = dict(zip(ordered[starts].tolist(), zip(starts.tolist(), ends.tolist())))
        taken = pa.array(order)
        # Converted as vectorized scalar functions get their columns (integers with NULLs
        # as nullable Int64, not float64; a ROW as a DataFrame), then sliced per group.
        from pyudf.worker.pandas_values import as_pandas

        self._columns = [
            as_pandas(pa.concat_arrays([arrays[c] for _, arrays in chunks]).take(taken)) if chunks
            else pa.array([], type=pa.null()).to_pandas()
            for c in range(width)
        ]

    def series_of(self, group: int) -> list[Any]:
        start, end = self._ranges.pop(group, (0, 0))
        return [column.iloc[start:end].reset_index(drop=True) for column in self._columns]

    @property
    def empty(self) -> bool:
        return not self._ranges


def agreed_aggregate_signature(
    host: HostDeclaration, kind: str, python_declaration: str, typescript_declaration: str,
    python: tuple, location: Any,
) -> tuple:
    """The input and result types both sides agree on; an aggregate without a result type is refused."""
    name = host.name
    input_types, result_type = agreed_signature(host, *python, location)
    if result_type is None:
        raise FunctionLoadError(
            "SignatureMismatch",
            f"{kind} {name!r} has no result type: declare it in Python "
            f"({python_declaration} or get_result_type()) or pass it to {typescript_declaration} in TypeScript",
            location,
        )
    return input_types, result_type
