"""Python values of SQL types: from Arrow columns to what a UDF is given, and from what a
UDF returns back to Arrow, checked against the declared type without silent coercion.

A UDF is given what PyFlink gives it: ``decimal.Decimal`` for DECIMAL, ``datetime.date``,
``datetime.time``, a naive ``datetime.datetime`` for TIMESTAMP, an aware one in UTC for
TIMESTAMP_LTZ, ``list`` for ARRAY, ``dict`` for MAP and :class:`pyudf.Row` for ROW.
"""
from __future__ import annotations

import datetime
import decimal
import functools
import math
import numbers
from collections.abc import Mapping
from typing import Any, Callable, Optional, Sequence

import pyarrow as pa

from pyudf import types as t
from pyudf.row import Row, make_row

_UTC = datetime.timezone.utc
_FLOAT32_MAX = 3.4028234663852886e38
_INTEGER_BITS = {"TINYINT": 8, "SMALLINT": 16, "INT": 32, "BIGINT": 64}


class ResultTypeError(Exception):
    """A returned value does not fit the declared result type."""

    def __init__(self, row_index: int, message: str) -> None:
        super().__init__(message)
        self.row_index = row_index


def describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


# ---- Arrow to Python -------------------------------------------------------------------


def python_values(column: pa.Array) -> list[Any]:
    """The column's values as a UDF is given them (see the module's docstring)."""
    values = column.to_pylist(maps_as_pydicts="strict")
    convert = _from_arrow(column.type)
    if convert is None:
        return values
    return [None if value is None else convert(value) for value in values]


@functools.lru_cache(maxsize=256)
def _from_arrow(arrow_type: pa.DataType) -> Optional[Callable[[Any], Any]]:
    """What turns ``to_pylist()``'s value into the UDF's; None when it already is."""
    if pa.types.is_struct(arrow_type):
        names = [field.name for field in arrow_type]
        children = [_from_arrow(field.type) for field in arrow_type]

        def to_row(value: dict) -> Row:
            items = [value[name] for name in names]
            return make_row(names, [
                item if item is None or child is None else child(item) for item, child in zip(items, children)
            ])
        return to_row
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is not None:
        return lambda value: value.astimezone(_UTC)
    if pa.types.is_map(arrow_type):
        key, item = _from_arrow(arrow_type.key_type), _from_arrow(arrow_type.item_type)
        if key is None and item is None:
            return None
        key = key or _same
        item = item or _same
        return lambda value: {key(k): None if v is None else item(v) for k, v in value.items()}
    if pa.types.is_list(arrow_type):
        element = _from_arrow(arrow_type.value_type)
        if element is None:
            return None
        return lambda value: [None if v is None else element(v) for v in value]
    return None


def _same(value: Any) -> Any:
    return value


# ---- Python to Arrow ---------------------------------------------------------------------


class Misfit(Exception):
    """A value (possibly deep inside the returned one) that its type refuses."""

    def __init__(self, value: Any, problem: str) -> None:
        super().__init__(problem)
        self.value = value
        self.problem = problem
        self.path: list[str] = []


Check = Callable[[Any], Any]


def results_to_arrow(values: list[Any], result_type: t.DataType, prepare: Optional[Check] = None) -> pa.Array:
    """A function's results as an Arrow array of its result type, or ResultTypeError naming
    the first row that does not fit. ``prepare`` turns each non-None value into what the checks
    take first (a vectorized function's numpy and pandas values), and may raise Misfit too."""
    check = result_checker(result_type)
    if prepare is not None:
        check = _prepared(prepare, check)
    nullable = result_type.nullable
    checked: list[Any] = []
    for row, value in enumerate(values):
        if value is None:
            if not nullable:
                raise ResultTypeError(row, f"returned None for row {row}, but the result type is {result_type}")
            checked.append(None)
            continue
        try:
            checked.append(check(value))
        except Misfit as misfit:
            raise ResultTypeError(row, _misfit_message(value, row, result_type, misfit)) from None
    arrow_type = result_type.to_arrow()
    try:
        return pa.array(checked, type=arrow_type, from_pandas=False)
    except _ARROW_REFUSALS as exc:
        # What the checks let through and Arrow still refuses (a lone surrogate in a string): find its row.
        for row, item in enumerate(checked):
            try:
                pa.array([item], type=arrow_type, from_pandas=False)
            except _ARROW_REFUSALS as refusal:
                raise ResultTypeError(
                    row, f"returned {describe(values[row])} for row {row}, which does not fit {result_type}: {refusal}"
                ) from None
        raise ResultTypeError(-1, f"results do not convert to {result_type}: {exc}") from None


def _prepared(prepare: Check, check: Check) -> Check:
    return lambda value: check(prepare(value))


