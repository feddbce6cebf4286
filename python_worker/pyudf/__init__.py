"""pyudf: Python user-defined functions for the pyudf table API.

UDF modules written for PyFlink port by changing the import line::

    from pyudf import udf, ScalarFunction, DataTypes, Row
"""
from __future__ import annotations

from pyudf.row import Row, RowKind
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
    "DataType",
    "DataTypes",
    "FunctionContext",
    "Row",
    "RowKind",
    "ScalarFunction",
    "UserDefinedFunction",
    "UserDefinedFunctionWrapper",
    "udf",
    "__version__",
]
