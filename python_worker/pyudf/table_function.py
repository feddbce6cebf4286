"""Defining table functions: PyFlink's ``udtf`` and ``TableFunction``."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

from pyudf.types import DataType, as_data_type
from pyudf.udf import DeclaredFunction, TypeSpec, UserDefinedFunction, _input_type_list


class TableFunction(UserDefinedFunction):
    """A function of one row producing zero, one or many rows: override ``eval``.

    ``eval`` yields its rows (or returns a list of them, or None for none): a
    tuple per row, or a single value when the function has one result column.
    """

    def eval(self, *args: Any) -> Any:
        raise NotImplementedError("TableFunction subclasses must implement eval()")


class UserDefinedTableFunctionWrapper(DeclaredFunction):
    """What ``udtf(...)`` returns: the function plus its declared signature.

    Calling it calls the function (a generator function returns its
    generator), so a UDTF module can be unit-tested in plain Python.
    """

    _declarer = "udtf"

    def __init__(
        self,
        func: Any,
        input_types: Optional[list[DataType]],
        result_types: Optional[list[DataType]],
        deterministic: Optional[bool] = None,
        name: Optional[str] = None,
    ) -> None:
        if isinstance(func, type) or not (callable(func) or isinstance(func, TableFunction)):
            raise TypeError(f"udtf() needs a callable or a TableFunction instance, got {func!r}")
        super().__init__(func, input_types, deterministic, name)
        self._result_types = result_types

    @property
    def result_types(self) -> Optional[list[DataType]]:
        return self._result_types

    def __call__(self, *args: Any) -> Any:
        target = self._func.eval if isinstance(self._func, TableFunction) else self._func
        return target(*args)

    def __repr__(self) -> str:
        results = ", ".join(map(str, self._result_types)) if self._result_types is not None else "?"
        return f"<{self._signature()} -> ({results})>"


def _result_type_list(result_types: Union[None, TypeSpec, Sequence[TypeSpec]]) -> Optional[list[DataType]]:
    if result_types is None:
        return None
    if isinstance(result_types, (DataType, str)):
        return [as_data_type(result_types, "result_types")]
    types = [as_data_type(t, f"result_types[{i}]") for i, t in enumerate(result_types)]
    if not types:
        raise ValueError("udtf(result_types=[]) declares no result column; a table function needs at least one")
    return types


def udtf(
    f: Any = None,
    input_types: Union[None, TypeSpec, Sequence[TypeSpec]] = None,
    result_types: Union[None, TypeSpec, Sequence[TypeSpec]] = None,
    deterministic: Optional[bool] = None,
    name: Optional[str] = None,
) -> Any:
    """Declares a Python table function, as ``pyflink.table.udf.udtf``.

    Either a decorator on a generator::

        @udtf(result_types=[DataTypes.STRING(), DataTypes.INT()])
        def split(line):
            for word in line.split():
                yield word, len(word)

    or ``split = udtf(Split(), [DataTypes.STRING()], [DataTypes.STRING(), DataTypes.INT()])``
    with a ``TableFunction`` subclass.
    """

    def create(func: Any) -> UserDefinedTableFunctionWrapper:
        return UserDefinedTableFunctionWrapper(
            func,
            _input_type_list(input_types),
            _result_type_list(result_types),
            deterministic=deterministic,
            name=name,
        )

    if f is None:
        return create
    return create(f)


__all__ = ["TableFunction", "UserDefinedTableFunctionWrapper", "udtf"]
