"""pyudf.worker.batches: Arrow IPC in and out, and strict checking of returned values."""
from __future__ import annotations

import math
import os
import subprocess
import sys
import unittest

import pyarrow as pa

from pyudf.types import parse_type
from pyudf.worker.batches import ResultTypeError, decode_arguments, encode_result, to_arrow_result
from tests.support import PYTHON_WORKER_DIR, arguments, decode_result, no_arguments


class ToArrowResultTest(unittest.TestCase):
    def convert(self, values, type_text):
        return to_arrow_result(values, parse_type(type_text))

    def refused(self, values, type_text) -> ResultTypeError:
        with self.assertRaises(ResultTypeError) as caught:
            self.convert(values, type_text)
        return caught.exception

    def test_int_for_bigint(self):
        array = self.convert([1, -2, 2**63 - 1, -(2**63)], "BIGINT")
        self.assertEqual(array.type, pa.int64())
        self.assertEqual(array.to_pylist(), [1, -2, 2**63 - 1, -(2**63)])

    def test_float_for_bigint_is_refused_with_its_row(self):
        error = self.refused([1, 2, 1.5], "BIGINT")
        self.assertEqual(error.row_index, 2)
        self.assertEqual(str(error), "returned 1.5 (float) for row 2, which is not a BIGINT")

    def test_integral_float_for_bigint_is_refused(self):
        self.assertEqual(self.refused([2.0], "BIGINT").row_index, 0)

    def test_bool_for_bigint_is_refused(self):
        error = self.refused([7, True], "BIGINT")
        self.assertEqual(error.row_index, 1)
        self.assertEqual(str(error), "returned True (bool) for row 1, which is not a BIGINT")

    def test_bool_for_double_is_refused(self):
        self.assertEqual(self.refused([1.0, False], "DOUBLE").row_index, 1)

    def test_int_for_boolean_is_refused(self):
        error = self.refused([True, 1], "BOOLEAN")
        self.assertEqual((error.row_index, str(error)),
                         (1, "returned 1 (int) for row 1, which is not a BOOLEAN"))

    def test_out_of_range_tinyint(self):
        self.assertEqual(self.convert([127, -128], "TINYINT").to_pylist(), [127, -128])
        error = self.refused([1, 300], "TINYINT")
        self.assertEqual(error.row_index, 1)
        self.assertTrue(str(error).startswith("returned 300 (int) for row 1, which does not fit TINYINT"),
                        str(error))
        self.assertEqual(self.refused([-129], "TINYINT").row_index, 0)

    def test_out_of_range_smallint_and_int(self):
        self.assertEqual(self.refused([0, 0, 32768], "SMALLINT").row_index, 2)
        self.assertEqual(self.refused([2**31], "INT").row_index, 0)
        self.assertEqual(self.convert([2**31 - 1], "INT").to_pylist(), [2**31 - 1])

    def test_two_to_the_63_for_bigint_is_refused(self):
        error = self.refused([0, 2**63], "BIGINT")
        self.assertEqual(error.row_index, 1)
        self.assertTrue(
            str(error).startswith("returned 9223372036854775808 (int) for row 1, which does not fit BIGINT"),
            str(error),
        )
        self.assertEqual(self.refused([-(2**63) - 1], "BIGINT").row_index, 0)

    def test_str_for_bytes_is_refused(self):
        error = self.refused([b"ok", "text"], "BYTES")
        self.assertEqual((error.row_index, str(error)),
                         (1, "returned 'text' (str) for row 1, which is not a BYTES"))

    def test_bytes_for_string_is_refused(self):
        error = self.refused(["ok", b"raw"], "STRING")
        self.assertEqual((error.row_index, str(error)),
                         (1, "returned b'raw' (bytes) for row 1, which is not a STRING"))

    def test_other_values_for_string_are_refused(self):
        self.assertEqual(self.refused([1.0], "STRING").row_index, 0)
        self.assertEqual(self.refused(["a", 3], "STRING").row_index, 1)

    def test_bytes_like_for_bytes(self):
        array = self.convert([b"a", bytearray(b"bc"), None], "BYTES")
        self.assertEqual(array.type, pa.binary())
        self.assertEqual(array.to_pylist(), [b"a", b"bc", None])

    def test_string(self):
        array = self.convert(["héllo", "", None], "STRING")
        self.assertEqual(array.type, pa.string())
        self.assertEqual(array.to_pylist(), ["héllo", "", None])

    def test_lone_surrogate_string_is_refused(self):
        error = self.refused(["fine", "bad \ud800"], "STRING")
        self.assertEqual(error.row_index, 1)

    def test_float_out_of_range(self):
        error = self.refused([1.0, 3.5e38], "FLOAT")
        self.assertEqual(error.row_index, 1)
        self.assertEqual(str(error), "returned 3.5e+38 (float) for row 1, which is out of range for FLOAT")
        self.assertEqual(self.refused([-3.5e38], "FLOAT").row_index, 0)

    def test_float_in_range_and_infinities(self):
        array = self.convert([3.4e38, 1, float("inf"), float("-inf"), None], "FLOAT")
        self.assertEqual(array.type, pa.float32())
        values = array.to_pylist()
        self.assertAlmostEqual(values[0] / 3.4e38, 1.0, places=6)
        self.assertEqual(values[1:], [1.0, float("inf"), float("-inf"), None])

    def test_int_for_double(self):
        array = self.convert([1, 2.5], "DOUBLE")
        self.assertEqual(array.type, pa.float64())
        self.assertEqual(array.to_pylist(), [1.0, 2.5])

    def test_int_beyond_double_precision_is_refused_with_or_without_nulls(self):
        # 2**53 + 1 has no double: it would silently become 2**53.
        for values, row in (([1.5, 2**53 + 1], 1), ([1.5, 2**53 + 1, None], 1), ([2**60], 0)):
            with self.subTest(values=values):
                error = self.refused(values, "DOUBLE")
                self.assertEqual(error.row_index, row)
                self.assertIn("does not fit DOUBLE", str(error))
        self.assertEqual(self.convert([2**53, -(2**53), 3], "DOUBLE").to_pylist(), [2.0**53, -(2.0**53), 3.0])

    def test_real_numbers_that_are_not_float_or_int_for_double_are_refused_with_or_without_nulls(self):
        from fractions import Fraction
        self.assertEqual(self.refused([0.5, Fraction(1, 3)], "DOUBLE").row_index, 1)
        self.assertEqual(self.refused([0.5, Fraction(1, 3), None], "DOUBLE").row_index, 1)

    def test_nan_double_is_allowed_and_is_not_null(self):
        array = self.convert([float("nan"), 1.0], "DOUBLE NOT NULL")
        self.assertEqual(array.null_count, 0)
        self.assertTrue(math.isnan(array[0].as_py()))

    def test_none_for_nullable(self):
        array = self.convert([None, 5, None], "BIGINT")
        self.assertEqual(array.to_pylist(), [None, 5, None])
        self.assertEqual(array.null_count, 2)
        self.assertEqual(self.convert([None, None], "STRING").to_pylist(), [None, None])

    def test_none_for_not_null_is_refused(self):
        error = self.refused([1, 2, None, None], "BIGINT NOT NULL")
        self.assertEqual(error.row_index, 2)
        self.assertEqual(str(error), "returned None for row 2, but the result type is BIGINT NOT NULL")
        self.assertEqual(self.refused([None], "STRING NOT NULL").row_index, 0)
        self.assertEqual(self.convert([1, 2], "BIGINT NOT NULL").to_pylist(), [1, 2])

    def test_row_index_is_the_first_bad_row(self):
        self.assertEqual(self.refused([0, 1.5, "x", 2.5], "BIGINT").row_index, 1)
        self.assertEqual(self.refused([0, 0, 0, 999, 1000], "TINYINT").row_index, 3)
        self.assertEqual(self.refused([0.0, 1e39, 2e39], "FLOAT").row_index, 1)

    def test_row_index_is_the_first_bad_row_across_kinds_of_failure(self):
        # Whichever check catches it, the row reported is the first row that is wrong.
        cases = [
            ([2**63, 1.5], "BIGINT", 0),          # out of range before a wrong kind
            ([1, 300, "x"], "TINYINT", 1),
            ([1.5, None], "BIGINT NOT NULL", 0),  # wrong kind before a None
            ([1, 2**63, None], "BIGINT NOT NULL", 1),
            ([1.0, 3.5e38, "x"], "FLOAT", 1),
            ([None, 1.5], "BIGINT NOT NULL", 0),
        ]
        for values, type_text, row in cases:
            with self.subTest(values=values, type=type_text):
                error = self.refused(values, type_text)
                self.assertEqual(error.row_index, row, str(error))
                self.assertIn(f"for row {row}", str(error))

    def test_long_values_are_abbreviated(self):
        error = self.refused(["x" * 200], "BIGINT")
        self.assertEqual(str(error), f"returned '{'x' * 76}... (str) for row 0, which is not a BIGINT")

    def test_empty(self):
        array = self.convert([], "BIGINT NOT NULL")
        self.assertEqual((len(array), array.type), (0, pa.int64()))


    def test_nullable_numbers_strings_and_booleans_built_directly(self):
        cases = [
            ([1, None, -(2**63), 2**63 - 1, None], "BIGINT", pa.int64()),
            ([None, -128, 127], "TINYINT", pa.int8()),
            ([1.5, None, -0.0, math.inf], "DOUBLE", pa.float64()),
            (["a", None, "ü€😀", "", None], "STRING", pa.string()),
            ([None] * 3, "STRING", pa.string()),
            ([True, None, False] * 5, "BOOLEAN", pa.bool_()),
            ([True, False, True], "BOOLEAN", pa.bool_()),
        ]
        for values, type_text, arrow_type in cases:
            with self.subTest(type_text=type_text, values=values):
                array = self.convert(values, type_text)
                array.validate(full=True)
                self.assertEqual((array.type, array.to_pylist(), array.null_count),
                                 (arrow_type, values, values.count(None)))

    def test_bad_values_among_nulls_are_refused_with_their_row(self):
        self.assertEqual(self.refused([1, None, 300], "TINYINT").row_index, 2)
        self.assertEqual(self.refused(["x", None, "\ud800"], "STRING").row_index, 2)
        self.assertEqual(self.refused([True, None, 1], "BOOLEAN").row_index, 2)

    def test_row_results_do_not_import_pandas(self):
        # pa.array() imports pandas (half a second) on its first call: a worker of row functions never needs it.
        script = (
            "import sys\n"
            "from pyudf.types import parse_type\n"
            "from pyudf.worker.batches import to_arrow_result\n"
            "for values, t in [([1, None], 'BIGINT'), (['a', None], 'STRING'), ([True, None], 'BOOLEAN'), ([0.5, None], 'DOUBLE')]:\n"
            "    to_arrow_result(values, parse_type(t))\n"
            "print('pandas' in sys.modules)\n"
        )
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONPATH": PYTHON_WORKER_DIR})
        self.assertEqual(out.stdout.strip(), "False", out.stderr)


class IpcTest(unittest.TestCase):
    def test_decode_arguments(self):
        columns = decode_arguments(arguments([1, 2, None], ["a", "b", "c"]))
        self.assertEqual(columns, [[1, 2, None], ["a", "b", "c"]])

    def test_decode_no_arguments(self):
        # The host sends no bytes for a call without arguments; num_rows travels in the request.
        self.assertEqual(decode_arguments(b""), [])
        self.assertEqual(decode_arguments(no_arguments(4)), [])

    def test_encode_result(self):
        data = encode_result(pa.array([1.5, None], type=pa.float64()))
        array = decode_result(data)
        self.assertEqual(array.type, pa.float64())
        self.assertEqual(array.to_pylist(), [1.5, None])


if __name__ == "__main__":
    unittest.main()
