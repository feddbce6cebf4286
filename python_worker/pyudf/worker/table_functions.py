"""Table functions in the worker: loading one, and running a batch through it."""
from __future__ import annotations

from array import array as packed_array
from collections.abc import Iterator
from itertools import repeat
from typing import Any, Optional, Sequence

import pyarrow as pa

import pyudf
from pyudf._proto import worker_pb2
from pyudf.table_function import TableFunction, UserDefinedTableFunctionWrapper
from pyudf.types import DataType, parse_type
from pyudf.udf import UserDefinedFunction
from pyudf.worker.batches import ResultTypeError, encode_batch, to_arrow_result
from pyudf.worker.conversions import describe
from pyudf.worker.failures import plain_error, udf_error
from pyudf.worker.loading import (
    FunctionLoadError, HostDeclaration, LoadedFunction, agreed_types, check_arity, location_of, no_lifecycle,
)


def load_table_function(host: HostDeclaration, value: Any) -> LoadedFunction:
    name = host.name
    py_inputs: Optional[list[DataType]] = None
    py_results: Optional[list[DataType]] = None
    if isinstance(value, UserDefinedTableFunctionWrapper):
        py_inputs, py_results = value.input_types, value.result_types
        value = value.func
    if isinstance(value, TableFunction):
        call = value.eval
    elif callable(value):
        call = value
    else:
        raise FunctionLoadError(
            "TypeError", f"table function {name!r} is a {type(value).__name__} {value!r}, which is not callable",
        )
    location = location_of(call)
    ts_inputs = [parse_type(t) for t in host.input_types] if host.input_types is not None else None
    ts_results = [parse_type(t) for t in host.result_types] if host.result_types else None
    input_types = agreed_types(name, "input types", ts_inputs, py_inputs, location)
    result_types = agreed_types(name, "result types", ts_results, py_results, location)
    if not result_types:
        raise FunctionLoadError(
            "SignatureMismatch",
            f"table function {name!r} has no result types: declare them in Python "
            "(udtf(..., result_types=[DataTypes.STRING()])) or pass them to udtf() in TypeScript",
            location,
        )
    if input_types is not None:
        check_arity(name, call, len(input_types), location)
    is_udf = isinstance(value, UserDefinedFunction)
    return LoadedFunction(
        name, call, input_types, None, location,
        value.open if is_udf else no_lifecycle, value.close if is_udf else no_lifecycle,
        category="table", result_types=result_types,
    )


class _BadRow(Exception):
    """A produced row that does not fit the function's result columns."""


def _rows_of(produced: Any) -> Any:
    """What eval gave, as rows: PyFlink's rules (None: no row; a list, range or iterator: its items; else one row)."""
    if produced is None:
        return ()
    if isinstance(produced, (list, range, Iterator)):
        return produced
    return (produced,)


def _fields_of(item: Any, result_types: Sequence[DataType]) -> tuple:
    # pyudf.Row, where the ROW type provides it, is a row of fields like a tuple.
    row_class = getattr(pyudf, "Row", None)
    if isinstance(item, tuple) or (row_class is not None and isinstance(item, row_class)):
        fields = tuple(item)
    else:
        fields = (item,)
    if len(fields) != len(result_types):
        what = "1 value" if len(fields) == 1 else f"{len(fields)} values"
        raise _BadRow(
            f"yielded {describe(item)}, {what}, but it has {len(result_types)} result column(s) "
            f"({', '.join(map(str, result_types))})"
        )
    return fields


def call_table_function(
    function: LoadedFunction, call_id: int, columns: Sequence[Sequence[Any]], num_rows: int,
) -> worker_pb2.CallReply:
    """Calls the function on each row; the reply's batch holds every produced row, in order."""
    result_types = function.result_types or []
    sources: list[int] = []
    produced: list[tuple] = []
    row_errors: list[worker_pb2.UdfError] = []
    call = function.call
    arguments = zip(*columns) if columns else repeat((), num_rows)
    for row, args in enumerate(arguments):
        start = len(produced)
        try:
            for item in _rows_of(call(*args)):
                produced.append(_fields_of(item, result_types))
                sources.append(row)
        except _BadRow as bad:
            return worker_pb2.CallReply(call_id=call_id, error=plain_error(
                function.name, "result", "ResultTypeError", f"{bad} for row {row}", row, function.source_location,
            ))
        # BaseException: sys.exit() in a UDF is the UDF's failure, not the worker's exit.
        except BaseException as exc:
            del produced[start:]
            del sources[start:]
            error = udf_error(function.name, "eval", exc, row)
            if not function.continue_on_error:
                return worker_pb2.CallReply(call_id=call_id, error=error)
            row_errors.append(error)
    try:
        arrays = _result_arrays(produced, result_types)
    except _BadResult as bad:
        row = sources[bad.output_row] if bad.output_row >= 0 else -1
        fields = produced[bad.output_row] if bad.output_row >= 0 else None
        shown = "a row" if fields is None else describe(fields[0] if len(fields) == 1 else fields)
        return worker_pb2.CallReply(call_id=call_id, error=plain_error(
            function.name, "result", "ResultTypeError", f"yielded {shown} for row {row}: {bad}", row,
            function.source_location,
        ))
    batch = pa.RecordBatch.from_arrays(
        # Packed by hand: pa.array() of a list imports pandas on its first call (see batches.to_arrow_result).
        [pa.Array.from_buffers(pa.int32(), len(sources), [None, pa.py_buffer(packed_array("i", sources))]), *arrays],
        names=["row", *(f"f{c}" for c in range(len(result_types)))],
    )
    return worker_pb2.CallReply(call_id=call_id, result=encode_batch(batch), row_errors=row_errors)


class _BadResult(Exception):
    def __init__(self, output_row: int, message: str) -> None:
        super().__init__(message)
        self.output_row = output_row


def _result_arrays(produced: list[tuple], result_types: Sequence[DataType]) -> list[pa.Array]:
    columns = list(zip(*produced)) if produced else [() for _ in result_types]
    arrays = []
    for c, (values, result_type) in enumerate(zip(columns, result_types)):
        try:
            arrays.append(to_arrow_result(list(values), result_type))
        except ResultTypeError as exc:
            value = values[exc.row_index] if exc.row_index >= 0 else None
            raise _BadResult(
                exc.row_index, f"result column {c + 1} ({result_type}) cannot hold {describe(value)}",
            ) from None
    return arrays
