"""Vectorized functions (func_type="pandas"): Arrow columns in as pandas.Series, one Series out.

Arguments: a number column without NULLs is a read-only view of the
received batch (no copy). NULLs arrive as pandas has them: NaN in a float
column, ``pd.NA`` in an integer or boolean column (pandas' nullable Int64 and
boolean, so no integer is rounded through a float), NaN in a string column,
None among bytes. The other types arrive as PyFlink gives them (see
pandas_values): a ROW as a DataFrame.

The result must be a pandas.Series of one value per row (PyFlink's rule; a
DataFrame for a ROW), whose dtype is the declared type's: no float is rounded
into an integer, no number turned into text. Results of the other types
(DECIMAL, DATE, TIMESTAMP, ARRAY...) are checked value by value as a row
function's are, after numpy and pandas values become plain Python ones; a
datetime64 Series is checked as a whole. A missing value (NaN, None, ``pd.NA``,
NaT) is NULL, at any depth: in pandas NaN marks missing data, so a vectorized
function cannot return a DOUBLE NaN as a value.
"""
from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np
import pandas as pd
import pyarrow as pa

from pyudf.types import ArrayType, DataType, RowType
from pyudf.worker.batches import ResultTypeError, to_arrow_result
from pyudf.worker.conversions import results_to_arrow
from pyudf.worker.pandas_values import as_pandas, datetimes_to_arrow, decimals_to_arrow, frame_columns, plain_value, series_values

_INTEGER_RANGES = {
    "TINYINT": (-(2 ** 7), 2 ** 7 - 1),
    "SMALLINT": (-(2 ** 15), 2 ** 15 - 1),
    "INT": (-(2 ** 31), 2 ** 31 - 1),
    "BIGINT": (-(2 ** 63), 2 ** 63 - 1),
}
_FLOAT32_MAX = 3.4028234663852886e38
# Types whose Series dtypes are checked as a whole; the others (DECIMAL, DATE, TIME,
# TIMESTAMP, ARRAY, MAP, ROW) value by value whatever the dtype, but for datetime64 Series.
_SERIES_TYPES = {*_INTEGER_RANGES, "FLOAT", "DOUBLE", "BOOLEAN", "STRING", "BYTES"}
_DATETIME_TYPES = {"DATE", "TIMESTAMP", "TIMESTAMP_LTZ"}

READ_ONLY_HINT = (
    " (the Series a vectorized function receives are read-only views of the batch: "
    "change a copy, s = s.copy())"
)


def arguments_as_series(columns: list[pa.Array]) -> list[Union[pd.Series, pd.DataFrame]]:
    return [as_pandas(column) for column in columns]


def series_to_arrow(result: Any, num_rows: int, result_type: DataType) -> pa.Array:
    """Checks a vectorized function's result against its declared type and converts it."""
    is_frame = isinstance(result, pd.DataFrame) and isinstance(result_type, RowType)
    if not isinstance(result, pd.Series) and not is_frame:
        raise ResultTypeError(-1, (
            f"returned {_type_name(result)}, but a vectorized function (func_type='pandas') "
            "must return a pandas.Series of one value per row"
            + (" (or, for a ROW, a DataFrame of a column per field)" if isinstance(result_type, RowType) else "")
        ))
    if len(result) != num_rows:
        raise ResultTypeError(-1, (
            f"returned a {type(result).__name__} of {len(result)} value(s) for a batch of {num_rows} row(s); "
            "a vectorized function returns one value per row"
        ))
    if is_frame:
        return _frame_to_arrow(result, result_type)
    type_name = result_type.type_name
    dtype = result.dtype
    if type_name in _DATETIME_TYPES and pd.api.types.is_datetime64_any_dtype(dtype):
        return datetimes_to_arrow(result, result_type)
    if type_name not in _SERIES_TYPES:
        values = series_values(result)
        whole = _whole(values, result_type)
        if whole is not None:
            return whole
        # Each value is checked as a row function's result would be, once numpy and pandas made it plain.
        return results_to_arrow(values, result_type, plain_value(result_type))
    if pd.api.types.is_object_dtype(dtype) or getattr(result_type, "length", None) is not None:
        # Object values, and strings or bytes whose length is checked, value by value.
        return to_arrow_result(series_values(result), result_type)
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


def _whole(values: list[Any], result_type: DataType) -> Optional[pa.Array]:
    """The results converted in one go where that is as exact as value by value, or None:
    the values are then checked one by one, which also names the first row that does not fit."""
    if result_type.type_name == "DECIMAL":
        return decimals_to_arrow(values, result_type)
    if isinstance(result_type, ArrayType):
        return _numpy_arrays_to_arrow(values, result_type)
    return None


def _numpy_arrays_to_arrow(values: list[Any], result_type: ArrayType) -> Optional[pa.Array]:
    """ARRAY values that are numpy arrays of one dtype (as they arrive), as one Series of
    their elements checked like a Series result, then cut back into arrays."""
    arrays = [value for value in values if value is not None]
    if not arrays or not all(isinstance(a, np.ndarray) and a.ndim == 1 for a in arrays):
        return None
    if len({a.dtype for a in arrays}) != 1 or (len(arrays) < len(values) and not result_type.nullable):
        return None
    lengths = np.fromiter((0 if value is None else len(value) for value in values), dtype=np.int64, count=len(values))
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] > np.iinfo(np.int32).max:
        return None
    elements = pd.Series(np.concatenate(arrays), copy=False)
    try:
        flat = series_to_arrow(elements, len(elements), result_type.element_type)
    except ResultTypeError:
        return None
    mask = pa.array([value is None for value in values]) if len(arrays) < len(values) else None
    return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), flat, type=result_type.to_arrow(), mask=mask)


def _frame_to_arrow(frame: pd.DataFrame, row_type: RowType) -> pa.Array:
    """A DataFrame for a ROW, a column per field, each checked as a Series of the field's type.

    A row whose fields are all missing is NULL (a NULL row arrives so), unless the ROW type is NOT NULL."""
    arrays = []
    for field, (label, column) in zip(row_type.fields, frame_columns(frame, row_type)):
        try:
            # NOT NULL fields are checked below, where a NULL row excuses them.
            arrays.append(series_to_arrow(column, len(frame), field.data_type.as_nullable()))
        except ResultTypeError as exc:
            raise ResultTypeError(exc.row_index, (
                f"returned a DataFrame whose column {label!r} does not fit field {field.name!r} of {row_type}: {exc}"
            )) from None
    missing = np.ones(len(frame), dtype=bool)
    for array in arrays:
        missing &= array.is_null().to_numpy(zero_copy_only=False)
    null_rows = missing if row_type.nullable else np.zeros(len(frame), dtype=bool)
    for field, array in zip(row_type.fields, arrays):
        if not field.data_type.nullable:
            rows = np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False) & ~null_rows)
            if rows.size:
                row = int(rows[0])
                raise ResultTypeError(row, (
                    f"returned a DataFrame whose row {row} has no value in field {field.name!r}, "
                    f"but {row_type} declares it {field.data_type}"
                ))
    return pa.StructArray.from_arrays(
        arrays, fields=list(row_type.to_arrow()), mask=pa.array(null_rows) if null_rows.any() else None,
    )


def _type_name(value: Any) -> str:
    cls = type(value)
    module = cls.__module__
    name = cls.__qualname__ if module == "builtins" else f"{module.split('.')[0]}.{cls.__qualname__}"
    return f"{name} {_short_repr(value)}"


def _short_repr(value: Any) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


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
