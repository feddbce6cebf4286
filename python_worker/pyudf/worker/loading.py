"""What loading a function of any kind shares: resolving its callable expression, the loaded form, type agreement.

The loaders of each kind (scalar_functions, table_functions, aggregate_functions,
table_aggregate_functions) build on these; functions.load_function picks the loader.
"""
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
from pyudf.types import DataType, parse_type
from pyudf.udf import FunctionContext
from pyudf.worker import load_phases

_DOTTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class FunctionLoadError(Exception):
    """A function's declaration is unusable: raised with a message meant for the job's author."""

    def __init__(self, exception_type: str, message: str, source_location: str = "") -> None:
        super().__init__(message)
        self.exception_type = exception_type
        self.source_location = source_location


@dataclass(frozen=True)
class HostDeclaration:
    """What the host (TypeScript) declares of a function, from its FunctionSpec; empty: not declared."""

    name: str
    # The callable expression: a dotted name, or Python source such as a lambda.
    expression: str
    input_types: Optional[list[str]] = None
    result_type: Optional[str] = None
    category: str = ""
    result_types: Optional[list[str]] = None
    func_type: str = ""
    concurrency: int = 0
    io_threads: int = 0


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
    # An aggregate function's accumulators and steps (pyudf.worker.aggregate_functions).
    aggregator: Any = None


def no_lifecycle(*_: Any) -> None:
    """open() and close() of a function that has none."""
    return None


def _namespace() -> dict[str, Any]:
    """What a callable expression such as ``lambda i, j: i + j`` can see."""
    names: dict[str, Any] = {
        "__builtins__": builtins, "functools": functools, "math": math, "datetime": datetime, "decimal": decimal,
    }
    names.update({name: getattr(pyudf, name) for name in pyudf.__all__})
    return names


def resolve_callable(function_name: str, expression: str) -> Any:
    """The object a callable expression names (imported) or evaluates to."""
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


def location_of(target: Any) -> str:
    """Where `target`'s code starts ("file:line"), for errors about it; "" when it has no Python code."""
    if isinstance(target, functools.partial):
        return location_of(target.func)
    code = getattr(target, "__code__", None)
    if code is None and not inspect.isroutine(target) and callable(target):
        code = getattr(getattr(type(target), "__call__", None), "__code__", None)
    if code is None:
        return ""
    return f"{code.co_filename}:{code.co_firstlineno}"


def check_arity(name: str, target: Callable[..., Any], arity: int, location: str) -> None:
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


def types_text(types: Optional[list[DataType]]) -> str:
    return "[" + ", ".join(map(str, types)) + "]" if types is not None else "(undeclared)"


def agreed_signature(host: HostDeclaration, py_inputs: Any, py_result: Any, location: str) -> tuple:
    """The input and result types TypeScript and Python agree on (either may leave them out)."""
    ts_inputs = [parse_type(t) for t in host.input_types] if host.input_types is not None else None
    ts_result = parse_type(host.result_type) if host.result_type else None
    return (
        agreed_types(host.name, "input types", ts_inputs, py_inputs, location),
        agreed_types(host.name, "result types", ts_result, py_result, location),
    )


def agreed_types(name: str, what: str, ts_types: Any, py_types: Any, location: str) -> Any:
    """The types both sides declare (they must be equal), else whichever side declares them."""
    if ts_types is not None and py_types is not None and ts_types != py_types:
        show = types_text if isinstance(ts_types, list) else str
        raise FunctionLoadError(
            "SignatureMismatch",
            f"function {name!r}: {what} differ: TypeScript declares {show(ts_types)}, "
            f"Python declares {show(py_types)}",
            location,
        )
    return ts_types if ts_types is not None else py_types
