"""SQL data types, with PyFlink's ``DataTypes`` factory signatures.

A type's ``str()`` is its SQL name ("BIGINT", "STRING NOT NULL"): that is how
types travel between host and worker.
"""
from __future__ import annotations

import pyarrow as pa


class DataType:
    """A SQL type. Instances compare by their SQL text."""

    type_name = ""

    def __init__(self, nullable: bool = True) -> None:
        self._nullable = nullable

    @property
    def nullable(self) -> bool:
        return self._nullable

    def not_null(self) -> "DataType":
        return type(self)(nullable=False)

    def to_arrow(self) -> pa.DataType:
        return _ARROW[self.type_name]

    def __str__(self) -> str:
        return self.type_name if self._nullable else f"{self.type_name} NOT NULL"

    def __repr__(self) -> str:
        return f"DataTypes.{self.type_name}()" if self._nullable else (
            f"DataTypes.{self.type_name}(nullable=False)"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataType) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


def _atomic(name: str) -> type[DataType]:
    return type(f"{name.title()}Type", (DataType,), {"type_name": name})


BooleanType = _atomic("BOOLEAN")
TinyIntType = _atomic("TINYINT")
SmallIntType = _atomic("SMALLINT")
IntType = _atomic("INT")
BigIntType = _atomic("BIGINT")
FloatType = _atomic("FLOAT")
DoubleType = _atomic("DOUBLE")
StringType = _atomic("STRING")
BytesType = _atomic("BYTES")

_ARROW = {
    "BOOLEAN": pa.bool_(),
    "TINYINT": pa.int8(),
    "SMALLINT": pa.int16(),
    "INT": pa.int32(),
    "BIGINT": pa.int64(),
    "FLOAT": pa.float32(),
    "DOUBLE": pa.float64(),
    "STRING": pa.string(),
    "BYTES": pa.binary(),
}

_BY_NAME: dict[str, type[DataType]] = {
    t.type_name: t
    for t in (BooleanType, TinyIntType, SmallIntType, IntType, BigIntType,
              FloatType, DoubleType, StringType, BytesType)
}
# SQL spellings that name the same types.
_ALIASES = {
    "INTEGER": "INT",
    "VARCHAR": "STRING",
    "VARBINARY": "BYTES",
    "BOOL": "BOOLEAN",
    "REAL": "FLOAT",
}


class DataTypes:
    """Factory of SQL types, as ``pyflink.table.DataTypes``."""

    @staticmethod
    def BOOLEAN(nullable: bool = True) -> DataType:
        return BooleanType(nullable)

    @staticmethod
    def TINYINT(nullable: bool = True) -> DataType:
        return TinyIntType(nullable)

    @staticmethod
    def SMALLINT(nullable: bool = True) -> DataType:
        return SmallIntType(nullable)

    @staticmethod
    def INT(nullable: bool = True) -> DataType:
        return IntType(nullable)

    @staticmethod
    def BIGINT(nullable: bool = True) -> DataType:
        return BigIntType(nullable)

    @staticmethod
    def FLOAT(nullable: bool = True) -> DataType:
        return FloatType(nullable)

    @staticmethod
    def DOUBLE(nullable: bool = True) -> DataType:
        return DoubleType(nullable)

    @staticmethod
    def STRING(nullable: bool = True) -> DataType:
        return StringType(nullable)

    @staticmethod
    def VARCHAR(length: int = 2147483647, nullable: bool = True) -> DataType:
        return StringType(nullable)

    @staticmethod
    def BYTES(nullable: bool = True) -> DataType:
        return BytesType(nullable)

    @staticmethod
    def VARBINARY(length: int = 2147483647, nullable: bool = True) -> DataType:
        return BytesType(nullable)


def parse_type(text: str) -> DataType:
    """Parses a type's SQL text, as produced by ``str(DataType)``."""
    words = text.strip().upper().split()
    nullable = True
    if words[-2:] == ["NOT", "NULL"]:
        nullable = False
        words = words[:-2]
    name = " ".join(words)
    if "(" in name:
        # VARCHAR(10) and VARBINARY(10) carry a length we do not enforce.
        name = name[: name.index("(")].strip()
    name = _ALIASES.get(name, name)
    if name not in _BY_NAME:
        known = ", ".join(sorted(_BY_NAME))
        raise ValueError(f"unknown SQL type {text!r}; known types: {known}")
    return _BY_NAME[name](nullable)


def as_data_type(value: object, what: str) -> DataType:
    if isinstance(value, DataType):
        return value
    if isinstance(value, str):
        return parse_type(value)
    raise TypeError(f"{what} must be a DataType, e.g. DataTypes.BIGINT(); got {value!r}")
