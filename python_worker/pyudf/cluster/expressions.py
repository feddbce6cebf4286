"""Typed expressions of job.json over an Arrow batch, with the host evaluator's semantics.

As src/execution/evaluate.ts: NULL in gives NULL out; AND/OR are three-valued
and evaluate their right side only on the rows the left side leaves undecided;
integer + - * and unary minus wrap to the result type; integer / and % by zero
fail the row with an ARITHMETIC error (and truncate toward zero); DOUBLE and
FLOAT follow IEEE as JavaScript does (x / 0 is an infinity or NaN); strings
order by UTF-16 code units; DECIMAL compares exactly (as DOUBLE against a
float). Python functions are called through the batch's `Calls`.
"""
from __future__ import annotations

import decimal
import math
from typing import Any, Callable, Optional, Protocol, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pyudf.cluster.job import ClusterJobError
from pyudf.cluster.values import arrow_type, constant_value, data_type

_INTEGER_BITS = {"TINYINT": 8, "SMALLINT": 16, "INT": 32, "BIGINT": 64}
_FLOATS = ("FLOAT", "DOUBLE")
_COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")
_ARITHMETIC = ("+", "-", "*", "/", "%")


class Rows(Protocol):
    """The rows of the batch an expression runs over, and calling Python on them."""

    def call(self, name: str, args: list[pa.Array], num_rows: int, type_text: str) -> pa.Array: ...

    def for_rows(self, rows: list[int]) -> "Rows": ...

    def is_dropped(self, row: int) -> bool: ...


class Batch:
    """Columns of equal length; row i of every column is one row."""

    def __init__(self, columns: Sequence[pa.Array], num_rows: int) -> None:
        self.columns = list(columns)
        self.num_rows = num_rows

    @staticmethod
    def of(batch: pa.RecordBatch) -> "Batch":
        return Batch(list(batch.columns), batch.num_rows)

    def take(self, rows: Sequence[int]) -> "Batch":
        indices = pa.array(rows, type=pa.int64())
        return Batch([c.take(indices) for c in self.columns], len(rows))


def evaluate(expr: dict[str, Any], batch: Batch, rows: Rows) -> pa.Array:
    kind = expr["kind"]
    if kind == "column":
        return _as_array(batch.columns[expr["index"]])
    if kind == "constant":
        value = constant_value(expr.get("value"), expr["type"])
        return pa.array([value] * batch.num_rows, type=arrow_type(expr["type"]))
    if kind == "call":
        args = [evaluate(a, batch, rows) for a in expr.get("args", [])]
        return rows.call(expr["name"], args, batch.num_rows, expr["type"])
    if kind == "isNull":
        operand = evaluate(expr["operand"], batch, rows)
        nulls = operand.is_null()
        return pc.invert(nulls) if expr.get("negated") else nulls
    if kind == "unary":
        return _unary(expr, evaluate(expr["operand"], batch, rows))
    if kind in ("not", "negate"):
        return _unary({**expr, "op": "NOT" if kind == "not" else "-"}, evaluate(expr["operand"], batch, rows))
    if kind in ("widen", "cast"):
        target = expr["type"]
        return _map(evaluate(expr["operand"], batch, rows), target, lambda v: _convert(v, target))
    if kind in ("binary", "logic", "compare", "arithmetic"):
        op = expr["op"]
        if op in ("AND", "OR"):
            return _logic(expr, batch, rows)
        left, right = evaluate(expr["left"], batch, rows), evaluate(expr["right"], batch, rows)
        if op in _COMPARISONS:
            return _compare(op, left, right, expr["left"]["type"], expr["right"]["type"])
        if op in _ARITHMETIC:
            return _arithmetic(expr, left, right)
        raise ClusterJobError("JOB_REFUSED", f"unknown operator {op!r} in job.json")
    raise ClusterJobError("JOB_REFUSED", f"unknown expression kind {kind!r} in job.json")


def _as_array(column: Any) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _map(array: pa.Array, type_text: str, fn: Callable[[Any], Any]) -> pa.Array:
    return pa.array([None if v is None else fn(v) for v in array.to_pylist()], type=arrow_type(type_text))


def _unary(expr: dict[str, Any], operand: pa.Array) -> pa.Array:
    type_text = expr["type"]
    if expr["op"] == "NOT":
        return _map(operand, type_text, lambda v: not v)
    if expr["op"] == "-":
        return _map(operand, type_text, lambda v: _wrap(-v, type_text))
    raise ClusterJobError("JOB_REFUSED", f"unknown unary operator {expr['op']!r} in job.json")


def _logic(expr: dict[str, Any], batch: Batch, rows: Rows) -> pa.Array:
    decisive = expr["op"] == "OR"
    left = evaluate(expr["left"], batch, rows).to_pylist()
    out = list(left)
    undecided = [i for i, v in enumerate(left) if v is not decisive and not rows.is_dropped(i)]
    if undecided:
        whole = len(undecided) == batch.num_rows
        rest = batch if whole else batch.take(undecided)
        right = evaluate(expr["right"], rest, rows if whole else rows.for_rows(undecided)).to_pylist()
        for k, row in enumerate(undecided):
            a, b = out[row], right[k]
            out[row] = decisive if b is decisive else None if a is None or b is None else (not decisive)
    return pa.array(out, type=pa.bool_())


