"""Arrow IPC batches in and out, and strict checking of what a function returned."""
from __future__ import annotations

import math
import numbers
from array import array as packed_array
from itertools import accumulate
from typing import Any, Optional, Sequence

import numpy as np
import pyarrow as pa

from pyudf.types import DataType
from pyudf.worker.conversions import ResultTypeError, python_values, results_to_arrow
from pyudf.worker.conversions import describe


# Fixed-width columns whose values buffer reads as Python numbers directly (Arrow IPC is
# little-endian, like every host pyudf runs on).
_BUFFER_FORMATS = {
    pa.int8(): "b", pa.int16(): "h", pa.int32(): "i", pa.int64(): "q",
    pa.float32(): "f", pa.float64(): "d",
}
# Arrow types whose to_pylist() values are already what a UDF is given.
_PLAIN_ARROW_TYPES = frozenset([*_BUFFER_FORMATS, pa.bool_(), pa.string(), pa.binary()])


def decode_arguments(data: bytes) -> list[Sequence[Any]]:
    """Arrow IPC stream in (one column per argument), a sequence of Python values per column out.

    A call without arguments sends no bytes at all.
    """
    return [column_values(column) for column in decode_arrays(data)]


def decode_arrays(data: bytes) -> list[pa.Array]:
    """Arrow IPC stream in, one Arrow array per column out, over the received bytes."""
    if not data:
        return []
    table = pa.ipc.open_stream(data).read_all()
    return [_one_chunk(column) for column in table.columns]


def by_argument(request: Any, columns: list) -> list:
    """A call's decoded columns in argument order: a column passed twice (f(a, a)) is sent once."""
    if not request.argument_columns:
        return columns
    return [columns[index] for index in request.argument_columns]


def _one_chunk(column: pa.ChunkedArray) -> pa.Array:
    if column.num_chunks == 1:
        return column.chunk(0)
    return pa.concat_arrays(column.chunks) if column.num_chunks else pa.array([], type=column.type)


def column_values(column: pa.Array) -> Sequence[Any]:
    """The column's values as Python objects, indexable and iterable.

    A number column without NULLs is a memoryview over the received bytes: its
    values become Python ints or floats one at a time as the function is called,
    with no list of them built first (half the cost of decoding).
    """
    code = _BUFFER_FORMATS.get(column.type)
    if code is not None and column.null_count == 0:
        values = column.buffers()[1]
        if values is not None and values.size % column.type.byte_width == 0:
            return memoryview(values).cast(code)[column.offset:column.offset + len(column)]
    if column.type in _PLAIN_ARROW_TYPES:
        return column.to_pylist()
    return python_values(column)


def encode_result(values: pa.Array) -> bytes:
    return encode_batch(pa.RecordBatch.from_arrays([values], names=["result"]))


def encode_batch(batch: pa.RecordBatch) -> bytes:
    """One record batch as an Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INT", "BIGINT"}
_FLOAT32_MAX = 3.4028234663852886e38

# Exact Python types that need no per-value look: the common case stays one set() call.
_FAST_TYPES: dict[str, tuple[type, ...]] = {
    "BOOLEAN": (bool,),
    "TINYINT": (int,),
    "SMALLINT": (int,),
    "INT": (int,),
    "BIGINT": (int,),
    "FLOAT": (float, int),
    "DOUBLE": (float, int),
    "STRING": (str,),
    "BYTES": (bytes,),
}


def _fits_kind(value: Any, type_name: str) -> bool:
    if type_name == "BOOLEAN":
        return isinstance(value, (bool,)) or type(value).__name__ == "bool_"
    if isinstance(value, bool):
        return False
    if type_name in _INTEGER_TYPES:
        return isinstance(value, numbers.Integral)
    if type_name in ("FLOAT", "DOUBLE"):
        return isinstance(value, numbers.Real)
    if type_name == "STRING":
        return isinstance(value, str)
    if type_name == "BYTES":
        return isinstance(value, (bytes, bytearray, memoryview))
    return False


# Results packed by array(): exact C conversions that raise on a value out of range.
_ARRAY_CODES = {"TINYINT": "b", "SMALLINT": "h", "INT": "i", "BIGINT": "q", "DOUBLE": "d"}
# The values array() packs exactly as Arrow would: it turns any int or real number into a
# double, rounding an int beyond 2**53 that Arrow refuses, so DOUBLE takes floats only.
_ARRAY_PACKS = {"TINYINT": {int}, "SMALLINT": {int}, "INT": {int}, "BIGINT": {int}, "DOUBLE": {float}}


def to_arrow_result(values: list[Any], result_type: DataType) -> pa.Array:
    """Converts a function's results to its declared type, refusing any silent coercion."""
    type_name = result_type.type_name
    # A length (CHAR, VARCHAR, BINARY, VARBINARY) is checked value by value.
    if type_name not in _FAST_TYPES or getattr(result_type, "length", None) is not None:
        return results_to_arrow(values, result_type)
    seen = set(map(type, values))
    has_nulls = type(None) in seen
    seen.discard(type(None))
    # Each check below only detects that some row is bad; _first_bad_row then names the
    # first row that any check refuses, which need not be the first this check refuses.
    if has_nulls and not result_type.nullable:
        raise _first_bad_row(values, result_type)
    if not seen.issubset(_FAST_TYPES[type_name]):
        if any(value is not None and not _fits_kind(value, type_name) for value in values):
            raise _first_bad_row(values, result_type)
    code = _ARRAY_CODES.get(type_name)
    if code is not None and seen <= _ARRAY_PACKS[type_name]:
        validity, null_count = _validity(values, has_nulls)
        try:
            packed = packed_array(code, [0 if value is None else value for value in values] if has_nulls else values)
        except (OverflowError, TypeError):
            raise _first_bad_row(values, result_type) from None
        return pa.Array.from_buffers(result_type.to_arrow(), len(packed), [validity, pa.py_buffer(packed)], null_count)
    # Built here rather than by pa.array(), whose first call imports pandas (half a second)
    # to ask whether the list is a pandas object: a worker of row functions never needs it.
    if type_name == "STRING" and seen <= {str}:
        try:
            strings = _string_array(values, has_nulls)
        except UnicodeError:
            raise _first_bad_row(values, result_type) from None
        if strings is not None:
            return strings
    if type_name == "BOOLEAN" and seen <= {bool}:
        validity, null_count = _validity(values, has_nulls)
        data = _bitmap(bytes(value is True for value in values))
        return pa.Array.from_buffers(pa.bool_(), len(values), [validity, data], null_count)
    try:
        array = pa.array(values, type=result_type.to_arrow(), from_pandas=False)
    except (pa.ArrowException, OverflowError, ValueError, TypeError, UnicodeError):
        raise _first_bad_row(values, result_type) from None
    if type_name == "FLOAT" and _any_infinite(array):
        _check_float32_range(values, result_type)
    return array


