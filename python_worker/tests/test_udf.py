"""pyudf.udf, ScalarFunction and DataTypes: the PyFlink-compatible definition API."""
from __future__ import annotations

import functools
import unittest

import pyarrow as pa

import pyudf
from pyudf import DataTypes, FunctionContext, ScalarFunction, UserDefinedFunctionWrapper, udf
from pyudf.types import as_data_type, parse_type


class Add(ScalarFunction):
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def eval(self, i, j):
        self.calls.append((i, j))
        return i + j


class Multiplier:
    def __init__(self, factor: int) -> None:
        self.factor = factor

    def __call__(self, x):
        return x * self.factor


def _power(base, exponent):
    return base ** exponent


class UdfFormsTest(unittest.TestCase):
    """The five ways PyFlink 1.10 code declares a scalar function."""

    BIGINT2 = [DataTypes.BIGINT(), DataTypes.BIGINT()]

    def test_scalar_function_subclass(self):
        impl = Add()
        add = udf(impl, input_types=self.BIGINT2, result_type=DataTypes.BIGINT())
        self.assertIsInstance(add, UserDefinedFunctionWrapper)
        self.assertEqual(add(2, 3), 5)
        self.assertEqual(impl.calls, [(2, 3)])
        self.assertIs(add.func, impl)
        self.assertEqual(add.input_types, self.BIGINT2)
        self.assertEqual(add.result_type, DataTypes.BIGINT())
        self.assertEqual(add.name, "Add")
        self.assertEqual(add.func_type, "general")

    def test_decorator(self):
        @udf(input_types=[DataTypes.STRING()], result_type=DataTypes.INT())
        def length(s):
            return len(s)

        self.assertIsInstance(length, UserDefinedFunctionWrapper)
        self.assertEqual(length("hello"), 5)
        self.assertEqual(length.name, "length")
        self.assertEqual([str(t) for t in length.input_types], ["STRING"])
        self.assertEqual(str(length.result_type), "INT")
        self.assertEqual(repr(length), "<udf length(STRING) -> INT>")

    def test_lambda(self):
        add = udf(lambda i, j: i + j, self.BIGINT2, DataTypes.BIGINT())
        self.assertEqual(add(40, 2), 42)
        self.assertEqual(add.name, "<lambda>")

    def test_callable_object(self):
        triple = udf(Multiplier(3), [DataTypes.BIGINT()], DataTypes.BIGINT())
        self.assertEqual(triple(7), 21)
        self.assertEqual(triple.name, "Multiplier")

    def test_partial(self):
        square = udf(functools.partial(_power, exponent=2), [DataTypes.BIGINT()], DataTypes.BIGINT())
        self.assertEqual(square(9), 81)
        self.assertEqual(square.name, "partial")

    def test_name_and_deterministic_overrides(self):
        class Random(ScalarFunction):
            def eval(self):
                return 4

            def is_deterministic(self):
                return False

        self.assertFalse(udf(Random(), [], DataTypes.INT()).is_deterministic())
        self.assertTrue(udf(lambda: 1, [], DataTypes.INT()).is_deterministic())
        named = udf(lambda: 1, [], DataTypes.INT(), deterministic=False, name="one")
        self.assertEqual(named.name, "one")
        self.assertFalse(named.is_deterministic())

    def test_udtf_and_udaf_take_name_and_determinism_as_udf_does(self):
        class Coin(pyudf.AggregateFunction):
            def create_accumulator(self):
                return []

            def is_deterministic(self):
                return False

        def pairs(x):
            yield x, x

        table = pyudf.udtf(pairs, [DataTypes.INT()], [DataTypes.INT(), DataTypes.INT()])
        self.assertEqual((table.name, table.is_deterministic()), ("pairs", True))
        self.assertEqual(repr(table), "<udtf pairs(INT) -> (INT, INT)>")
        coin = pyudf.udaf(Coin(), result_type=DataTypes.INT())
        self.assertEqual((coin.name, coin.is_deterministic(), coin.input_types), ("Coin", False, None))
        self.assertEqual(repr(coin), "<udaf Coin(?) -> INT (general)>")
        named = pyudf.udaf(lambda s: s.sum(), [DataTypes.INT()], DataTypes.INT(), func_type="pandas",
                           deterministic=False, name="total")
        self.assertEqual((named.name, named.is_deterministic(), named.func_type), ("total", False, "pandas"))
        self.assertEqual(repr(udf(Add(), self.BIGINT2, DataTypes.BIGINT())), "<udf Add(BIGINT, BIGINT) -> BIGINT>")

    def test_types_given_as_sql_text(self):
        f = udf(lambda x: x, "BIGINT NOT NULL", "STRING")
        self.assertEqual(f.input_types, [DataTypes.BIGINT(nullable=False)])
        self.assertEqual(f.result_type, DataTypes.STRING())

    def test_bad_type_spec_is_refused(self):
        with self.assertRaises(TypeError) as caught:
            udf(lambda x: x, [int], DataTypes.BIGINT())
        self.assertIn("input_types[0] must be a DataType", str(caught.exception))
        with self.assertRaises(TypeError) as caught:
            udf(lambda x: x, [DataTypes.BIGINT()], 5)
        self.assertIn("result_type must be a DataType", str(caught.exception))

    def test_not_callable_is_refused(self):
        with self.assertRaises(TypeError) as caught:
            udf(42, [], DataTypes.BIGINT())
        self.assertIn("needs a callable or a ScalarFunction, got 42", str(caught.exception))

    def test_unknown_func_type_is_refused(self):
        with self.assertRaises(ValueError) as caught:
            udf(func_type="arrow")
        self.assertEqual(
            str(caught.exception), "udf(func_type='arrow') is not supported; supported: general, pandas"
        )
        with self.assertRaises(ValueError):
            udf(lambda x: x, [DataTypes.BIGINT()], DataTypes.BIGINT(), func_type="arrow")

    def test_pandas_func_type_is_kept(self):
        @udf(result_type=DataTypes.DOUBLE(), func_type="pandas")
        def f(x):
            return x * 2

        self.assertEqual(f.func_type, "pandas")
        self.assertEqual(udf(lambda x: x, [DataTypes.BIGINT()], DataTypes.BIGINT(), func_type="pandas").func_type,
                         "pandas")

    def test_scalar_function_without_eval(self):
        with self.assertRaises(NotImplementedError):
            udf(ScalarFunction(), [], DataTypes.INT())()

    def test_function_context(self):
        context = FunctionContext({"k": "v"})
        self.assertEqual(context.get_job_parameter("k"), "v")
        self.assertIsNone(context.get_job_parameter("missing"))
        self.assertEqual(context.get_job_parameter("missing", "dflt"), "dflt")

    def test_public_names(self):
        self.assertEqual(pyudf.__version__, "0.1.0")
        for name in pyudf.__all__:
            self.assertTrue(hasattr(pyudf, name), name)


