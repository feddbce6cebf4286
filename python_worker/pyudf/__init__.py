"""pyudf: Python user-defined functions for the pyudf table API.

UDF modules written for PyFlink port by changing the import line::

    from pyudf import udf, ScalarFunction, DataTypes, Row
    from pyudf import udtf, TableFunction, udaf, AggregateFunction, ListView, MapView
    from pyudf import udtaf, TableAggregateFunction
"""
from __future__ import annotations

from pyudf.data_view import DataView, ListView, MapView
from pyudf.aggregate_function import AggregateFunction, ImperativeAggregateFunction, UserDefinedAggregateFunctionWrapper, udaf
from pyudf.row import Row, RowKind
from pyudf.table_aggregate_function import TableAggregateFunction, UserDefinedTableAggregateFunctionWrapper, udtaf
from pyudf.table_function import TableFunction, UserDefinedTableFunctionWrapper, udtf
from pyudf.types import DataType, DataTypes
from pyudf.udf import (
    FunctionContext,
    ScalarFunction,
    UserDefinedFunction,
    UserDefinedFunctionWrapper,
    udf,
)

__version__ = "0.1.0"

__all__ = [
    "AggregateFunction",
    "ImperativeAggregateFunction",
    "DataType",
    "DataTypes",
    "DataView",
    "ListView",
    "MapView",
    "FunctionContext",
    "Row",
    "RowKind",
    "ScalarFunction",
    "TableAggregateFunction",
    "TableFunction",
    "UserDefinedAggregateFunctionWrapper",
    "UserDefinedFunction",
    "UserDefinedFunctionWrapper",
    "UserDefinedTableAggregateFunctionWrapper",
    "UserDefinedTableFunctionWrapper",
    "udaf",
    "udf",
    "udtaf",
    "udtf",
    "__version__",
]
