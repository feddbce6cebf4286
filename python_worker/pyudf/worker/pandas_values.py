"""Every SQL type between Arrow and pandas for vectorized functions, as PyFlink's pandas
functions have them, and exact.

In, a column becomes what PyFlink gives (``pyarrow.Array.to_pandas``): decimal.Decimal,
datetime.date and datetime.time objects for DECIMAL, DATE and TIME; datetime64 of the
precision's unit for TIMESTAMP (NaT for NULL), in UTC for TIMESTAMP_LTZ; a numpy array per
ARRAY value, a list of (key, value) tuples per MAP value, and a DataFrame with a column per
field for a ROW (a NULL row is a row whose fields are all missing). Where plain to_pandas
would lose something it does not here: integers with NULLs among them are never floats (an
Int64 Series, or Python ints and None inside arrays, maps and rows), and TIMESTAMP_LTZ values
inside an ARRAY stay aware.

Out, a result becomes the plain Python values the result checks take (numpy arrays become
lists, (key, value) pairs a dict, pandas and numpy datetimes datetime.datetime, missing values
None at any depth), or goes to Arrow whole when it is a datetime64 Series.
"""
from __future__ import annotations

import datetime
import decimal
import functools
import math
from collections.abc import Mapping
from typing import Any, Callable, Optional, Union

import numpy as np
import pandas as pd
import pyarrow as pa

from pyudf import types as t
from pyudf.row import Row, make_row
from pyudf.worker.conversions import Misfit, ResultTypeError, describe

_NULLABLE_PANDAS_TYPES: dict[pa.DataType, Any] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}

# ---- Arrow to pandas ----------------------------------------------------------------------


def as_pandas(column: pa.Array) -> Union[pd.Series, pd.DataFrame]:
    """A column as a vectorized function is given it: a DataFrame for a ROW, else a Series."""
    if pa.types.is_struct(column.type):
        # flatten() folds the row's NULL into each field, as PyFlink's DataFrame has it.
        fields = list(zip(column.type, column.flatten()))
        if not any(pa.types.is_struct(field.type) for field, _ in fields):
            return pd.DataFrame({field.name: _as_series(child) for field, child in fields})
        # A ROW inside the ROW has its fields spliced in among the others, as PyFlink's
        # DataFrame is the concatenation of its fields' columns.
        return pd.concat([
            as_pandas(child) if pa.types.is_struct(field.type) else _as_series(child).rename(field.name)
            for field, child in fields
        ], axis=1)
    return _as_series(column)


def _as_series(column: pa.Array) -> pd.Series:
    arrow_type = column.type
    if column.null_count and arrow_type in _NULLABLE_PANDAS_TYPES:
        return column.to_pandas(types_mapper=_NULLABLE_PANDAS_TYPES.get)
    if not pa.types.is_nested(arrow_type):
        return column.to_pandas()
    # Without integer_object_nulls, integers inside a nested column with any NULL become floats.
    series = column.to_pandas(integer_object_nulls=True)
    make_aware = _zone_keeper(arrow_type)
    if make_aware is not None:
        series = series.map(make_aware, na_action="ignore")
    return series


@functools.lru_cache(maxsize=64)
def _zone_keeper(arrow_type: pa.DataType) -> Optional[Callable[[Any], Any]]:
    """What gives the TIMESTAMP_LTZ values inside one nested value their zone back, where
    to_pandas leaves them naive (numpy arrays of datetime64 hold no zone); None if none does."""
    if pa.types.is_list(arrow_type):
        element = arrow_type.value_type
        if pa.types.is_timestamp(element) and element.tz is not None:
            return _aware
        inner = _zone_keeper(element)
        if inner is None:
            return None
        return lambda values: _object_array([None if v is None else inner(v) for v in values])
    if pa.types.is_map(arrow_type):
        inner = _zone_keeper(arrow_type.item_type)
        if inner is None:
            return None
        return lambda pairs: [(k, None if v is None else inner(v)) for k, v in pairs]
    if pa.types.is_struct(arrow_type):
        keepers = {field.name: _zone_keeper(field.type) for field in arrow_type}
        keepers = {name: keeper for name, keeper in keepers.items() if keeper is not None}
        if not keepers:
            return None
        return lambda row: {
            name: v if v is None or name not in keepers else keepers[name](v) for name, v in row.items()
        }
    return None


def _aware(values: np.ndarray) -> np.ndarray:
    # Inside a map or a row, to_pandas already gives aware datetime objects.
    if values.dtype.kind != "M":
        return values
    return pd.DatetimeIndex(values).tz_localize("UTC").to_numpy(dtype=object)


def _object_array(items: list[Any]) -> np.ndarray:
    # np.array(items) would make one 2-D array of equally long inner arrays.
    array = np.empty(len(items), dtype=object)
    for index, item in enumerate(items):
        array[index] = item
    return array


