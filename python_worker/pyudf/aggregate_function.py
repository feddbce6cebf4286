"""Defining aggregate functions: PyFlink's ``udaf`` and ``AggregateFunction``."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

from pyudf.types import DataType, MapType, as_data_type
from pyudf.udf import (
    DeclaredFunction, TypeSpec, UserDefinedFunction, _input_type_list, check_func_type, resolve_func_type,
)

AGGREGATE_FUNC_TYPES = ("general", "pandas")


class ImperativeAggregateFunction(UserDefinedFunction):
    """What aggregate and table aggregate functions share, as PyFlink's base class of the same name.

    ``create_accumulator()`` makes a group's (mutable) accumulator and
    ``accumulate(acc, *args)`` adds a row to it in place; ``merge(acc, accs)``
    combines accumulators built by different workers; ``retract`` is accepted
    for PyFlink compatibility and never called (tables are append-only).
    """

    def create_accumulator(self) -> Any:
        raise NotImplementedError(f"{self._base_name()} subclasses must implement create_accumulator()")

    def accumulate(self, accumulator: Any, *args: Any) -> None:
        raise NotImplementedError(f"{self._base_name()} subclasses must implement accumulate()")

    def retract(self, accumulator: Any, *args: Any) -> None:
        raise RuntimeError("Method retract is not implemented")

    def merge(self, accumulator: Any, accumulators: Sequence[Any]) -> None:
        raise RuntimeError("Method merge is not implemented")

    def get_result_type(self) -> TypeSpec:
        raise RuntimeError("Method get_result_type is not implemented")

    def get_accumulator_type(self) -> TypeSpec:
        raise RuntimeError("Method get_accumulator_type is not implemented")

    def _base_name(self) -> str:
        """The pyudf class a subclass extends, for messages about what it lacks."""
        return next(c.__name__ for c in type(self).__mro__ if c.__module__.startswith("pyudf."))


class AggregateFunction(ImperativeAggregateFunction):
    """Maps the values of a group of rows to one value, through an accumulator.

    ``create_accumulator()``, ``accumulate(acc, *args)``, ``merge(acc, accs)``
    as in ``ImperativeAggregateFunction``; ``get_value(acc)`` gives the
    group's result.
    """

    def get_value(self, accumulator: Any) -> Any:
        raise NotImplementedError("AggregateFunction subclasses must implement get_value()")


def check_pandas_aggregate_result(result_type: DataType) -> None:
    """PyFlink's pandas aggregates cannot return a MAP: refused when declared, as there."""
    if isinstance(result_type, MapType):
        raise TypeError(f"Invalid returnType: Pandas UDAF doesn't support DataType type MAP currently, got {result_type}")


def defines_merge(func: AggregateFunction) -> bool:
    return type(func).merge is not AggregateFunction.merge


def _declared(method: Any) -> Any:
    """What a get_*_type() method returns, or None when the subclass leaves it out."""
    try:
        return method()
    except (RuntimeError, NotImplementedError):
        return None


class UserDefinedAggregateFunctionWrapper(DeclaredFunction):
    """What ``udaf(...)`` returns: the function plus its declared signature."""

    _declarer = "udaf"

    def __init__(
        self,
        func: Any,
        input_types: Optional[list[DataType]],
        result_type: Optional[TypeSpec],
        accumulator_type: Optional[TypeSpec],
        func_type: str = "general",
        deterministic: Optional[bool] = None,
        name: Optional[str] = None,
    ) -> None:
        check_func_type(func_type, AGGREGATE_FUNC_TYPES, "udaf")
        if func_type == "general" and not isinstance(func, AggregateFunction):
            raise TypeError(
                f"udaf() needs an AggregateFunction instance (or func_type='pandas' for a function "
                f"of pandas.Series), got {func!r}"
            )
        if func_type == "pandas" and not isinstance(func, AggregateFunction) and (isinstance(func, type) or not callable(func)):
            raise TypeError(
                f"udaf(func_type='pandas') needs a callable taking pandas.Series or an AggregateFunction, got {func!r}"
            )
        if isinstance(func, AggregateFunction):
            result_type = result_type if result_type is not None else _declared(func.get_result_type)
            accumulator_type = (
                accumulator_type if accumulator_type is not None else _declared(func.get_accumulator_type)
            )
        super().__init__(func, input_types, deterministic, name)
        self._result_type = as_data_type(result_type, "result_type") if result_type is not None else None
        if func_type == "pandas" and self._result_type is not None:
            check_pandas_aggregate_result(self._result_type)
        # Accumulators never leave the worker's Python (they travel between
        # workers pickled), so the type is kept for PyFlink compatibility only.
        self._accumulator_type = accumulator_type
        self._func_type = func_type

    @property
    def result_type(self) -> Optional[DataType]:
        return self._result_type

    @property
    def accumulator_type(self) -> Optional[TypeSpec]:
        return self._accumulator_type

    @property
    def func_type(self) -> str:
        return self._func_type

    def __repr__(self) -> str:
        return f"<{self._signature()} -> {self._result_type} ({self._func_type})>"


def udaf(
    f: Any = None,
    input_types: Union[None, TypeSpec, Sequence[TypeSpec]] = None,
    result_type: Optional[TypeSpec] = None,
    accumulator_type: Optional[TypeSpec] = None,
    deterministic: Optional[bool] = None,
    name: Optional[str] = None,
    func_type: str = "general",
    udf_type: Optional[str] = None,
) -> Any:
    """Declares a Python aggregate function, as ``pyflink.table.udf.udaf``.

    ``udaf(MyAvg(), result_type=DataTypes.DOUBLE(), accumulator_type=...)`` for an
    ``AggregateFunction``, or a function of one ``pandas.Series`` per argument
    (all the rows of a group) returning one value, or an ``AggregateFunction`` whose
    ``accumulate(acc, *series)`` gets the group's Series (PyFlink's pandas form)::

        @udaf(result_type=DataTypes.DOUBLE(), func_type="pandas")
        def mean(v):
            return v.mean()
    """
    func_type = resolve_func_type(func_type, udf_type, "udaf")
    check_func_type(func_type, AGGREGATE_FUNC_TYPES, "udaf")  # refused up front, as PyFlink does

    def create(func: Any) -> UserDefinedAggregateFunctionWrapper:
        return UserDefinedAggregateFunctionWrapper(
            func,
            _input_type_list(input_types),
            result_type,
            accumulator_type,
            func_type=func_type,
            deterministic=deterministic,
            name=name,
        )

    if f is None:
        return create
    return create(f)


__all__ = ["AggregateFunction", "UserDefinedAggregateFunctionWrapper", "udaf"]
