"""Defining table aggregate functions: PyFlink's ``udtaf`` and ``TableAggregateFunction``."""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence, Union

from pyudf.aggregate_function import ImperativeAggregateFunction
from pyudf.types import DataType, RowType, as_data_type
from pyudf.udf import DeclaredFunction, TypeSpec, _input_type_list, check_func_type


class TableAggregateFunction(ImperativeAggregateFunction):
    """Maps the rows of a group to zero, one or many rows, through an accumulator.

    ``create_accumulator()``, ``accumulate(acc, *args)`` and ``merge(acc, accs)``
    as in an ``AggregateFunction``; ``emit_value(acc)`` yields the group's rows
    (a ``Row`` or tuple each, fields as ``get_result_type()``'s ROW). Use it with
    ``table.groupBy('k').flatAggregate('top2')``. ``retract`` is accepted for
    PyFlink compatibility and never called (tables are append-only).
    """

    def emit_value(self, accumulator: Any) -> Iterable[Any]:
        raise NotImplementedError("TableAggregateFunction subclasses must implement emit_value()")


def declared_type(method: Any) -> Any:
    """What a get_*_type() method returns, or None when the subclass leaves it out."""
    try:
        return method()
    except (RuntimeError, NotImplementedError):
        return None


def check_table_aggregate_result(result_type: DataType) -> None:
    """A table aggregate's rows are a ROW's: anything else is refused when it is declared."""
    if not isinstance(result_type, RowType):
        raise TypeError(f"the result type of a table aggregate function is a ROW of its columns, got {result_type}")


class UserDefinedTableAggregateFunctionWrapper(DeclaredFunction):
    """What ``udtaf(...)`` returns: the function plus its declared signature."""

    _declarer = "udtaf"

    def __init__(
        self,
        func: Any,
        input_types: Optional[list[DataType]],
        result_type: Optional[TypeSpec],
        accumulator_type: Optional[TypeSpec],
        deterministic: Optional[bool] = None,
        name: Optional[str] = None,
    ) -> None:
        if not isinstance(func, TableAggregateFunction):
            raise TypeError(f"udtaf() needs a TableAggregateFunction instance, got {func!r}")
        result_type = result_type if result_type is not None else declared_type(func.get_result_type)
        accumulator_type = accumulator_type if accumulator_type is not None else declared_type(func.get_accumulator_type)
        super().__init__(func, input_types, deterministic, name)
        self._result_type = as_data_type(result_type, "result_type") if result_type is not None else None
        if self._result_type is not None:
            check_table_aggregate_result(self._result_type)
        # Kept for PyFlink compatibility: accumulators stay in the worker's Python.
        self._accumulator_type = accumulator_type

    @property
    def result_type(self) -> Optional[DataType]:
        return self._result_type

    @property
    def accumulator_type(self) -> Optional[TypeSpec]:
        return self._accumulator_type

    @property
    def func_type(self) -> str:
        return "general"

    def __repr__(self) -> str:
        return f"<{self._signature()} -> {self._result_type}>"


def udtaf(
    f: Any = None,
    input_types: Union[None, TypeSpec, Sequence[TypeSpec]] = None,
    result_type: Optional[TypeSpec] = None,
    accumulator_type: Optional[TypeSpec] = None,
    deterministic: Optional[bool] = None,
    name: Optional[str] = None,
    func_type: str = "general",
) -> Any:
    """Declares a Python table aggregate function, as ``pyflink.table.udf.udtaf``::

        top2 = udtaf(Top2(), result_type=DataTypes.ROW([DataTypes.FIELD("a", DataTypes.BIGINT())]))
    """
    check_func_type(func_type, ("general",), "udtaf")  # PyFlink has no pandas table aggregate either

    def create(func: Any) -> UserDefinedTableAggregateFunctionWrapper:
        return UserDefinedTableAggregateFunctionWrapper(
            func, _input_type_list(input_types), result_type, accumulator_type, deterministic=deterministic, name=name,
        )

    if f is None:
        return create
    return create(f)


__all__ = ["TableAggregateFunction", "UserDefinedTableAggregateFunctionWrapper", "udtaf"]
