"""SQL data types, with PyFlink's ``DataTypes`` factory signatures.

A type's ``str()`` is its SQL text ("BIGINT", "STRING NOT NULL", "DECIMAL(38, 10)",
"ARRAY<ROW<a INT, b STRING>>"): that is how types travel between host and worker,
and the TypeScript side prints and parses the same text.
"""
from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Iterator, Optional, Sequence

if TYPE_CHECKING:  # pyarrow is a worker-runtime dependency: declaring functions needs none
    import pyarrow as pa

# Python's datetime holds microseconds: finer precisions could not reach a UDF exactly.
MAX_TIME_PRECISION = 6
MAX_DECIMAL_PRECISION = 38


class DataType:
    """A SQL type. Instances compare by their SQL text."""

    type_name = ""

    def __init__(self, nullable: bool = True) -> None:
        self._nullable = nullable

    @property
    def nullable(self) -> bool:
        return self._nullable

    def not_null(self) -> "DataType":
        return self._with_nullable(False)

    def as_nullable(self) -> "DataType":
        return self._with_nullable(True)

    def _with_nullable(self, nullable: bool) -> "DataType":
        twin = copy.copy(self)
        twin._nullable = nullable
        return twin

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        return getattr(pa, _ARROW[self.type_name])()

    def sql_text(self) -> str:
        """The SQL text without the NOT NULL suffix."""
        return self.type_name

    def _arguments(self) -> list[str]:
        return []

    def __str__(self) -> str:
        return self.sql_text() if self._nullable else f"{self.sql_text()} NOT NULL"

    def __repr__(self) -> str:
        arguments = self._arguments() + ([] if self._nullable else ["nullable=False"])
        return f"DataTypes.{self.type_name}({', '.join(arguments)})"

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
# Flink's STRING is VARCHAR(2147483647) and BYTES VARBINARY(2147483647).
MAX_LENGTH = 2147483647


class _LengthType(DataType):
    """STRING and BYTES, and their spellings with a length: CHAR/VARCHAR, BINARY/VARBINARY.

    ``length`` is None for STRING and BYTES themselves; a value longer than it is
    refused naming its row, and a fixed-length value (CHAR, BINARY) shorter than
    it is padded (spaces, zero bytes), as Flink keeps them.
    """

    _spellings = ("", "", "")  # (any length, variable, fixed)

    def __init__(self, nullable: bool = True, length: Optional[int] = None, fixed: bool = False) -> None:
        super().__init__(nullable)
        spelling = self._spellings[2 if fixed else 1]
        if length is not None or fixed:
            length = _check_int(f"{spelling} length", 1 if length is None else length, 1, MAX_LENGTH)
        # VARCHAR(2147483647) is STRING itself, as in Flink.
        self.length: Optional[int] = None if (length == MAX_LENGTH and not fixed) else length
        self.fixed = fixed

    def sql_text(self) -> str:
        if self.length is None:
            return self._spellings[0]
        return f"{self._spellings[2 if self.fixed else 1]}({self.length})"

    def __repr__(self) -> str:
        if self.length is None:
            return super().__repr__()
        extra = "" if self._nullable else ", nullable=False"
        return f"DataTypes.{self._spellings[2 if self.fixed else 1]}({self.length}{extra})"


class StringType(_LengthType):
    """STRING, CHAR(n) or VARCHAR(n): a ``str`` in Python."""

    type_name = "STRING"
    _spellings = ("STRING", "VARCHAR", "CHAR")


class BytesType(_LengthType):
    """BYTES, BINARY(n) or VARBINARY(n): ``bytes`` in Python."""

    type_name = "BYTES"
    _spellings = ("BYTES", "VARBINARY", "BINARY")


class NullType(DataType):
    """NULL: the type whose only value is NULL (``None``), as Flink's."""

    type_name = "NULL"

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        return pa.null()
DateType = _atomic("DATE")

_ARROW = {  # the pyarrow factory of each atomic type
    "BOOLEAN": "bool_",
    "TINYINT": "int8",
    "SMALLINT": "int16",
    "INT": "int32",
    "BIGINT": "int64",
    "FLOAT": "float32",
    "DOUBLE": "float64",
    "STRING": "string",
    "BYTES": "binary",
    "DATE": "date32",
}


