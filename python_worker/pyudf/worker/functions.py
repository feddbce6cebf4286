"""Resolving a FunctionSpec's callable expression into something the worker can call per row."""
from __future__ import annotations

import builtins
import datetime
import decimal
import functools
import importlib
import inspect
import linecache
import math
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Optional

import pyudf
from pyudf.worker import load_phases
from pyudf.aggregate_function import AggregateFunction, UserDefinedAggregateFunctionWrapper
from pyudf.table_aggregate_function import TableAggregateFunction, UserDefinedTableAggregateFunctionWrapper
from pyudf.table_function import TableFunction, UserDefinedTableFunctionWrapper
from pyudf.types import DataType, parse_type
from pyudf.udf import (
    FUNC_TYPES, FunctionContext, ScalarFunction, UserDefinedFunction, UserDefinedFunctionWrapper,
    check_call_options, is_async,
)

# Calls of one batch of an async function running at once, unless declared.
DEFAULT_ASYNC_CONCURRENCY = 64

_DOTTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class FunctionLoadError(Exception):
    """A function's declaration is unusable: raised with a message meant for the job's author."""

    def __init__(self, exception_type: str, message: str, source_location: str = "") -> None:
        super().__init__(message)
        self.exception_type = exception_type
        self.source_location = source_location


@dataclass
class LoadedFunction:
    name: str
    call: Callable[..., Any]
    input_types: Optional[list[DataType]]
    # None for a table function, whose columns are result_types.
    result_type: Optional[DataType]
    source_location: str
    open: Callable[[FunctionContext], None]
    close: Callable[[], None]
    continue_on_error: bool = False
    # "scalar", "table" or "aggregate".
    category: str = "scalar"
    # "general" (called per row) or "pandas" (called with pandas.Series); for a scalar
    # function also "async" (a coroutine per row) or "threads" (rows on a thread pool).
    kind: str = "general"
    # Calls of one batch at once, for "async" and "threads".
    concurrency: int = 1
    result_types: Optional[list[DataType]] = None
    # An aggregate function's accumulators and steps (pyudf.worker.aggregates).
    aggregator: Any = None


def _nothing(*_: Any) -> None:
    return None


def _namespace() -> dict[str, Any]:
    """What a callable expression such as ``lambda i, j: i + j`` can see."""
    names: dict[str, Any] = {
        "__builtins__": builtins, "functools": functools, "math": math, "datetime": datetime, "decimal": decimal,
    }
    names.update({name: getattr(pyudf, name) for name in pyudf.__all__})
    return names


def _evaluate(function_name: str, expression: str) -> Any:
    if _DOTTED_NAME.match(expression):
        found, value = _import_dotted(expression)
        if found:
            return value
        module = expression.split(".")[0]
        if "." in expression and module not in _namespace():
            raise FunctionLoadError(
                "ModuleNotFoundError",
                f"no Python module {module!r} is shipped with the job, so {expression!r} cannot be resolved: "
                f"ship its file with tEnv.addPythonFile('{module}.py') (or the directory holding the "
                f"package {module!r}), or install it with tEnv.setPythonRequirements(...)",
            )
    filename = f"<udf {function_name}>"
    # Registering the source lets tracebacks show the failing line of a lambda.
    linecache.cache[filename] = (len(expression), None, expression.splitlines(True) or [""], filename)
    code = compile(expression, filename, "eval")
    return eval(code, _namespace())


def _import_dotted(expression: str) -> tuple[bool, Any]:
    """Imports the longest module prefix of ``a.b.c`` and walks the rest as attributes."""
    parts = expression.split(".")
    for split in range(len(parts), 0, -1):
        module_name = ".".join(parts[:split])
        load_phases.at(f"import of module {_first_unimported(parts[:split])!r}")
        try:
            value: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # Only "this prefix is not a module" means: try a shorter one. A module
            # that exists but fails to import one of its own dependencies is an error.
            if exc.name is not None and (module_name == exc.name or module_name.startswith(exc.name + ".")):
                continue
            raise
        for attribute in parts[split:]:
            if not hasattr(value, attribute):
                raise FunctionLoadError(
                    "AttributeError",
                    f"module {module_name!r} has no attribute {attribute!r} "
                    f"(while resolving {expression!r})",
                )
            value = getattr(value, attribute)
        return True, value
    return False, None


