"""Reading SQL type text ("DECIMAL(38, 10)", "MAP<STRING, ARRAY<INT>> NOT NULL") into DataTypes.

The grammar is Flink's, for the types pyudf has: keywords in any case, field names as
written (backticks around any other name), NOT NULL after any type, nested or not.
"""
from __future__ import annotations

import re
from typing import Callable, Optional

from pyudf import types as t

_TOKEN = re.compile(r"\s*(?:(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<number>\d+)|(?P<quoted>`(?:[^`]|``)*`)"
                    r"|(?P<string>'(?:[^']|'')*')|(?P<punct>[<>(),]))")

_SIMPLE: dict[str, Callable[[], t.DataType]] = {
    "BOOLEAN": t.BooleanType, "BOOL": t.BooleanType,
    "TINYINT": t.TinyIntType,
    "SMALLINT": t.SmallIntType,
    "INT": t.IntType, "INTEGER": t.IntType,
    "BIGINT": t.BigIntType,
    "FLOAT": t.FloatType, "REAL": t.FloatType,
    "DOUBLE": t.DoubleType,
    "STRING": t.StringType,
    "BYTES": t.BytesType,
    "DATE": t.DateType,
}
# Spellings with a length, kept: (the type, whether its values have exactly that length).
_WITH_LENGTH: dict[str, tuple[Callable[..., t.DataType], bool]] = {
    "CHAR": (t.StringType, True), "VARCHAR": (t.StringType, False),
    "BINARY": (t.BytesType, True), "VARBINARY": (t.BytesType, False),
}

KNOWN_TYPES = sorted({
    "BOOLEAN", "TINYINT", "SMALLINT", "INT", "BIGINT", "FLOAT", "DOUBLE", "STRING", "BYTES", "DATE",
    "DECIMAL", "TIME", "TIMESTAMP", "TIMESTAMP_LTZ", "ARRAY", "MAP", "ROW", "NULL",
})


class _UnknownType(ValueError):
    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


def parse_type(text: str) -> t.DataType:
    """Parses a type's SQL text, as produced by ``str(DataType)``."""
    try:
        parser = _Parser(text)
        data_type = parser.data_type()
        parser.end()
        return data_type
    except _UnknownType as unknown:
        inside = "" if unknown.word == text.strip() else f" in {text!r}"
        raise ValueError(
            f"unknown SQL type {unknown.word!r}{inside}; known types: {', '.join(KNOWN_TYPES)}"
        ) from None
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot read SQL type {text!r}: {exc}") from None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        position = 0
        stripped = text.rstrip()
        while position < len(stripped):
            match = _TOKEN.match(stripped, position)
            if match is None or match.end() == position:
                raise ValueError(f"unexpected {stripped[position:].lstrip()[:1]!r} at position {position + 1}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind), match.start(kind)))
            position = match.end()
        self.index = 0

    def peek(self) -> Optional[tuple[str, str, int]]:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise ValueError("the text ends too early")
        self.index += 1
        return token

    def accept(self, value: str) -> bool:
        token = self.peek()
        if token is not None and token[0] in ("punct", "word") and token[1].upper() == value:
            self.index += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.accept(value):
            token = self.peek()
            found = "the end" if token is None else repr(token[1])
            where = "" if token is None else f" at position {token[2] + 1}"
            raise ValueError(f"expected {value!r}, found {found}{where}")

    def number(self) -> int:
        kind, value, position = self.take()
        if kind != "number":
            raise ValueError(f"expected a number, found {value!r} at position {position + 1}")
        return int(value)

    def end(self) -> None:
        token = self.peek()
        if token is not None:
            raise ValueError(f"unexpected {token[1]!r} at position {token[2] + 1}")

    def arguments(self) -> list[int]:
        if not self.accept("("):
            return []
        values = [self.number()]
        while self.accept(","):
            values.append(self.number())
        self.expect(")")
        return values

    def data_type(self) -> t.DataType:
        kind, word, _ = self.take()
        if kind != "word":
            raise _UnknownType(word)
        data_type = self.base_type(word.upper())
        if data_type is None:
            raise _UnknownType(word)
        if self.accept("NOT"):
            self.expect("NULL")
            return data_type.not_null()
        self.accept("NULL")
        return data_type

    def base_type(self, name: str) -> Optional[t.DataType]:
        if name in _SIMPLE:
            return _SIMPLE[name]()
        if name in _WITH_LENGTH:
            arguments = self.arguments()
            if len(arguments) > 1:
                raise ValueError(f"{name} takes one length")
            make, fixed = _WITH_LENGTH[name]
            return make(True, arguments[0] if arguments else 1, fixed=fixed)
        if name == "NULL":
            return t.NullType()
        if name in ("DECIMAL", "DEC", "NUMERIC"):
            arguments = self.arguments()
            if len(arguments) > 2:
                raise ValueError("DECIMAL takes a precision and a scale")
            return t.DecimalType(*arguments)
        if name in ("TIME", "TIMESTAMP", "TIMESTAMP_LTZ"):
            arguments = self.arguments()
            if len(arguments) > 1:
                raise ValueError(f"{name} takes one precision")
            precision = arguments[0] if arguments else None
            if name == "TIMESTAMP" and self.accept("WITH"):
                for word in ("LOCAL", "TIME", "ZONE"):
                    self.expect(word)
                return t.LocalZonedTimestampType(precision)
            if name != "TIMESTAMP_LTZ" and self.accept("WITHOUT"):
                self.expect("TIME")
                self.expect("ZONE")
            return {"TIME": t.TimeType, "TIMESTAMP": t.TimestampType,
                    "TIMESTAMP_LTZ": t.LocalZonedTimestampType}[name](precision)
        if name == "ARRAY":
            self.expect("<")
            element = self.data_type()
            self.expect(">")
            return t.ArrayType(element)
        if name == "MAP":
            self.expect("<")
            key = self.data_type()
            self.expect(",")
            value = self.data_type()
            self.expect(">")
            return t.MapType(key, value)
        if name == "ROW":
            return self.row()
        return None

    def row(self) -> t.RowType:
        closing = ">" if self.accept("<") else ")" if self.accept("(") else None
        if closing is None:
            raise ValueError("expected '<' after ROW")
        fields = [self.field()]
        while self.accept(","):
            fields.append(self.field())
        self.expect(closing)
        return t.RowType(fields)

    def field(self) -> t.RowField:
        kind, value, position = self.take()
        if kind == "word":
            name = value
        elif kind == "quoted":
            name = value[1:-1].replace("``", "`")
        else:
            raise ValueError(f"expected a field name, found {value!r} at position {position + 1}")
        data_type = self.data_type()
        description = None
        token = self.peek()
        if token is not None and token[0] == "string":
            self.index += 1
            description = token[1][1:-1].replace("''", "'")
        return t.RowField(name, data_type, description)
