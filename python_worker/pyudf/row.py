"""``Row``: the Python value of a ROW, with the behaviour of PyFlink's ``pyflink.common.Row``."""
from __future__ import annotations

from enum import Enum
from typing import Any, Iterator, Optional, Sequence

__all__ = ["Row", "RowKind"]


class RowKind(Enum):
    INSERT = 0
    UPDATE_BEFORE = 1
    UPDATE_AFTER = 2
    DELETE = 3


def make_row(names: Optional[Sequence[str]], values: Sequence[Any], kind: RowKind = RowKind.INSERT) -> "Row":
    """A Row of `values` with the field names `names` in their order (None: positions only), unsorted."""
    row = Row(*values)
    if names is not None:
        row._fields = list(names)
    row._row_kind = kind
    return row


# Rows pickled by earlier versions name this.
_make_row = make_row


class Row:
    """A row of values, read by position like a tuple and by field name.

    ``Row(1, "a")`` has positions only; ``Row(name="Alice", age=11)`` has fields,
    sorted by name as PyFlink sorts them (``Row(age=11, name='Alice')``). A ROW
    argument reaches a function as a Row with the type's field names::

        >>> row = Row(name="Alice", age=11)
        >>> row.name, row["age"], row[0], tuple(row)
        ('Alice', 11, 11, (11, 'Alice'))
        >>> Person = Row("name", "age")   # a Row used as a row class
        >>> Person("Bob", 7)
        Row(name='Bob', age=7)

    A function returning a ROW may return a Row (matched to the type by field
    name when it has names, else by position), a tuple or a list.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and kwargs:
            raise ValueError("a Row takes positional values or named values, not both")
        if kwargs:
            names = sorted(kwargs)
            self._fields = names
            self._values = [kwargs[name] for name in names]
        else:
            self._values = list(args)
        self._row_kind = RowKind.INSERT

    def as_dict(self, recursive: bool = False) -> dict[str, Any]:
        """The fields as a dict; ``recursive`` turns nested Rows (in lists and dicts too) into dicts."""
        if not hasattr(self, "_fields"):
            raise TypeError("a Row without field names cannot become a dict")
        if not recursive:
            return dict(zip(self._fields, self._values))

        def plain(value: Any) -> Any:
            if isinstance(value, Row):
                return value.as_dict(True)
            if isinstance(value, list):
                return [plain(item) for item in value]
            if isinstance(value, dict):
                return {key: plain(item) for key, item in value.items()}
            return value

        return {name: plain(value) for name, value in zip(self._fields, self._values)}

    def get_row_kind(self) -> RowKind:
        return self._row_kind

    def set_row_kind(self, row_kind: RowKind) -> None:
        self._row_kind = row_kind

    def set_field_names(self, field_names: Sequence[str]) -> None:
        self._fields = list(field_names)

    def get_fields_by_names(self, names: Sequence[str]) -> list[Any]:
        """The values of ``names``, in that order; by position when the Row has no names."""
        if not hasattr(self, "_fields"):
            return list(self._values)
        missing = [name for name in names if name not in self._fields]
        if missing:
            raise KeyError(f"the Row has no field(s) {', '.join(map(repr, missing))}; it has {self._fields}")
        return [self._values[self._fields.index(name)] for name in names]

    def __call__(self, *args: Any) -> "Row":
        """A Row of field names makes Rows with those names: ``Row("a", "b")(1, 2)``."""
        if len(args) > len(self._values):
            raise ValueError(f"cannot make a Row of fields {self._values} from {len(args)} values {args!r}")
        return make_row(self._values, args)

    def _position(self, name: str) -> int:
        fields = self.__dict__.get("_fields")
        if fields is None or name not in fields:
            raise KeyError(name)
        return fields.index(name)

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, (int, slice)):
            return self._values[item]
        return self._values[self._position(item)]

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, (int, slice)):
            self._values[key] = value
        else:
            self._values[self._position(key)] = value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[self._position(name)]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in ("_fields", "_values", "_row_kind"):
            raise AttributeError(f"a Row's fields are set by index or name (row[{name!r}] = ...), not as attributes")
        self.__dict__[name] = value

    def __contains__(self, item: Any) -> bool:
        return item in self._values

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Row):
            return False
        return (self.__dict__.get("_fields") == other.__dict__.get("_fields")
                and self._row_kind == other._row_kind and self._values == other._values)

    def __hash__(self) -> int:
        return hash(tuple(self._values))

    def __reduce__(self) -> tuple[Any, ...]:
        return make_row, (self.__dict__.get("_fields"), tuple(self._values), self._row_kind)

    def __repr__(self) -> str:
        fields = self.__dict__.get("_fields")
        if fields is not None:
            return "Row(%s)" % ", ".join(f"{name}={value!r}" for name, value in zip(fields, self._values))
        return "<Row(%s)>" % ", ".join(map(repr, self._values))
