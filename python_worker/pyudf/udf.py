"""Defining Python functions: PyFlink 1.10's ``udf``, ``ScalarFunction`` and friends."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

from pyudf.types import DataType, as_data_type

FUNC_TYPES = ("general",)


class FunctionContext:
    """Given to ``open()``: what the job passes to its functions."""

    def __init__(self, job_parameters: Optional[dict[str, str]] = None) -> None:
        self._job_parameters = dict(job_parameters or {})

    def get_job_parameter(self, key: str, default_value: Optional[str] = None) -> Optional[str]:
        return self._job_parameters.get(key, default_value)


class UserDefinedFunction:
    """Base of function classes: ``open`` and ``close`` run once per worker."""

    def open(self, function_context: FunctionContext) -> None:
        pass

    def close(self) -> None:
        pass

    def is_deterministic(self) -> bool:
        return True


class ScalarFunction(UserDefinedFunction):
    """A function of one row returning one value: override ``eval``."""

    def eval(self, *args: Any) -> Any:
        raise NotImplementedError("ScalarFunction subclasses must implement eval()")


class UserDefinedFunctionWrapper:
    """What ``udf(...)`` returns: the function plus its declared signature.

    Calling it calls the function, so a UDF module can be unit-tested in plain
    Python.
    """

    def __init__(
        self,
        func: Any,
        input_types: Optional[list[DataType]],
        result_type: Optional[DataType],
        func_type: str = "general",
        deterministic: Optional[bool] = None,
        name: Optional[str] = None,
    ) -> None:
        if not callable(func) and not isinstance(func, ScalarFunction):
            raise TypeError(f"udf() needs a callable or a ScalarFunction, got {func!r}")
        if func_type not in FUNC_TYPES:
            raise ValueError(
                f"udf(func_type={func_type!r}) is not supported; supported: {', '.join(FUNC_TYPES)}"
            )
        self._func = func
        self._input_types = input_types
        self._result_type = result_type
        self._func_type = func_type
        self._deterministic = (
            deterministic if deterministic is not None
            else (func.is_deterministic() if isinstance(func, UserDefinedFunction) else True)
        )
        self._name = name or getattr(func, "__name__", None) or type(func).__name__

    @property
    def func(self) -> Any:
        return self._func

    @property
    def input_types(self) -> Optional[list[DataType]]:
        return self._input_types

    @property
    def result_type(self) -> Optional[DataType]:
        return self._result_type

    @property
    def func_type(self) -> str:
        return self._func_type

    @property
    def name(self) -> str:
        return self._name

    def is_deterministic(self) -> bool:
        return self._deterministic

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        target = self._func.eval if isinstance(self._func, ScalarFunction) else self._func
        return target(*args, **kwargs)

    def __repr__(self) -> str:
        types = ", ".join(map(str, self._input_types)) if self._input_types is not None else "?"
        return f"<udf {self._name}({types}) -> {self._result_type}>"


TypeSpec = Union[DataType, str]


def _input_type_list(input_types: Union[None, TypeSpec, Sequence[TypeSpec]]) -> Optional[list[DataType]]:
    if input_types is None:
        return None
    if isinstance(input_types, (DataType, str)):
        return [as_data_type(input_types, "input_types")]
    return [as_data_type(t, f"input_types[{i}]") for i, t in enumerate(input_types)]


def udf(
    f: Any = None,
    input_types: Union[None, TypeSpec, Sequence[TypeSpec]] = None,
    result_type: Optional[TypeSpec] = None,
    deterministic: Optional[bool] = None,
    name: Optional[str] = None,
    func_type: str = "general",
) -> Any:
    """Declares a Python scalar function, as ``pyflink.table.udf.udf``.

    Either ``add = udf(f, [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT())``
    or as a decorator ``@udf(input_types=[...], result_type=...)``.
    """
    if func_type not in FUNC_TYPES:  # refused up front, as PyFlink does, not at decoration
        raise ValueError(
            f"udf(func_type={func_type!r}) is not supported; supported: {', '.join(FUNC_TYPES)}"
        )

    def create(func: Any) -> UserDefinedFunctionWrapper:
        return UserDefinedFunctionWrapper(
            func,
            _input_type_list(input_types),
            as_data_type(result_type, "result_type") if result_type is not None else None,
            func_type=func_type,
            deterministic=deterministic,
            name=name,
        )

    if f is None:
        return create
    return create(f)


__all__ = [
    "FunctionContext",
    "ScalarFunction",
    "UserDefinedFunction",
    "UserDefinedFunctionWrapper",
    "udf",
]
