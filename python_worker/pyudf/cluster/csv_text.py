"""Rows as CSV text byte for byte as the local CSV sink writes them (``csvText`` in the
TypeScript library's ``io/csv-format.ts``), so a job's file is the same on a cluster.

A value is spelled as its TypeScript value's ``String()``: numbers as JavaScript prints them
(1e+21, 0.1, 5e-7, NaN, Infinity, -0 as 0), BIGINT in digits, DECIMAL with exactly its scale's
digits, DATE/TIME/TIMESTAMP in ISO 8601 with the digits of the column's Arrow unit (and "Z" for
TIMESTAMP_LTZ), BYTES in base64, BOOLEAN as true/false. CSV tables hold scalar columns only;
ARRAY, MAP and ROW values are spelled as JavaScript's String() spells an array, a Map and an
object all the same.
"""
from __future__ import annotations

import base64
import datetime
import math
from typing import Any, Mapping, Optional, Sequence, Union

import pyarrow as pa
import pyarrow.compute as pc

from pyudf.types import DataType

_ESCAPE = '"'
# What a number's text may hold: a delimiter or quote among them would call for quoting.
_NUMBER_CHARACTERS = frozenset("0123456789.+-eEInfinityNa")
_UNIX_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_MICROS_PER_DAY = 86_400_000_000
_MICROS_IN_UNIT = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": None}
_UNIT_DIGITS = {"s": 0, "ms": 3, "us": 6}


class CsvSpelling:
    """How a CSV sink spells its fields: the sink's fieldDelimiter, quoteCharacter, nullLiteral."""

    def __init__(self, field_delimiter: str = ",", quote_character: str = '"', null_literal: str = "") -> None:
        self.field_delimiter = field_delimiter
        self.quote_character = quote_character
        self.null_literal = null_literal

    @classmethod
    def of_sink(cls, sink: Mapping[str, Any]) -> "CsvSpelling":
        return cls(sink.get("fieldDelimiter", ","), sink.get("quoteCharacter", '"'), sink.get("nullLiteral", ""))


def csv_text(rows: Union[pa.Table, pa.RecordBatch], types: Sequence[DataType], spelling: CsvSpelling) -> str:
    """The rows as CSV lines, each ending in "\\n", as the local sink writes them: a field is
    quoted when it holds the delimiter, the quote character or a line break (a quote inside
    doubled); NULL is the null literal, unquoted; a text equal to the null literal is quoted."""
    if rows.num_rows == 0:
        return ""
    columns = [_column_fields(rows.column(c).cast(types[c].to_arrow()), types[c], spelling) for c in range(rows.num_columns)]
    delimiter = spelling.field_delimiter
    return "".join(delimiter.join(fields) + "\n" for fields in zip(*columns))


def csv_header(names: Sequence[str], spelling: CsvSpelling) -> str:
    """A header line of column names, each quoted as a text field would be."""
    return spelling.field_delimiter.join(_field(name, spelling) for name in names) + "\n"


def _column_fields(column: Union[pa.Array, pa.ChunkedArray], data_type: DataType, spelling: CsvSpelling) -> list[str]:
    null_field = quoted_if_needed(spelling.null_literal, spelling)
    texts = column_texts(column)
    if data_type.type_name in ("TINYINT", "SMALLINT", "INT", "BIGINT", "FLOAT", "DOUBLE") and \
            not (_NUMBER_CHARACTERS & set(spelling.field_delimiter + spelling.quote_character)):
        # No number's text holds the delimiter or the quote: only the null literal is quoted.
        literal = spelling.null_literal
        return [null_field if text is None else _quote(text, spelling) if text == literal else text for text in texts]
    return [null_field if text is None else _field(text, spelling) for text in texts]


def _field(text: str, spelling: CsvSpelling) -> str:
    return _quote(text, spelling) if text == spelling.null_literal else quoted_if_needed(text, spelling)


def quoted_if_needed(text: str, spelling: CsvSpelling) -> str:
    if text == "":
        return text
    quote = spelling.quote_character
    has_quote = quote != "" and quote in text
    if has_quote or _holds_separator(text, spelling.field_delimiter) or "\n" in text or "\r" in text:
        return _quote(text, spelling)
    return text


def _quote(text: str, spelling: CsvSpelling) -> str:
    quote = spelling.quote_character
    body = text
    if quote != _ESCAPE and _ESCAPE in body:
        body = body.replace(_ESCAPE, _ESCAPE + _ESCAPE)
    if quote != "" and quote in body:
        body = body.replace(quote, _ESCAPE + quote)
    return quote + body + quote


