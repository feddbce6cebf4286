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
from dataclasses import dataclass
from typing import Any, Callable, Optional

import pyudf
from pyudf.types import DataType, parse_type
from pyudf.udf import FunctionContext, ScalarFunction, UserDefinedFunction, UserDefinedFunctionWrapper

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
    result_type: DataType
    source_location: str
    open: Callable[[FunctionContext], None]
    close: Callable[[], None]
    continue_on_error: bool = False


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


def load_function(
    name: str,
    expression: str,
    host_input_types: Optional[list[str]],
    host_result_type: Optional[str],
) -> LoadedFunction:
    value = _evaluate(name, expression)
    if isinstance(value, type) and issubclass(value, UserDefinedFunction):
        value = value()

    py_inputs: Optional[list[DataType]] = None
    py_result: Optional[DataType] = None
    if isinstance(value, UserDefinedFunctionWrapper):
        py_inputs, py_result = value.input_types, value.result_type
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
    return LoadedFunction(name, call, input_types, result_type, location, opener, closer)