def _check_int(what: str, value: object, low: int, high: int, why: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{what} must be an integer from {low} to {high}{why}, got {value!r}")
    return value


class DecimalType(DataType):
    """DECIMAL(precision, scale): exact decimal numbers, ``decimal.Decimal`` in Python."""

    type_name = "DECIMAL"

    def __init__(self, precision: int = 10, scale: int = 0, nullable: bool = True) -> None:
        super().__init__(nullable)
        self.precision = _check_int("DECIMAL precision", precision, 1, MAX_DECIMAL_PRECISION)
        self.scale = _check_int("DECIMAL scale", scale, 0, precision)

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        return pa.decimal128(self.precision, self.scale)

    def sql_text(self) -> str:
        return f"DECIMAL({self.precision}, {self.scale})"

    def _arguments(self) -> list[str]:
        return [str(self.precision), str(self.scale)]


def arrow_time_unit(precision: int) -> str:
    """The Arrow unit of a TIME/TIMESTAMP precision, as PyFlink maps them."""
    return "s" if precision == 0 else "ms" if precision <= 3 else "us"


class _TemporalType(DataType):
    default_precision = 6

    def __init__(self, precision: Optional[int] = None, nullable: bool = True) -> None:
        super().__init__(nullable)
        self.precision = _check_int(
            f"{self.type_name} precision",
            self.default_precision if precision is None else precision,
            0, MAX_TIME_PRECISION, " (Python's datetime holds microseconds)",
        )

    def sql_text(self) -> str:
        return f"{self.type_name}({self.precision})"

    def _arguments(self) -> list[str]:
        return [str(self.precision)]


class TimeType(_TemporalType):
    """TIME(precision): a time of day without time zone, ``datetime.time`` in Python."""

    type_name = "TIME"
    default_precision = 0

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        unit = arrow_time_unit(self.precision)
        return pa.time64(unit) if unit == "us" else pa.time32(unit)


class TimestampType(_TemporalType):
    """TIMESTAMP(precision): a wall-clock date and time, a naive ``datetime.datetime``."""

    type_name = "TIMESTAMP"

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        return pa.timestamp(arrow_time_unit(self.precision))


class LocalZonedTimestampType(_TemporalType):
    """TIMESTAMP_LTZ(precision): an instant, an aware ``datetime.datetime`` (given in UTC)."""

    type_name = "TIMESTAMP_LTZ"

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        # The zone marks the column as instants: TIMESTAMP and TIMESTAMP_LTZ differ on the wire.
        return pa.timestamp(arrow_time_unit(self.precision), tz="UTC")


def _as_type(value: object, what: str) -> DataType:
    if not isinstance(value, DataType):
        raise TypeError(f"{what} must be a DataType, e.g. DataTypes.INT(); got {value!r}")
    return value


class ArrayType(DataType):
    """ARRAY<element>: a ``list`` in Python."""

    type_name = "ARRAY"

    def __init__(self, element_type: DataType, nullable: bool = True) -> None:
        super().__init__(nullable)
        self.element_type = _as_type(element_type, "the ARRAY element type")

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        return pa.list_(pa.field("element", self.element_type.to_arrow(), self.element_type.nullable))

    def sql_text(self) -> str:
        return f"ARRAY<{self.element_type}>"

    def _arguments(self) -> list[str]:
        return [repr(self.element_type)]


class MapType(DataType):
    """MAP<key, value>: a ``dict`` in Python. Keys are never NULL (as in Arrow)."""

    type_name = "MAP"

    def __init__(self, key_type: DataType, value_type: DataType, nullable: bool = True) -> None:
        super().__init__(nullable)
        self.key_type = _as_type(key_type, "the MAP key type")
        self.value_type = _as_type(value_type, "the MAP value type")
        if isinstance(self.key_type, (ArrayType, MapType, RowType)):
            # Python dict keys must be hashable: a list or dict key could never reach a UDF.
            raise ValueError(f"MAP keys must be of a scalar type, not {self.key_type}")

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        return pa.map_(
            pa.field("key", self.key_type.to_arrow(), False),
            pa.field("value", self.value_type.to_arrow(), self.value_type.nullable),
        )

    def sql_text(self) -> str:
        return f"MAP<{self.key_type}, {self.value_type}>"

    def _arguments(self) -> list[str]:
        return [repr(self.key_type), repr(self.value_type)]


class ListViewType(DataType):
    """LIST_VIEW<element>: an accumulator's ``ListView``, as PyFlink's; for accumulator types only."""

    type_name = "LIST_VIEW"

    def __init__(self, element_type: DataType) -> None:
        super().__init__(True)
        self.element_type = _as_type(element_type, "the LIST_VIEW element type")

    def to_arrow(self) -> pa.DataType:
        raise TypeError("LIST_VIEW is an accumulator type: no column or function result has it")

    def sql_text(self) -> str:
        return f"LIST_VIEW<{self.element_type}>"

    def _arguments(self) -> list[str]:
        return [repr(self.element_type)]


class MapViewType(DataType):
    """MAP_VIEW<key, value>: an accumulator's ``MapView``, as PyFlink's; for accumulator types only."""

    type_name = "MAP_VIEW"

    def __init__(self, key_type: DataType, value_type: DataType) -> None:
        super().__init__(True)
        self.key_type = _as_type(key_type, "the MAP_VIEW key type")
        self.value_type = _as_type(value_type, "the MAP_VIEW value type")

    def to_arrow(self) -> pa.DataType:
        raise TypeError("MAP_VIEW is an accumulator type: no column or function result has it")

    def sql_text(self) -> str:
        return f"MAP_VIEW<{self.key_type}, {self.value_type}>"

    def _arguments(self) -> list[str]:
        return [repr(self.key_type), repr(self.value_type)]


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def quote_field_name(name: str) -> str:
    """A field name as SQL type text writes it: backticks unless it is a plain identifier."""
    return name if _PLAIN_NAME.fullmatch(name) else "`" + name.replace("`", "``") + "`"


class RowField:
    """One field of a ROW type: ``DataTypes.FIELD(name, data_type, description=None)``."""

    def __init__(self, name: str, data_type: DataType, description: Optional[str] = None) -> None:
        if not isinstance(name, str) or name == "":
            raise ValueError(f"a ROW field name must be a non-empty string, got {name!r}")
        self.name = name
        self.data_type = _as_type(data_type, f"the type of ROW field {name!r}")
        self.description = description

    def __str__(self) -> str:
        return f"{quote_field_name(self.name)} {self.data_type}"

    def __repr__(self) -> str:
        return f"DataTypes.FIELD({self.name!r}, {self.data_type!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RowField) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


class RowType(DataType):
    """ROW<name type, ...>: a :class:`pyudf.Row` in Python, its fields by name and index."""

    type_name = "ROW"

    def __init__(self, fields: Sequence[RowField] = (), nullable: bool = True) -> None:
        super().__init__(nullable)
        fields = list(fields)
        if not fields:
            raise ValueError("a ROW type needs at least one field")
        for field in fields:
            if not isinstance(field, RowField):
                raise TypeError(f"ROW fields must be made with DataTypes.FIELD(name, type); got {field!r}")
        names = [field.name for field in fields]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"a ROW type has duplicate field names: {', '.join(duplicates)}")
        self.fields = fields
        self.names = names

    def field_names(self) -> list[str]:
        return list(self.names)

    def field_types(self) -> list[DataType]:
        return [field.data_type for field in self.fields]

    def __iter__(self) -> Iterator[RowField]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __getitem__(self, key: object) -> RowField:
        if isinstance(key, str):
            for field in self.fields:
                if field.name == key:
                    return field
            raise KeyError(f"no field {key!r} in {self}")
        if isinstance(key, int):
            return self.fields[key]
        raise TypeError("a ROW type is indexed by a field name or position")

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        return pa.struct([
            pa.field(field.name, field.data_type.to_arrow(), field.data_type.nullable) for field in self.fields
        ])

    def sql_text(self) -> str:
        return "ROW<" + ", ".join(map(str, self.fields)) + ">"

    def _arguments(self) -> list[str]:
        return ["[" + ", ".join(map(repr, self.fields)) + "]"]


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
    def CHAR(length: int, nullable: bool = True) -> DataType:
        """Text of exactly ``length`` characters: shorter values are padded with spaces."""
        return StringType(nullable, length, fixed=True)

    @staticmethod
    def VARCHAR(length: int = MAX_LENGTH, nullable: bool = True) -> DataType:
        """Text of at most ``length`` characters; VARCHAR(2147483647) is STRING."""
        return StringType(nullable, length)

    @staticmethod
    def BYTES(nullable: bool = True) -> DataType:
        return BytesType(nullable)

    @staticmethod
    def BINARY(length: int, nullable: bool = True) -> DataType:
        """Exactly ``length`` bytes: shorter values are padded with zero bytes."""
        return BytesType(nullable, length, fixed=True)

    @staticmethod
    def VARBINARY(length: int = MAX_LENGTH, nullable: bool = True) -> DataType:
        """At most ``length`` bytes; VARBINARY(2147483647) is BYTES."""
        return BytesType(nullable, length)

    @staticmethod
    def NULL() -> DataType:
        """The type of NULL alone, as Flink's ``DataTypes.NULL()``."""
        return NullType()

    @staticmethod
    def DECIMAL(precision: int, scale: int, nullable: bool = True) -> DecimalType:
        return DecimalType(precision, scale, nullable)

    @staticmethod
    def DATE(nullable: bool = True) -> DataType:
        return DateType(nullable)

    @staticmethod
    def TIME(precision: int = 0, nullable: bool = True) -> TimeType:
        return TimeType(precision, nullable)

    @staticmethod
    def TIMESTAMP(precision: int = 6, nullable: bool = True) -> TimestampType:
        return TimestampType(precision, nullable)

    @staticmethod
    def TIMESTAMP_LTZ(precision: int = 6, nullable: bool = True) -> LocalZonedTimestampType:
        return LocalZonedTimestampType(precision, nullable)

    @staticmethod
    def TIMESTAMP_WITH_LOCAL_TIME_ZONE(precision: int = 6, nullable: bool = True) -> LocalZonedTimestampType:
        return LocalZonedTimestampType(precision, nullable)

    @staticmethod
    def LOCAL_ZONED_TIMESTAMP(precision: int = 6, nullable: bool = True) -> LocalZonedTimestampType:
        return LocalZonedTimestampType(precision, nullable)

    @staticmethod
    def ARRAY(element_type: DataType, nullable: bool = True) -> ArrayType:
        return ArrayType(element_type, nullable)

    @staticmethod
    def MAP(key_type: DataType, value_type: DataType, nullable: bool = True) -> MapType:
        return MapType(key_type, value_type, nullable)

    @staticmethod
    def ROW(row_fields: Sequence[RowField] = (), nullable: bool = True) -> RowType:
        return RowType(row_fields, nullable)

    @staticmethod
    def LIST_VIEW(element_type: DataType) -> ListViewType:
        """An accumulator's ListView (accumulator types only), as PyFlink's."""
        return ListViewType(element_type)

    @staticmethod
    def MAP_VIEW(key_type: DataType, value_type: DataType) -> MapViewType:
        """An accumulator's MapView (accumulator types only), as PyFlink's."""
        return MapViewType(key_type, value_type)

    @staticmethod
    def FIELD(name: str, data_type: DataType, description: Optional[str] = None) -> RowField:
        return RowField(name, data_type, description)


def as_data_type(value: object, what: str) -> DataType:
    if isinstance(value, DataType):
        return value
    if isinstance(value, str):
        return parse_type(value)
    raise TypeError(f"{what} must be a DataType, e.g. DataTypes.BIGINT(); got {value!r}")


# The parser builds the classes above, so it is imported after them.
from pyudf.type_text import parse_type  # noqa: E402