# ---- pandas to plain Python values -------------------------------------------------------------


def is_missing(value: Any) -> bool:
    """pandas' missing values, which are NULL in a vectorized function's result."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    if isinstance(value, decimal.Decimal):
        return value.is_nan()
    return False


def series_values(series: pd.Series) -> list[Any]:
    return [None if is_missing(value) else value for value in series.tolist()]


Prepare = Callable[[Any], Any]


@functools.lru_cache(maxsize=256)
def plain_value(data_type: t.DataType) -> Prepare:
    """Turns one non-missing value a vectorized function returned for ``data_type`` into the
    plain Python value the result checks take; what it does not recognise it leaves for them
    to refuse."""
    if isinstance(data_type, t.ArrayType):
        return _plain_array(data_type)
    if isinstance(data_type, t.MapType):
        return _plain_map(data_type)
    if isinstance(data_type, t.RowType):
        return _plain_row(data_type)
    if isinstance(data_type, (t.TimestampType, t.LocalZonedTimestampType)):
        return _plain_datetime
    if data_type.type_name == "DATE":
        return _plain_date
    return _same


def _same(value: Any) -> Any:
    return value


def _inner(data_type: t.DataType) -> Prepare:
    prepare = plain_value(data_type)
    return lambda value: None if is_missing(value) else prepare(value)


def _at(where: str, prepare: Prepare, value: Any) -> Any:
    try:
        return prepare(value)
    except Misfit as misfit:
        misfit.path.append(where)
        raise


def _plain_datetime(value: Any) -> Any:
    if isinstance(value, np.datetime64):
        return _datetime_of(value)
    if isinstance(value, pd.Timestamp):
        if value.nanosecond:
            raise Misfit(value, "has nanoseconds, which no SQL timestamp holds (microseconds at most)")
        return value.to_pydatetime()
    return value


def _datetime_of(value: np.datetime64) -> Any:
    unit, _ = np.datetime_data(value.dtype)
    if unit in ("ps", "fs", "as") or (unit == "ns" and value.astype("int64") % 1000):
        raise Misfit(value, "has nanoseconds, which no SQL timestamp holds (microseconds at most)")
    moment = value.astype("datetime64[us]").item()
    if not isinstance(moment, datetime.datetime):
        raise Misfit(value, "is outside years 0001 to 9999")
    return moment


def _plain_date(value: Any) -> Any:
    if isinstance(value, (np.datetime64, pd.Timestamp)):
        moment = _plain_datetime(value)
        if moment.tzinfo is not None or moment.time() != datetime.time():
            raise Misfit(value, "is not a DATE: a datetime is one only at midnight without a time zone")
        return moment.date()
    return value


def _plain_array(data_type: t.ArrayType) -> Prepare:
    element = _inner(data_type.element_type)

    def plain_array(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            if value.ndim != 1:
                raise Misfit(value, f"is a {value.ndim}-dimensional numpy array, but an {data_type.sql_text()} "
                                    "value is one-dimensional (an array of arrays for ARRAY<ARRAY<...>>)")
        elif not isinstance(value, (list, tuple)) or isinstance(value, Row):
            return value
        # Item by item, not tolist(): that turns datetime64[ns] into ints.
        return [_at(f"element [{index}]", element, item) for index, item in enumerate(value)]

    return plain_array


def _plain_map(data_type: t.MapType) -> Prepare:
    key_of, value_of = _inner(data_type.key_type), _inner(data_type.value_type)
    text = data_type.sql_text()

    def plain_map(value: Any) -> Any:
        if isinstance(value, Mapping):
            pairs: Any = value.items()
        elif isinstance(value, (list, tuple, np.ndarray)) and not isinstance(value, Row):
            pairs = value
        else:
            return value
        entries: dict[Any, Any] = {}
        for pair in pairs:
            if not isinstance(pair, (tuple, list, np.ndarray)) or len(pair) != 2:
                raise Misfit(value, f"is not a {text}: {describe(pair)} is not a (key, value) pair")
            key = _at("a key", key_of, pair[0])
            try:
                seen = key in entries
            except TypeError:
                raise Misfit(value, f"is not a {text}: its key {describe(key)} is not a "
                                    f"{data_type.key_type.sql_text()}") from None
            if seen:
                raise Misfit(value, f"has the key {key!r} twice, which a {text} cannot hold")
            entries[key] = _at(f"value of key {key!r}", value_of, pair[1])
        return entries

    return plain_map


def _plain_row(data_type: t.RowType) -> Prepare:
    names = data_type.field_names()
    fields = {field.name: _inner(field.data_type) for field in data_type.fields}

    def plain_row(value: Any) -> Any:
        if isinstance(value, Row) and value.__dict__.get("_fields") is not None:
            if sorted(value._fields) != sorted(names):
                return value
            return make_row(value._fields, [
                _at(f"field {name!r}", fields[name], item) for name, item in zip(value._fields, value)
            ])
        if isinstance(value, Mapping):
            return {name: _at(f"field {name!r}", fields[name], item) if name in fields else item
                    for name, item in value.items()}
        if isinstance(value, (Row, tuple, list)) and len(value) == len(names):
            return [_at(f"field {name!r}", fields[name], item) for name, item in zip(names, value)]
        return value

    return plain_row


# ---- pandas to Arrow as a whole ------------------------------------------------------------

_FIRST = np.datetime64("0001-01-01T00:00:00", "us")
_LAST = np.datetime64("9999-12-31T23:59:59.999999", "us")
_TICKS_PER_SECOND = {"s": 1, "ms": 10 ** 3, "us": 10 ** 6, "ns": 10 ** 9}


def datetimes_to_arrow(result: pd.Series, result_type: t.DataType) -> pa.Array:
    """A datetime64 Series as DATE, TIMESTAMP or TIMESTAMP_LTZ, checked as a whole: the first
    row whose value the type cannot hold exactly is named."""
    aware = isinstance(result.dtype, pd.DatetimeTZDtype)
    text = str(result_type)
    utc = result.dt.tz_convert("UTC").dt.tz_localize(None) if aware else result
    moments = utc.to_numpy()
    unit, _ = np.datetime_data(moments.dtype)
    present = ~np.isnat(moments)

    def refuse(rows: np.ndarray, problem: str) -> None:
        hits = np.flatnonzero(rows)
        if hits.size:
            row = int(hits[0])
            raise ResultTypeError(row, f"returned {describe(result.iloc[row])} for row {row}, which {problem}")

    if isinstance(result_type, t.LocalZonedTimestampType):
        if not aware:
            refuse(present, f"is a naive datetime, but {text} holds instants: give the Series a time zone "
                            "(s.dt.tz_localize('UTC'))")
    elif aware:
        hint = ": drop the zone (s.dt.tz_localize(None)), or declare TIMESTAMP_LTZ" if result_type.type_name != "DATE" else ""
        refuse(present, f"is an aware datetime, but {text} holds no time zone{hint}")
    if unit != "ns":  # datetime64[ns] holds years 1677 to 2262 only
        first, last = _FIRST.astype(moments.dtype), _LAST.astype(moments.dtype)
        refuse(present & ((moments < first) | (moments > last)), f"is outside years 0001 to 9999, as {text} holds")
    ticks = moments.view("int64")
    per_second = _TICKS_PER_SECOND[unit]
    if result_type.type_name == "DATE":
        refuse(present & (ticks % (86_400 * per_second) != 0),
               "is not a DATE: a datetime is one only at midnight without a time zone")
    else:
        kept = 10 ** result_type.precision  # type: ignore[attr-defined]
        if per_second > kept:
            refuse(present & (ticks % (per_second // kept) != 0), f"has more digits of a second than {text} holds")
    if not result_type.nullable:
        refuse(~present, f"is missing (NaT), but the result type is {text}")
    if result_type.type_name == "DATE":
        return pa.array(moments.astype("datetime64[D]"), type=pa.date32(), from_pandas=True)
    return pa.array(moments, type=result_type.to_arrow(), from_pandas=True)


def decimals_to_arrow(values: list[Any], result_type: t.DataType) -> Optional[pa.Array]:
    """Decimals as DECIMAL in one go, or None when a value is not a Decimal or does not fit:
    the value-by-value checks then name the row. Arrow refuses a Decimal it would round or
    that has too many digits, so going whole is as exact."""
    kinds = set(map(type, values))
    has_nulls = type(None) in kinds
    kinds.discard(type(None))
    if not kinds <= {decimal.Decimal} or (has_nulls and not result_type.nullable):
        return None
    try:
        return pa.array(values, type=result_type.to_arrow(), from_pandas=False)
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return None


def frame_columns(frame: pd.DataFrame, row_type: t.RowType) -> list[tuple[Any, pd.Series]]:
    """A DataFrame returned for a ROW type, a (label, column) per field: its columns are the
    fields by name, or, unnamed (0, 1, ...), in field order."""
    names = row_type.field_names()
    labels = list(frame.columns)
    if all(isinstance(label, str) for label in labels) and sorted(labels) == sorted(names):
        return [(name, frame[name]) for name in names]
    if isinstance(frame.columns, pd.RangeIndex) and labels == list(range(len(names))):
        return [(index, frame.iloc[:, index]) for index in labels]
    raise ResultTypeError(-1, (
        f"returned a DataFrame with columns {labels}, but {row_type} has fields {names}: name the "
        "columns after the fields, or leave them unnamed (0, 1, ...) in field order"
    ))