_ARROW_REFUSALS = (pa.ArrowException, OverflowError, ValueError, TypeError, UnicodeError)


def _misfit_message(value: Any, row: int, result_type: t.DataType, misfit: Misfit) -> str:
    if not misfit.path:
        return f"returned {describe(value)} for row {row}, which {misfit.problem}"
    where = ", ".join(reversed(misfit.path))
    return (f"returned {describe(value)} for row {row}, which does not fit {result_type}: "
            f"{where} is {describe(misfit.value)}, which {misfit.problem}")


@functools.lru_cache(maxsize=256)
def result_checker(data_type: t.DataType) -> Check:
    """Checks one non-None value against ``data_type`` and returns it as ``pa.array`` takes
    it for ``data_type.to_arrow()``; raises Misfit when it does not fit exactly."""
    name = data_type.type_name
    if isinstance(data_type, t.DecimalType):
        return _decimal_checker(data_type)
    if isinstance(data_type, (t.TimeType, t.TimestampType, t.LocalZonedTimestampType)):
        return _temporal_checker(data_type)
    if isinstance(data_type, t.ArrayType):
        return _array_checker(data_type)
    if isinstance(data_type, t.MapType):
        return _map_checker(data_type)
    if isinstance(data_type, t.RowType):
        return _row_checker(data_type)
    if name == "DATE":
        def check_date(value: Any) -> Any:
            if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
                return value
            raise Misfit(value, f"is not a {data_type.sql_text()} (a datetime.date)")
        return check_date
    return _scalar_checker(data_type)


def _fit_length(value: Any, length: int, fixed: bool, pad: Any, data_type: t.DataType) -> Any:
    """CHAR/VARCHAR/BINARY/VARBINARY as Flink keeps them: longer is refused, fixed lengths padded."""
    if len(value) > length:
        unit = "characters" if isinstance(value, str) else "bytes"
        raise Misfit(value, f"is {len(value)} {unit} long, longer than {data_type.sql_text()} holds")
    return value + pad * (length - len(value)) if fixed else value


def _not_a(data_type: t.DataType, value: Any) -> Misfit:
    return Misfit(value, f"is not a {data_type.sql_text()}")


def _scalar_checker(data_type: t.DataType) -> Check:
    name = data_type.type_name
    if name == "BOOLEAN":
        def check_boolean(value: Any) -> Any:
            if isinstance(value, bool) or type(value).__name__ == "bool_":
                return bool(value)
            raise _not_a(data_type, value)
        return check_boolean
    if name in _INTEGER_BITS:
        low, high = -(2 ** (_INTEGER_BITS[name] - 1)), 2 ** (_INTEGER_BITS[name] - 1) - 1

        def check_integer(value: Any) -> Any:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise _not_a(data_type, value)
            if not low <= value <= high:
                raise Misfit(value, f"is out of range for {name}")
            return int(value)
        return check_integer
    if name in ("FLOAT", "DOUBLE"):
        def check_float(value: Any) -> Any:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise _not_a(data_type, value)
            number = float(value)
            if name == "FLOAT" and math.isfinite(number) and abs(number) > _FLOAT32_MAX:
                raise Misfit(value, "is out of range for FLOAT")
            return number
        return check_float
    length: Optional[int] = getattr(data_type, "length", None)
    fixed = bool(getattr(data_type, "fixed", False))
    if name == "STRING":
        def check_string(value: Any) -> Any:
            if not isinstance(value, str):
                raise _not_a(data_type, value)
            return value if length is None else _fit_length(value, length, fixed, " ", data_type)
        return check_string
    if name == "BYTES":
        def check_bytes(value: Any) -> Any:
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise _not_a(data_type, value)
            value = bytes(value)
            return value if length is None else _fit_length(value, length, fixed, b"\0", data_type)
        return check_bytes
    if name == "NULL":
        def check_null(value: Any) -> Any:
            raise Misfit(value, "is not NULL, the only value of type NULL")
        return check_null
    raise ValueError(f"no conversion for {data_type}")


def _decimal_checker(data_type: t.DecimalType) -> Check:
    precision, scale = data_type.precision, data_type.scale
    limit = 10 ** precision

    def check_decimal(value: Any) -> Any:
        if isinstance(value, decimal.Decimal):
            if not value.is_finite():
                raise Misfit(value, f"is not a finite number, as {data_type.sql_text()} needs")
            sign, digits, exponent = value.as_tuple()
            coefficient = int("".join(map(str, digits)) or "0")
            shift = exponent + scale
            if shift >= 0:
                unscaled = coefficient * 10 ** shift
            else:
                unscaled, rest = divmod(coefficient, 10 ** -shift)
                if rest:
                    raise Misfit(value, f"has more than {scale} digit(s) after the point, as "
                                        f"{data_type.sql_text()} holds (quantize it first)")
            if sign:
                unscaled = -unscaled
        elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
            unscaled = int(value) * 10 ** scale
        else:
            raise Misfit(value, f"is not a {data_type.sql_text()} (a decimal.Decimal or an int)")
        if abs(unscaled) >= limit:
            raise Misfit(value, f"has more than {precision - scale} digit(s) before the point, as "
                                f"{data_type.sql_text()} holds")
        # Built from its digits, not by arithmetic: no decimal context can round it.
        return decimal.Decimal((1 if unscaled < 0 else 0, tuple(map(int, str(abs(unscaled)))), -scale))

    return check_decimal


