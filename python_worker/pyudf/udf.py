"""Defining Python functions: PyFlink 1.10's ``udf``, ``ScalarFunction`` and friends."""
from __future__ import annotations

import inspect
import warnings
from typing import Any, Optional, Sequence, Union

from pyudf.metrics import MetricGroup
from pyudf.types import DataType, as_data_type

# "general": called once per row; "pandas": once per batch, with a pandas.Series per argument.
FUNC_TYPES = ("general", "pandas")


class FunctionContext:
    """Given to ``open()``: the job's parameters and the function's metric group."""

    def __init__(self, job_parameters: Optional[dict[str, str]] = None,
                 metric_group: Optional[MetricGroup] = None) -> None:
        self._job_parameters = dict(job_parameters or {})
        # A context made by hand (a unit test of a function) still gets a working group.
        self._metric_group = metric_group if metric_group is not None else MetricGroup()

    def get_job_parameter(self, key: str, default_value: Optional[str] = None) -> Optional[str]:
        return self._job_parameters.get(key, default_value)

    def get_metric_group(self) -> MetricGroup:
        return self._metric_group


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


class DeclaredFunction:
    """What ``udf``, ``udtf`` and ``udaf`` return have in common: the function, its input
    types, its name and whether it is deterministic (the function's own answer unless
    declared)."""

    _declarer = ""  # "udf", "udtf" or "udaf", for repr

    def __init__(
        self,
        func: Any,
        input_types: Optional[list[DataType]],
        deterministic: Optional[bool],
        name: Optional[str],
    ) -> None:
        self._func = func
        self._input_types = input_types
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
    def name(self) -> str:
        return self._name

    def is_deterministic(self) -> bool:
        return self._deterministic

    def _signature(self) -> str:
        types = ", ".join(map(str, self._input_types)) if self._input_types is not None else "?"
        return f"{self._declarer} {self._name}({types})"


class UserDefinedFunctionWrapper(DeclaredFunction):
    """What ``udf(...)`` returns: the function plus its declared signature.

    Calling it calls the function, so a UDF module can be unit-tested in plain
    Python.
    """

    _declarer = "udf"

    def __init__(
        self,
        func: Any,
        input_types: Optional[list[DataType]],
        result_type: Optional[DataType],
        func_type: str = "general",
        deterministic: Optional[bool] = None,
        name: Optional[str] = None,
        concurrency: Optional[int] = None,
        io_threads: Optional[int] = None,
    ) -> None:
        if not callable(func) and not isinstance(func, ScalarFunction):
            raise TypeError(f"udf() needs a callable or a ScalarFunction, got {func!r}")
        check_func_type(func_type, FUNC_TYPES, "udf")
        check_call_options(func, func_type, concurrency, io_threads, "udf()")
        super().__init__(func, input_types, deterministic, name)
        self._concurrency = concurrency
        self._io_threads = io_threads
        self._result_type = result_type
        self._func_type = func_type

    @property
    def result_type(self) -> Optional[DataType]:
        return self._result_type

    @property
    def func_type(self) -> str:
        return self._func_type

    @property
    def concurrency(self) -> Optional[int]:
        return self._concurrency

    @property
    def io_threads(self) -> Optional[int]:
        return self._io_threads

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        target = self._func.eval if isinstance(self._func, ScalarFunction) else self._func
        return target(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<{self._signature()} -> {self._result_type}>"


TypeSpec = Union[DataType, str]


def is_async(func: Any) -> bool:
    """Whether calling the function (a ScalarFunction's eval) returns a coroutine."""
    target = func.eval if isinstance(func, ScalarFunction) else func
    if inspect.iscoroutinefunction(target):
        return True
    call = getattr(type(target), "__call__", None)
    return not inspect.isroutine(target) and inspect.iscoroutinefunction(call)


def resolve_func_type(func_type: str, udf_type: Optional[str], declarer: str) -> str:
    """``udf_type=``, PyFlink 1.11/1.12's spelling, as the deprecated alias of ``func_type=``."""
    if udf_type is None:
        return func_type
    if func_type not in ("general", udf_type):
        raise ValueError(f"{declarer}(): udf_type={udf_type!r} and func_type={func_type!r} disagree; use func_type alone")
    warnings.warn(f"{declarer}(udf_type=...) is deprecated, as in PyFlink: use func_type=", DeprecationWarning, stacklevel=3)
    return udf_type


def check_func_type(func_type: str, supported: Sequence[str], declarer: str) -> None:
    if func_type not in supported:
        raise ValueError(f"{declarer}(func_type={func_type!r}) is not supported; supported: {', '.join(supported)}")


def check_call_options(func: Any, func_type: str, concurrency: Any, io_threads: Any, where: str) -> None:
    """Refuses options that do not fit the function: a mistake found when it is declared, not mid-job."""
    for option, value in (("concurrency", concurrency), ("io_threads", io_threads)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{where}: {option} must be a positive integer, got {value!r}")
    asynchronous = is_async(func)
    if asynchronous and func_type == "pandas":
        raise ValueError(f"{where}: a vectorized function (func_type='pandas') cannot be async")
    if concurrency is not None and not asynchronous:
        raise ValueError(
            f"{where}: concurrency applies to async functions (async def); "
            "a plain function can run its rows on threads with io_threads"
        )
    if io_threads is not None and (asynchronous or func_type == "pandas"):
        kind = "an async function" if asynchronous else "a vectorized function"
        raise ValueError(f"{where}: io_threads applies to plain row functions, not to {kind}")


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
    concurrency: Optional[int] = None,
    io_threads: Optional[int] = None,
    udf_type: Optional[str] = None,
) -> Any:
    """Declares a Python scalar function, as ``pyflink.table.udf.udf``.

    Either ``add = udf(f, [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT())``
    or as a decorator ``@udf(input_types=[...], result_type=...)``.

    ``func_type="pandas"`` makes a vectorized function: called once per batch
    with a ``pandas.Series`` per argument, it returns a Series of the same
    length. An ``async def`` function runs the rows of a batch concurrently,
    at most ``concurrency`` at once (default 64); a plain function may run
    them on ``io_threads`` threads.
    """
    func_type = resolve_func_type(func_type, udf_type, "udf")
    check_func_type(func_type, FUNC_TYPES, "udf")  # refused up front, as PyFlink does, not at decoration

    def create(func: Any) -> UserDefinedFunctionWrapper:
        return UserDefinedFunctionWrapper(
            func,
            _input_type_list(input_types),
            as_data_type(result_type, "result_type") if result_type is not None else None,
            func_type=func_type,
            deterministic=deterministic,
            name=name,
            concurrency=concurrency,
            io_threads=io_threads,
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