def _bitmap(flags: bytes) -> pa.Buffer:
    """One byte per row (0 or 1) as Arrow's bitmap, least significant bit first."""
    return pa.py_buffer(np.packbits(np.frombuffer(flags, dtype=np.uint8), bitorder="little").tobytes())


def _validity(values: list[Any], has_nulls: bool) -> tuple[Optional[pa.Buffer], int]:
    """Arrow's validity bitmap and null count; none needed without NULLs."""
    if not has_nulls:
        return None, 0
    present = bytes(value is not None for value in values)
    return _bitmap(present), len(values) - sum(present)


def _string_array(values: list[Any], has_nulls: bool) -> Optional[pa.Array]:
    """A STRING array from str values and None; None if its text outgrows 32-bit offsets."""
    encoded = [b"" if value is None else value.encode("utf-8") for value in values] if has_nulls \
        else [value.encode("utf-8") for value in values]
    offsets = packed_array("i", [0])
    try:
        offsets.extend(accumulate(map(len, encoded)))
    except OverflowError:
        return None
    validity, null_count = _validity(values, has_nulls)
    return pa.Array.from_buffers(pa.string(), len(values), [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))],
                                 null_count)


def _any_infinite(array: pa.Array) -> bool:
    # Imported here: pyarrow.compute takes a tenth of a worker's start, and only FLOAT results need it.
    import pyarrow.compute as pc

    return pc.any(pc.is_inf(array)).as_py()


def _first_bad_row(values: list[Any], result_type: DataType) -> ResultTypeError:
    """Checks row by row, every check on each row, and describes the first row refused."""
    arrow_type = result_type.to_arrow()
    for row, value in enumerate(values):
        if value is None:
            if result_type.nullable:
                continue
            return ResultTypeError(row, f"returned None for row {row}, but the result type is {result_type}")
        if not _fits_kind(value, result_type.type_name):
            return ResultTypeError(
                row, f"returned {describe(value)} for row {row}, which is not a {result_type}"
            )
        try:
            pa.array([value], type=arrow_type, from_pandas=False)
        except (pa.ArrowException, OverflowError, ValueError, TypeError, UnicodeError) as exc:
            return ResultTypeError(
                row, f"returned {describe(value)} for row {row}, which does not fit {result_type}: {exc}"
            )
        if result_type.type_name == "FLOAT" and math.isfinite(value) and abs(value) > _FLOAT32_MAX:
            return ResultTypeError(
                row, f"returned {describe(value)} for row {row}, which is out of range for {result_type}"
            )
    return ResultTypeError(-1, f"results do not convert to {result_type}")


def _check_float32_range(values: list[Any], result_type: DataType) -> None:
    for row, value in enumerate(values):
        if value is not None and math.isfinite(value) and abs(value) > _FLOAT32_MAX:
            raise ResultTypeError(
                row, f"returned {describe(value)} for row {row}, which is out of range for {result_type}"
            )