def _temporal_checker(data_type: t.DataType) -> Check:
    precision: int = data_type.precision  # type: ignore[attr-defined]
    granularity = 10 ** (6 - precision)
    text = data_type.sql_text()

    def check_precision(value: Any) -> None:
        if value.microsecond % granularity:
            raise Misfit(value, f"has more digits of a second than {text} holds")

    if isinstance(data_type, t.TimeType):
        def check_time(value: Any) -> Any:
            if not isinstance(value, datetime.time):
                raise Misfit(value, f"is not a {text} (a datetime.time)")
            if value.tzinfo is not None:
                raise Misfit(value, f"has a time zone, which {text} does not hold")
            check_precision(value)
            return value
        return check_time

    aware = isinstance(data_type, t.LocalZonedTimestampType)

    def check_timestamp(value: Any) -> Any:
        if not isinstance(value, datetime.datetime):
            raise Misfit(value, f"is not a {text} (a datetime.datetime)")
        has_zone = value.utcoffset() is not None
        if aware and not has_zone:
            raise Misfit(value, f"is a naive datetime, but {text} holds instants: "
                                "give it a time zone (e.g. tzinfo=datetime.timezone.utc)")
        if not aware and has_zone:
            raise Misfit(value, f"is an aware datetime, but {text} holds wall-clock times without "
                                "a time zone: drop the tzinfo, or declare TIMESTAMP_LTZ")
        check_precision(value)
        if not aware:
            return value
        try:
            return value.astimezone(_UTC)
        except OverflowError:
            raise Misfit(value, f"is out of range for {text} in UTC") from None

    return check_timestamp


def _nested(check: Check, nullable: bool, where: str, value: Any) -> Any:
    try:
        if value is None:
            if nullable:
                return None
            raise Misfit(None, "the type declares NOT NULL")
        return check(value)
    except Misfit as misfit:
        misfit.path.append(where)
        raise


def _array_checker(data_type: t.ArrayType) -> Check:
    element = data_type.element_type
    check, nullable = result_checker(element), element.nullable

    def check_array(value: Any) -> Any:
        if not isinstance(value, (list, tuple)) or isinstance(value, Row):
            raise Misfit(value, f"is not an {data_type.sql_text()} (a list)")
        return [_nested(check, nullable, f"element [{index}]", item) for index, item in enumerate(value)]

    return check_array


def _map_checker(data_type: t.MapType) -> Check:
    check_key = result_checker(data_type.key_type)
    check_value, nullable = result_checker(data_type.value_type), data_type.value_type.nullable

    def check_map(value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise Misfit(value, f"is not a {data_type.sql_text()} (a dict)")
        entries = []
        for key, item in value.items():
            if key is None:
                misfit = Misfit(None, "cannot be a MAP key: MAP keys are never NULL")
                misfit.path.append("a key")
                raise misfit
            entries.append((_nested(check_key, False, f"key {key!r}", key),
                            _nested(check_value, nullable, f"value of key {key!r}", item)))
        return entries

    return check_map


def _row_checker(data_type: t.RowType) -> Check:
    names = data_type.field_names()
    checks = [(result_checker(f.data_type), f.data_type.nullable) for f in data_type.fields]

    def by_names(value: Any, given: Sequence[str]) -> list[Any]:
        if sorted(given) != sorted(names):
            raise Misfit(value, f"has fields {list(given)}, but {data_type.sql_text()} has {names}")
        return [value[name] for name in names]

    def check_row(value: Any) -> Any:
        if isinstance(value, Row) and value.__dict__.get("_fields") is not None:
            items = by_names(value, value._fields)
        elif isinstance(value, Mapping):
            items = by_names(value, list(value))
        elif isinstance(value, (Row, tuple, list)):
            if len(value) != len(names):
                raise Misfit(value, f"has {len(value)} value(s), but {data_type.sql_text()} has "
                                    f"{len(names)} field(s)")
            items = list(value)
        else:
            raise Misfit(value, f"is not a {data_type.sql_text()} (a Row, tuple or list)")
        return {
            name: _nested(check, nullable, f"field {name!r}", item)
            for name, (check, nullable), item in zip(names, checks, items)
        }

    return check_row