def _compare(op: str, left: pa.Array, right: pa.Array, left_type: str, right_type: str) -> pa.Array:
    key = _order_key(data_type(left_type).type_name, data_type(right_type).type_name)
    out: list[Optional[bool]] = []
    for a, b in zip(left.to_pylist(), right.to_pylist()):
        if a is None or b is None:
            out.append(None)
            continue
        a, b = key(a), key(b)
        if op == "=":
            out.append(a == b)
        elif op == "<>":
            out.append(a != b)
        elif op == "<":
            out.append(a < b)
        elif op == "<=":
            out.append(a <= b)
        elif op == ">":
            out.append(a > b)
        else:
            out.append(a >= b)
    return pa.array(out, type=pa.bool_())


def _order_key(left: str, right: str) -> Callable[[Any], Any]:
    if left == "DECIMAL" or right == "DECIMAL":
        # DECIMAL against FLOAT or DOUBLE compares as DOUBLE, as SQL's implicit cast does.
        if left in _FLOATS or right in _FLOATS:
            return float
        return decimal.Decimal
    if left in ("STRING", "VARCHAR", "CHAR"):
        # JavaScript orders strings by UTF-16 code units, which big-endian UTF-16 bytes keep.
        return lambda s: s.encode("utf-16-be", "surrogatepass")
    return lambda v: v


def _arithmetic(expr: dict[str, Any], left: pa.Array, right: pa.Array) -> pa.Array:
    op, type_text = expr["op"], expr["type"]
    name = data_type(type_text).type_name
    text = expr.get("text") or ""
    if name in _INTEGER_BITS:
        compute = _integer_op(op, type_text, text)
    else:
        compute = _float_op(op, name)
    out = [None if a is None or b is None else compute(a, b) for a, b in zip(left.to_pylist(), right.to_pylist())]
    if name == "DECIMAL":
        # The host computes DECIMAL arithmetic as doubles; the result has the type's scale.
        scale = getattr(data_type(type_text), "scale", 0)
        out = [None if v is None else _to_decimal(v, scale) for v in out]
    return pa.array(out, type=arrow_type(type_text))


def _integer_op(op: str, type_text: str, text: str) -> Callable[[int, int], int]:
    def compute(a: int, b: int) -> int:
        a, b = int(a), int(b)
        if op in ("/", "%") and b == 0:
            where = f' in "{text}"' if text else ""
            raise ClusterJobError("ARITHMETIC", f"integer division by zero: {a} {op} {b}{where}", expression=text or None)
        if op == "+":
            r = a + b
        elif op == "-":
            r = a - b
        elif op == "*":
            r = a * b
        else:
            q = abs(a) // abs(b)
            q = q if (a >= 0) == (b >= 0) else -q  # BigInt division truncates toward zero
            r = q if op == "/" else a - q * b
        return _wrap(r, type_text)
    return compute


def _float_op(op: str, name: str) -> Callable[[Any, Any], float]:
    def compute(a: Any, b: Any) -> float:
        x, y = float(a), float(b)
        if op == "+":
            r = x + y
        elif op == "-":
            r = x - y
        elif op == "*":
            r = x * y
        elif op == "/":
            if y == 0:
                r = math.nan if x == 0 or math.isnan(x) else math.copysign(math.inf, x) * math.copysign(1.0, y)
            else:
                r = x / y
        else:
            try:
                r = math.fmod(x, y)
            except ValueError:  # fmod(inf, y) and fmod(x, 0): JavaScript's % gives NaN
                r = math.nan
        return float(np.float32(r)) if name == "FLOAT" else r
    return compute


def _wrap(value: Any, type_text: str) -> Any:
    bits = _INTEGER_BITS.get(data_type(type_text).type_name)
    if bits is None:
        if data_type(type_text).type_name == "FLOAT":
            return float(np.float32(value))
        return value
    half = 1 << (bits - 1)
    return ((int(value) + half) % (1 << bits)) - half


def _to_decimal(value: float, scale: int) -> Optional[decimal.Decimal]:
    if math.isnan(value) or math.isinf(value):
        return None
    return decimal.Decimal(repr(value)).quantize(decimal.Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP)


def _convert(value: Any, type_text: str) -> Any:
    """A widening: integers to BIGINT, numbers to FLOAT, DOUBLE or DECIMAL, as the host's castNumber."""
    dt = data_type(type_text)
    name = dt.type_name
    if name in _INTEGER_BITS:
        return int(value)
    if name == "FLOAT":
        return float(np.float32(float(value)))
    if name == "DOUBLE":
        return float(value)
    if name == "DECIMAL":
        return decimal.Decimal(value).quantize(decimal.Decimal(1).scaleb(-getattr(dt, "scale", 0)))
    return value
