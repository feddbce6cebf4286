"""Flink type text to Arrow types, and values as the job's JSON spells them."""
from __future__ import annotations

import base64
import datetime
import decimal
import functools
from typing import Any

import pyarrow as pa

from pyudf.type_text import parse_type
from pyudf.types import DataType

# Integers beyond this lose digits as JavaScript numbers: they travel as decimal strings.
_SAFE_INTEGER = 2 ** 53 - 1


@functools.lru_cache(maxsize=512)
def data_type(text: str) -> DataType:
    return parse_type(text)


def arrow_type(text: str) -> pa.DataType:
    return data_type(text).to_arrow()


def arrow_schema(schema: list[dict[str, Any]]) -> pa.Schema:
    """A plan node's schema ([{"name", "type"}]) as Arrow's."""
    return pa.schema([pa.field(f["name"], arrow_type(f["type"]), nullable=data_type(f["type"]).nullable) for f in schema])


def json_value(value: Any) -> Any:
    """A row's value for an event or a dead letter: JSON has no BIGINT, DECIMAL, bytes or dates."""
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        return value if -_SAFE_INTEGER <= value <= _SAFE_INTEGER else str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (datetime.date, datetime.time, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return str(value)


def constant_value(value: Any, type_text: str) -> Any:
    """A constant of the job's JSON as the Python value of its type (BIGINT and DECIMAL come as strings)."""
    if value is None:
        return None
    name = data_type(type_text).type_name
    if name in ("TINYINT", "SMALLINT", "INT", "BIGINT"):
        return int(value)
    if name in ("FLOAT", "DOUBLE"):
        return float(value)
    if name == "DECIMAL":
        return decimal.Decimal(str(value))
    if name == "BYTES" and isinstance(value, str):
        return base64.b64decode(value)
    return value