def _first_unimported(parts: list[str]) -> str:
    """The module importing `a.b.c` imports first: the outermost one not imported yet."""
    for end in range(1, len(parts) + 1):
        name = ".".join(parts[:end])
        if name not in sys.modules:
            return name
    return ".".join(parts)


def _location_of(target: Any) -> str:
    if isinstance(target, functools.partial):
        return _location_of(target.func)
    code = getattr(target, "__code__", None)
    if code is None and not inspect.isroutine(target) and callable(target):
        code = getattr(getattr(type(target), "__call__", None), "__code__", None)
    if code is None:
        return ""
    return f"{code.co_filename}:{code.co_firstlineno}"


def _check_arity(name: str, target: Callable[..., Any], arity: int, location: str) -> None:
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return  # builtins without a signature: nothing to check
    try:
        signature.bind(*([None] * arity))
    except TypeError as exc:
        raise FunctionLoadError(
            "SignatureMismatch",
            f"function {name!r} is declared with {arity} input type(s) "
            f"but its callable{signature} cannot take {arity} argument(s): {exc}",
            location,
        ) from None


def _types_text(types: Optional[list[DataType]]) -> str:
    return "[" + ", ".join(map(str, types)) + "]" if types is not None else "(undeclared)"


def agreed_types(name: str, what: str, ts_types: Any, py_types: Any, location: str) -> Any:
    """The types both sides declare (they must be equal), else whichever side declares them."""
    if ts_types is not None and py_types is not None and ts_types != py_types:
        show = _types_text if isinstance(ts_types, list) else str
        raise FunctionLoadError(
            "SignatureMismatch",
            f"function {name!r}: {what} differ: TypeScript declares {show(ts_types)}, "
            f"Python declares {show(py_types)}",
            location,
        )
    return ts_types if ts_types is not None else py_types


def _category_of(name: str, value: Any, host_category: str) -> str:
    """What the function is: its Python declaration decides, the host's must agree."""
    declared = ""
    if isinstance(value, (TableFunction, UserDefinedTableFunctionWrapper)):
        declared = "table"
    elif isinstance(value, (TableAggregateFunction, UserDefinedTableAggregateFunctionWrapper)):
        declared = "table_aggregate"
    elif isinstance(value, (AggregateFunction, UserDefinedAggregateFunctionWrapper)):
        declared = "aggregate"
    elif isinstance(value, (ScalarFunction, UserDefinedFunctionWrapper)):
        declared = "scalar"
    if host_category and declared and host_category != declared:
        raise FunctionLoadError(
            "SignatureMismatch",
            f"function {name!r}: TypeScript declares a {host_category} function, "
            f"Python a {declared} function",
            _location_of(value),
        )
    return declared or host_category or "scalar"


