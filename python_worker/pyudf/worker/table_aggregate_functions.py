"""Table aggregate functions in the worker: loading one, run as an aggregate function.

Its accumulators are an aggregate's (pyudf.worker.aggregate_functions); a group's
value is the list of rows emit_value() yields, which the host unnests.
"""
from __future__ import annotations

from typing import Any, Optional

from pyudf.aggregate_function import AggregateFunction
from pyudf.table_aggregate_function import (
    TableAggregateFunction, UserDefinedTableAggregateFunctionWrapper, check_table_aggregate_result, declared_type,
)
from pyudf.types import ArrayType, DataType, as_data_type
from pyudf.worker.aggregate_functions import RowAggregator, agreed_aggregate_signature, check_aggregate_arity
from pyudf.worker.loading import FunctionLoadError, HostDeclaration, LoadedFunction, location_of


class _EmittedRows(AggregateFunction):
    """A TableAggregateFunction as an aggregate whose value is the list of rows emit_value() yields."""

    def __init__(self, func: TableAggregateFunction) -> None:
        self._func = func
        self.create_accumulator = func.create_accumulator  # type: ignore[method-assign]
        self.accumulate = func.accumulate  # type: ignore[method-assign]
        self.merge = func.merge  # type: ignore[method-assign]

    def get_value(self, accumulator: Any) -> Any:
        return list(self._func.emit_value(accumulator))


def load_table_aggregate_function(host: HostDeclaration, value: Any) -> LoadedFunction:
    """Runs as an aggregate whose value per group is ARRAY<ROW>: the rows the host unnests."""
    name = host.name
    py_inputs: Optional[list[DataType]] = None
    py_result: Optional[DataType] = None
    if isinstance(value, UserDefinedTableAggregateFunctionWrapper):
        py_inputs, py_result = value.input_types, value.result_type
        value = value.func
    elif isinstance(value, TableAggregateFunction):
        declared = declared_type(value.get_result_type)
        py_result = as_data_type(declared, "get_result_type()") if declared is not None else None
    location = location_of(value.accumulate)
    input_types, result_type = agreed_aggregate_signature(
        host, "table aggregate function", "udtaf(..., result_type=DataTypes.ROW([...]))", "udtaf()",
        (py_inputs, py_result), location,
    )
    try:
        check_table_aggregate_result(result_type)
    except TypeError as exc:
        raise FunctionLoadError("SignatureMismatch", f"table aggregate function {name!r}: {exc}", location) from None
    if input_types is not None:
        check_aggregate_arity(name, value.accumulate, len(input_types), location)
    aggregator = RowAggregator(_EmittedRows(value))
    aggregator.has_merge = type(value).merge is not TableAggregateFunction.merge
    return LoadedFunction(
        name, value.accumulate, input_types, ArrayType(result_type, nullable=False), location, value.open, value.close,
        category="table_aggregate", kind="general", aggregator=aggregator,
    )
