"""Vectorized functions (func_type="pandas"): Arrow columns in as pandas.Series, one Series out.

Arguments: a number column without NULLs is a read-only view of the
received batch (no copy). NULLs arrive as pandas has them: NaN in a float
column, ``pd.NA`` in an integer or boolean column (pandas' nullable Int64 and
boolean, so no integer is rounded through a float), NaN in a string column,
None among bytes.

The result must be a pandas.Series of one value per row (PyFlink's rule),
whose dtype is the declared type's: no float is rounded into an integer, no
number turned into text. Values of the other types (DECIMAL, DATE, TIMESTAMP,
ARRAY...) arrive as pandas makes them from Arrow, mostly Python objects, and
results of those types are checked value by value as a row function's are. A missing value (NaN, None, ``pd.NA``) is NULL: in
pandas NaN marks missing data, so a vectorized function cannot return a
DOUBLE NaN as a value.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pyudf.types import DataType
from pyudf.worker.batches import ResultTypeError, to_arrow_result

_NULLABLE_PANDAS_TYPES: dict[pa.DataType, Any] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}

_INTEGER_RANGES = {
    "TINYINT": (-(2 ** 7), 2 ** 7 - 1),
    "SMALLINT": (-(2 ** 15), 2 ** 15 - 1),
    "INT": (-(2 ** 31), 2 ** 31 - 1),
    "BIGINT": (-(2 ** 63), 2 ** 63 - 1),
}
_FLOAT32_MAX = 3.4028234663852886e38
# Types whose Series dtypes are checked as a whole; the others (DECIMAL, DATE, TIME,
# TIMESTAMP, ARRAY, MAP, ROW) are checked value by value, whatever the dtype.
_SERIES_TYPES = {*_INTEGER_RANGES, "FLOAT", "DOUBLE", "BOOLEAN", "STRING", "BYTES"}

READ_ONLY_HINT = (
    " (the Series a vectorized function receives are read-only views of the batch: "
    "change a copy, s = s.copy())"
)


def arguments_as_series(columns: list[pa.Array]) -> list[pd.Series]:
    return [_as_series(column) for column in columns]


def _as_series(column: pa.Array) -> pd.Series:
    if column.null_count and column.type in _NULLABLE_PANDAS_TYPES:
        return column.to_pandas(types_mapper=_NULLABLE_PANDAS_TYPES.get)
    return column.to_pandas()


def series_to_arrow(result: Any, num_rows: int, result_type: DataType) -> pa.Array:
    """Checks a vectorized function's result against its declared type and converts it."""
    if not isinstance(result, pd.Series):
        raise ResultTypeError(-1, (
            f"returned {_type_name(result)}, but a vectorized function (func_type='pandas') "
            "must return a pandas.Series of one value per row"
        ))
    if len(result) != num_rows:
        raise ResultTypeError(-1, (
            f"returned a Series of {len(result)} value(s) for a batch of {num_rows} row(s); "
            "a vectorized function returns one value per row"
        ))
    type_name = result_type.type_name
    dtype = result.dtype
    if pd.api.types.is_object_dtype(dtype) or type_name not in _SERIES_TYPES:
        # Python objects: each is checked as a row function's result would be.
        values = [None if _is_missing(v) else v for v in result.tolist()]
        return to_arrow_result(values, result_type)
    if not _dtype_fits(dtype, type_name):
        raise ResultTypeError(-1, (
            f"returned a Series of dtype {dtype}, which is not a {result_type}{_cast_hint(dtype, type_name)}"
        ))
    if type_name in _INTEGER_RANGES:
        _check_range(result, *_INTEGER_RANGES[type_name], result_type)
    elif type_name == "FLOAT":
        _check_float32(result, result_type)
    try:
        array = pa.Array.from_pandas(result, type=result_type.to_arrow(), safe=True)
    except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
        raise ResultTypeError(-1, f"returned a Series that does not convert to {result_type}: {exc}") from None
    if array.null_count and not result_type.nullable:
        row = _first_null(array)
        raise ResultTypeError(row, (
            f"returned a missing value (NaN, None or NA) for row {row}, but the result type is {result_type}"
        ))
    return array


def _type_name(value: Any) -> str:
    cls = type(value)
    module = cls.__module__
    name = cls.__qualname__ if module == "builtins" else f"{module.split('.')[0]}.{cls.__qualname__}"
    return f"{name} {_short_repr(value)}"


def _short_repr(value: Any) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _dtype_fits(dtype: Any, type_name: str) -> bool:
    types = pd.api.types
    if type_name == "BOOLEAN":
        return types.is_bool_dtype(dtype)
    if types.is_bool_dtype(dtype):
        return False  # True is not 1 here, as in a row function's result
    if type_name in _INTEGER_RANGES:
        return types.is_integer_dtype(dtype)
    if type_name in ("FLOAT", "DOUBLE"):
        return types.is_float_dtype(dtype) or types.is_integer_dtype(dtype)
    if type_name == "STRING":
        return isinstance(dtype, pd.StringDtype) or (
            isinstance(dtype, pd.ArrowDtype) and pa.types.is_string(dtype.pyarrow_dtype)
        )
    if type_name == "BYTES":
        return isinstance(dtype, pd.ArrowDtype) and pa.types.is_binary(dtype.pyarrow_dtype)
    return False


def _cast_hint(dtype: Any, type_name: str) -> str:
    if type_name in _INTEGER_RANGES and pd.api.types.is_float_dtype(dtype):
        return ": floats are not rounded into integers; convert explicitly, e.g. .round().astype('Int64')"
    return ""


def _check_range(result: pd.Series, low: int, high: int, result_type: DataType) -> None:
    # Range checks cost a pass over the data only when the dtype can hold a value out of range.
    info = np.iinfo(result.dtype.numpy_dtype if hasattr(result.dtype, "numpy_dtype") else result.dtype)
    if info.min >= low and info.max <= high:
        return
    outside = ((result < low) | (result > high))
    if isinstance(outside.dtype, pd.BooleanDtype):
        outside = outside.fillna(False)
    rows = np.flatnonzero(outside.to_numpy(dtype=bool))
    if rows.size:
        row = int(rows[0])
        raise ResultTypeError(row, (
            f"returned {result.iloc[row]} for row {row}, which is out of range for {result_type}"
        ))


def _check_float32(result: pd.Series, result_type: DataType) -> None:
    if not pd.api.types.is_float_dtype(result.dtype):
        return
    values = result.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        rows = np.flatnonzero(np.isfinite(values) & (np.abs(values) > _FLOAT32_MAX))
    if rows.size:
        row = int(rows[0])
        raise ResultTypeError(row, (
            f"returned {values[row]} for row {row}, which is out of range for {result_type}"
        ))


def _first_null(array: pa.Array) -> int:
    rows = np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))
    return int(rows[0]) if rows.size else -1
