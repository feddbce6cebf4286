"""Loading a function of any kind: its expression resolved, then the loader of its kind.

The one place that knows every kind: the kinds' modules build on pyudf.worker.loading
and never import this one.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from pyudf.aggregate_function import AggregateFunction, UserDefinedAggregateFunctionWrapper
from pyudf.table_aggregate_function import TableAggregateFunction, UserDefinedTableAggregateFunctionWrapper
from pyudf.table_function import TableFunction, UserDefinedTableFunctionWrapper
from pyudf.udf import ScalarFunction, UserDefinedFunction, UserDefinedFunctionWrapper
from pyudf.worker.aggregate_functions import load_aggregate_function
from pyudf.worker.loading import FunctionLoadError, HostDeclaration, LoadedFunction, location_of, resolve_callable
from pyudf.worker.scalar_functions import load_scalar_function
from pyudf.worker.table_aggregate_functions import load_table_aggregate_function
from pyudf.worker.table_functions import load_table_function

# Category (FunctionSpec.category, LoadedFunction.category) -> its loader.
LOADERS: dict[str, Callable[[HostDeclaration, Any], LoadedFunction]] = {
    "scalar": load_scalar_function,
    "table": load_table_function,
    "aggregate": load_aggregate_function,
    "table_aggregate": load_table_aggregate_function,
}


def load_function(
    name: str,
    expression: str,
    host_input_types: Optional[list[str]],
    host_result_type: Optional[str],
    host_category: str = "",
    host_result_types: Optional[list[str]] = None,
    host_func_type: str = "",
    host_concurrency: int = 0,
    host_io_threads: int = 0,
) -> LoadedFunction:
    host = HostDeclaration(
        name, expression, host_input_types, host_result_type, host_category, host_result_types,
        host_func_type, host_concurrency, host_io_threads,
    )
    value = resolve_callable(name, expression)
    if isinstance(value, type) and issubclass(value, UserDefinedFunction):
        value = value()
    # A category the worker does not know (the host sends only these) loads as a scalar function.
    return LOADERS.get(_category_of(name, value, host.category), load_scalar_function)(host, value)


def _category_of(name: str, value: Any, host_category: str) -> str:
    """What the function is: its Python declaration decides, the host's must agree."""
    declared = ""
    if isinstance(value, (TableFunction, UserDefinedTableFunctionWrapper)):
        declared = "table"
    elif isinstance(value, (TableAggregateFunction, UserDefinedTableAggregateFunctionWrapper)):
        declared = "table_aggregate"
    elif isinstance(value, (AggregateFunction, UserDefinedAggregateFunctionWrapper)):
        declared = "aggregate"
    elif isinstance(value, (ScalarFunction, UserDefinedFunctionWrapper)):
        declared = "scalar"
    if host_category and declared and host_category != declared:
        raise FunctionLoadError(
            "SignatureMismatch",
            f"function {name!r}: TypeScript declares a {host_category} function, "
            f"Python a {declared} function",
            location_of(value),
        )
    return declared or host_category or "scalar"