class DataTypesTest(unittest.TestCase):
    def test_str_and_nullability(self):
        self.assertEqual(str(DataTypes.BIGINT()), "BIGINT")
        self.assertEqual(str(DataTypes.BIGINT(nullable=False)), "BIGINT NOT NULL")
        self.assertEqual(str(DataTypes.STRING().not_null()), "STRING NOT NULL")
        self.assertTrue(DataTypes.INT().nullable)
        self.assertFalse(DataTypes.INT(False).nullable)
        self.assertEqual(repr(DataTypes.DOUBLE()), "DataTypes.DOUBLE()")
        self.assertEqual(repr(DataTypes.DOUBLE(False)), "DataTypes.DOUBLE(nullable=False)")

    def test_equality_by_sql_text(self):
        self.assertEqual(DataTypes.BIGINT(), DataTypes.BIGINT())
        self.assertNotEqual(DataTypes.BIGINT(), DataTypes.BIGINT(nullable=False))
        self.assertNotEqual(DataTypes.BIGINT(), DataTypes.INT())
        self.assertNotEqual(DataTypes.BIGINT(), "BIGINT")
        self.assertEqual(hash(DataTypes.STRING()), hash(DataTypes.VARCHAR(2147483647)))
        self.assertEqual(DataTypes.VARBINARY(2147483647), DataTypes.BYTES())
        self.assertNotEqual(DataTypes.VARCHAR(10), DataTypes.STRING())
        self.assertNotEqual(DataTypes.CHAR(10), DataTypes.VARCHAR(10))

    def test_parse_round_trip(self):
        parsed = parse_type("BIGINT NOT NULL")
        self.assertEqual(parsed, DataTypes.BIGINT(nullable=False))
        self.assertFalse(parsed.nullable)
        self.assertEqual(str(parsed), "BIGINT NOT NULL")
        for factory in (DataTypes.BOOLEAN, DataTypes.TINYINT, DataTypes.SMALLINT, DataTypes.INT,
                        DataTypes.BIGINT, DataTypes.FLOAT, DataTypes.DOUBLE, DataTypes.STRING,
                        DataTypes.BYTES):
            for nullable in (True, False):
                t = factory(nullable=nullable)
                self.assertEqual(parse_type(str(t)), t)
                self.assertEqual(str(parse_type(str(t))), str(t))

    def test_parse_is_case_and_space_insensitive(self):
        self.assertEqual(str(parse_type("  bigint   not  null ")), "BIGINT NOT NULL")
        self.assertEqual(str(parse_type("double")), "DOUBLE")

    def test_aliases(self):
        self.assertEqual(str(parse_type("INTEGER")), "INT")
        # As in Flink: VARCHAR alone is VARCHAR(1), and VARCHAR(2147483647) is STRING.
        self.assertEqual(str(parse_type("VARCHAR")), "VARCHAR(1)")
        self.assertEqual(str(parse_type("VARCHAR(10) NOT NULL")), "VARCHAR(10) NOT NULL")
        self.assertEqual(str(parse_type("varchar(2147483647)")), "STRING")
        self.assertEqual(str(parse_type("VARBINARY(2147483647)")), "BYTES")
        self.assertEqual(str(parse_type("char(7)")), "CHAR(7)")
        self.assertEqual(str(parse_type("BINARY(5) NOT NULL")), "BINARY(5) NOT NULL")
        self.assertEqual(str(parse_type("BOOL")), "BOOLEAN")
        self.assertEqual(str(parse_type("REAL")), "FLOAT")

    def test_unknown_type(self):
        with self.assertRaises(ValueError) as caught:
            parse_type("UUID")
        self.assertEqual(
            str(caught.exception),
            "unknown SQL type 'UUID'; known types: ARRAY, BIGINT, BOOLEAN, BYTES, DATE, DECIMAL, DOUBLE, "
            "FLOAT, INT, MAP, NULL, ROW, SMALLINT, STRING, TIME, TIMESTAMP, TIMESTAMP_LTZ, TINYINT",
        )

    def test_as_data_type(self):
        self.assertEqual(as_data_type("INT", "x"), DataTypes.INT())
        self.assertEqual(as_data_type(DataTypes.INT(), "x"), DataTypes.INT())
        with self.assertRaises(TypeError) as caught:
            as_data_type(3, "result_type")
        self.assertEqual(
            str(caught.exception), "result_type must be a DataType, e.g. DataTypes.BIGINT(); got 3"
        )

    def test_arrow_types(self):
        expected = {
            "BOOLEAN": pa.bool_(), "TINYINT": pa.int8(), "SMALLINT": pa.int16(), "INT": pa.int32(),
            "BIGINT": pa.int64(), "FLOAT": pa.float32(), "DOUBLE": pa.float64(),
            "STRING": pa.string(), "BYTES": pa.binary(),
        }
        for name, arrow_type in expected.items():
            self.assertEqual(parse_type(name).to_arrow(), arrow_type, name)
            self.assertEqual(parse_type(name + " NOT NULL").to_arrow(), arrow_type, name)


if __name__ == "__main__":
    unittest.main()