def load_function(
    name: str,
    expression: str,
    host_input_types: Optional[list[str]],
    host_result_type: Optional[str],
    host_category: str = "",
    host_result_types: Optional[list[str]] = None,
    host_func_type: str = "",
    host_concurrency: int = 0,
    host_io_threads: int = 0,
) -> LoadedFunction:
    value = _evaluate(name, expression)
    if isinstance(value, type) and issubclass(value, UserDefinedFunction):
        value = value()
    category = _category_of(name, value, host_category)
    # Imported here: those modules build on this one's helpers.
    if category == "table":
        from pyudf.worker.table_calls import load_table_function
        return load_table_function(name, value, host_input_types, host_result_types)
    if category == "aggregate":
        from pyudf.worker.aggregates import load_aggregate_function
        return load_aggregate_function(name, value, host_input_types, host_result_type)
    if category == "table_aggregate":
        from pyudf.worker.aggregates import load_table_aggregate_function
        return load_table_aggregate_function(name, value, host_input_types, host_result_type)

    py_inputs: Optional[list[DataType]] = None
    py_result: Optional[DataType] = None
    py_func_type: Optional[str] = None
    py_concurrency: Optional[int] = None
    py_io_threads: Optional[int] = None
    if isinstance(value, UserDefinedFunctionWrapper):
        py_inputs, py_result = value.input_types, value.result_type
        py_func_type, py_concurrency, py_io_threads = value.func_type, value.concurrency, value.io_threads
        value = value.func

    if isinstance(value, ScalarFunction):
        call, target = value.eval, value.eval
    elif callable(value):
        call, target = value, value
    else:
        raise FunctionLoadError(
            "TypeError",
            f"function {name!r}: {expression!r} evaluates to {type(value).__name__} {value!r}, "
            "which is not callable",
        )
    location = _location_of(target)
    opener = value.open if isinstance(value, UserDefinedFunction) else _nothing
    closer = value.close if isinstance(value, UserDefinedFunction) else _nothing

    ts_inputs = [parse_type(t) for t in host_input_types] if host_input_types is not None else None
    ts_result = parse_type(host_result_type) if host_result_type else None
    if ts_inputs is not None and py_inputs is not None and ts_inputs != py_inputs:
        raise FunctionLoadError(
            "SignatureMismatch",
            f"function {name!r}: input types differ: TypeScript declares {_types_text(ts_inputs)}, "
            f"Python declares {_types_text(py_inputs)}",
            location,
        )
    if ts_result is not None and py_result is not None and ts_result != py_result:
        raise FunctionLoadError(
            "SignatureMismatch",
            f"function {name!r}: result types differ: TypeScript declares {ts_result}, "
            f"Python declares {py_result}",
            location,
        )
    input_types = ts_inputs if ts_inputs is not None else py_inputs
    result_type = ts_result or py_result
    if result_type is None:
        raise FunctionLoadError(
            "SignatureMismatch",
            f"function {name!r} has no result type: declare result_type in Python "
            "(udf(..., result_type=DataTypes.BIGINT())) or pass it to udf() in TypeScript",
            location,
        )
    if input_types is not None:
        _check_arity(name, target, len(input_types), location)
    func_type = _func_type(name, host_func_type, py_func_type, location)
    # The job may tune what the Python declaration chose.
    concurrency = host_concurrency or py_concurrency
    io_threads = host_io_threads or py_io_threads
    try:
        check_call_options(value, func_type, concurrency, io_threads, f"function {name!r}")
    except ValueError as exc:
        raise FunctionLoadError("SignatureMismatch", str(exc), location) from None
    loaded = LoadedFunction(name, call, input_types, result_type, location, opener, closer)
    if func_type == "pandas":
        loaded.kind = "pandas"
    elif is_async(value):
        loaded.kind, loaded.concurrency = "async", concurrency or DEFAULT_ASYNC_CONCURRENCY
    elif io_threads:
        loaded.kind, loaded.concurrency = "threads", io_threads
    return loaded


def _func_type(name: str, host: str, python: Optional[str], location: str) -> str:
    if host and host not in FUNC_TYPES:
        raise FunctionLoadError(
            "SignatureMismatch",
            f"function {name!r}: funcType {host!r} is not supported; supported: {', '.join(FUNC_TYPES)}",
            location,
        )
    if host and python is not None and host != python:
        raise FunctionLoadError(
            "SignatureMismatch",
            f"function {name!r}: TypeScript declares funcType {host!r}, Python declares func_type {python!r}",
            location,
        )
    return host or python or "general"
