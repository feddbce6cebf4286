"""Calling declared functions directly, as a UDF module's own unit tests do (no worker, no pyarrow).

Runs both in the worker runtime and in a fresh venv where only this package is
installed: it imports nothing but ``pyudf`` and the standard library.
"""
from __future__ import annotations

import subprocess
import sys
import unittest

from pyudf import AggregateFunction, DataTypes, ListView, Row, ScalarFunction, TableFunction, udaf, udf, udtf


@udf(result_type=DataTypes.BIGINT())
def add(i, j):
    return i + j


class Scale(ScalarFunction):
    def eval(self, x):
        return x * 10


scale = udf(Scale(), [DataTypes.BIGINT()], DataTypes.BIGINT())


@udtf(result_types=[DataTypes.BIGINT(), DataTypes.STRING()])
def split(x):
    for s in x[1].split(","):
        yield x[0], s


class Split(TableFunction):
    def eval(self, text):
        yield from text.split(",")


split_words = udtf(Split(), result_types=[DataTypes.STRING()])


class Concat(AggregateFunction):
    def create_accumulator(self):
        return Row(ListView(), "")

    def accumulate(self, accumulator, value, separator):
        accumulator[1] = separator
        accumulator[0].add(value)

    def get_value(self, accumulator):
        return accumulator[1].join(accumulator[0])


concat = udaf(Concat(), result_type=DataTypes.STRING())


class DirectCallTest(unittest.TestCase):
    def test_pyflink_spelling_func(self) -> None:
        # PyFlink's way: the wrapped callable is ``_func``.
        self.assertEqual(add._func(1, 2), 3)
        self.assertEqual(scale._func.eval(4), 40)
        self.assertEqual(list(split._func(Row(1, "2,3"))), [(1, "2"), (1, "3")])
        self.assertEqual(list(split_words._func.eval("a,b")), ["a", "b"])

    def test_calling_the_declared_function(self) -> None:
        # pyudf's wrappers are callable too: scalar and table functions call eval.
        self.assertEqual(add(1, 2), 3)
        self.assertEqual(scale(4), 40)
        self.assertEqual(list(split_words("a,b")), ["a", "b"])

    def test_an_aggregate_function_step_by_step(self) -> None:
        function = concat._func
        accumulator = function.create_accumulator()
        for value in ["Hi", "Hi2", "Hi3"]:
            function.accumulate(accumulator, value, ",")
        self.assertEqual(function.get_value(accumulator), "Hi,Hi2,Hi3")

    def test_declared_types(self) -> None:
        self.assertEqual(str(add.result_type), "BIGINT")
        self.assertEqual([str(t) for t in scale.input_types], ["BIGINT"])
        self.assertEqual(str(concat.result_type), "STRING")

    def test_declaring_needs_no_runtime_dependency(self) -> None:
        # A fresh interpreter: this one may have loaded pyarrow for other tests.
        script = (
            "import sys\n"
            "from pyudf import udf, udaf, DataTypes, ListView, MapView\n"
            "f = udf(lambda i: i, [DataTypes.ARRAY(DataTypes.DECIMAL(10, 2))], DataTypes.TIMESTAMP(3))\n"
            "print(sorted(m for m in ('pyarrow', 'grpc', 'pandas', 'numpy') if m in sys.modules))\n"
        )
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
        self.assertEqual(out.strip(), "[]")

if __name__ == "__main__":
    unittest.main()