def _holds_separator(text: str, separator: str) -> bool:
    """Whether the delimiter occurs in the text, or (one longer than a character) begins at its end."""
    if separator == "":
        return False
    if separator in text:
        return True
    return len(separator) > 1 and (text + separator).find(separator) < len(text)


# --- values as their TypeScript String() ---------------------------------------------------


def column_texts(column: Union[pa.Array, pa.ChunkedArray]) -> list[Optional[str]]:
    """Each value's text as the local sink's formatField gives it; None for NULL."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_integer(array.type):
        return pc.cast(array, pa.string()).to_pylist()  # Arrow's integer text is the decimal digits, as String()
    return [_value_text(value, array.type) for value in _pylist(array)]


def _pylist(array: pa.Array) -> list[Any]:
    """Values as Python objects; temporal ones as integers of their unit (exact, any year)."""
    arrow_type = array.type
    if pa.types.is_date32(arrow_type) or pa.types.is_time(arrow_type) or pa.types.is_timestamp(arrow_type):
        return array.view(pa.int32() if arrow_type.bit_width == 32 else pa.int64()).to_pylist()
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        offsets = array.offsets.to_pylist()
        values = _pylist(array.values)
        valid = array.is_valid().to_pylist()
        return [values[offsets[i]:offsets[i + 1]] if valid[i] else None for i in range(len(array))]
    return array.to_pylist()


def _value_text(value: Any, arrow_type: pa.DataType) -> Optional[str]:
    if value is None:
        return None
    if pa.types.is_boolean(arrow_type):
        return "true" if value else "false"
    if pa.types.is_integer(arrow_type):
        return str(value)
    if pa.types.is_floating(arrow_type):
        return js_number(value)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return value
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type) or pa.types.is_fixed_size_binary(arrow_type):
        return base64.b64encode(value).decode("ascii")
    if pa.types.is_decimal(arrow_type):
        return decimal_text(value, arrow_type.scale)
    if pa.types.is_date32(arrow_type):
        return date_text(value)
    if pa.types.is_time(arrow_type):
        return time_text(value * _MICROS_IN_UNIT[arrow_type.unit], _UNIT_DIGITS[arrow_type.unit])
    if pa.types.is_timestamp(arrow_type):
        return timestamp_text(value * _MICROS_IN_UNIT[arrow_type.unit], _UNIT_DIGITS[arrow_type.unit],
                              arrow_type.tz is not None)
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        # Array.prototype.toString: the elements' String(), comma-joined, NULL as nothing.
        element = arrow_type.value_type
        return ",".join(_element_text(item, element) for item in value)
    if pa.types.is_map(arrow_type):
        return "[object Map]"
    if pa.types.is_struct(arrow_type):
        return "[object Object]"
    raise TypeError(f"no CSV text for Arrow type {arrow_type}")


def _element_text(value: Any, arrow_type: pa.DataType) -> str:
    if value is None:
        return ""
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return ",".join(str(byte) for byte in value)  # a Uint8Array's toString
    return _value_text(value, arrow_type) or ""


def js_number(value: float) -> str:
    """A float as JavaScript's Number.prototype.toString() spells it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    # repr() gives the shortest digits that read back as the same double, as JavaScript does.
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + int(exponent or 0)  # value = 0.<digits> × 10^point
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        power = f"e{'+' if e >= 0 else '-'}{abs(e)}"
        text = digits + power if k == 1 else f"{digits[0]}.{digits[1:]}{power}"
    return sign + text


def decimal_text(value: Any, scale: int) -> str:
    """A decimal.Decimal with exactly ``scale`` digits after the point (formatDecimal)."""
    sign, digit_tuple, exponent = value.as_tuple()
    unscaled = int("".join(map(str, digit_tuple)) or "0")
    shift = exponent + scale
    unscaled = unscaled * 10 ** shift if shift >= 0 else unscaled // 10 ** -shift
    digits = str(unscaled).rjust(scale + 1, "0")
    text = digits if scale == 0 else f"{digits[:-scale]}.{digits[-scale:]}"
    return f"-{text}" if sign and unscaled != 0 else text


def date_text(days: int) -> str:
    return datetime.date.fromordinal(days + _UNIX_ORDINAL).isoformat()


def time_text(micros: int, digits: int) -> str:
    seconds, fraction = divmod(micros, 1_000_000)
    text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return text if digits == 0 else f"{text}.{fraction:06d}"[: len(text) + 1 + digits]


def timestamp_text(micros: int, digits: int, instant: bool) -> str:
    days, rest = divmod(micros, _MICROS_PER_DAY)
    return f"{date_text(days)}T{time_text(rest, digits)}{'Z' if instant else ''}"

