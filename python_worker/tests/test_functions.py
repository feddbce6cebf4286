"""pyudf.worker.functions.load_function: from a FunctionSpec's expression to a callable."""
from __future__ import annotations

import os
import sys
import unittest

from pyudf import DataTypes
from pyudf.udf import FunctionContext
from pyudf.worker.functions import load_function
from pyudf.worker.loading import FunctionLoadError
from tests.support import temp_modules, unique_module_name

FORMS_MODULE = """\
import functools
from pyudf import udf, ScalarFunction, DataTypes

BIGINT = DataTypes.BIGINT()


class Add(ScalarFunction):
    def eval(self, i, j):
        return i + j


add_class = udf(Add(), input_types=[BIGINT, BIGINT], result_type=BIGINT)


@udf(input_types=[BIGINT, BIGINT], result_type=BIGINT)
def add_decorated(i, j):
    return i + j


add_lambda = udf(lambda i, j: i + j, [BIGINT, BIGINT], BIGINT)


class CallableAdd:
    def __call__(self, i, j):
        return i + j


add_callable = udf(CallableAdd(), [BIGINT, BIGINT], BIGINT)


def _add3(i, j, k):
    return i + j + k


add_partial = udf(functools.partial(_add3, 0), [BIGINT, BIGINT], BIGINT)


class Lifecycle(ScalarFunction):
    events = []

    def open(self, function_context):
        Lifecycle.events.append(("open", function_context.get_job_parameter("p")))

    def eval(self, x):
        return x * 10

    def close(self):
        Lifecycle.events.append(("close",))


lifecycle = udf(Lifecycle(), [BIGINT], BIGINT)

untyped = lambda i, j: i * j

not_callable = 42

three_args = udf(lambda a, b, c: a + b + c, [BIGINT, BIGINT], BIGINT)


def plain3(a, b, c):
    return a + b + c


class Untyped(ScalarFunction):
    def eval(self, s):
        return s.upper()
"""


def line_of(snippet: str) -> int:
    """1-based line of FORMS_MODULE where snippet starts."""
    index = FORMS_MODULE.index(snippet)
    return FORMS_MODULE.count("\n", 0, index) + 1


# A decorated function's code starts at its first decorator.
DECORATED_LINE = line_of("@udf(input_types=[BIGINT, BIGINT], result_type=BIGINT)\ndef add_decorated")


class LoadFunctionTest(unittest.TestCase):
    def setUp(self):
        self.modules = temp_modules(self)
        self.mod, self.mod_path = self.modules.write(FORMS_MODULE)

    def test_lambda_expression(self):
        loaded = load_function("add", "lambda i, j: i + j", ["BIGINT", "BIGINT"], "BIGINT")
        self.assertEqual(loaded.name, "add")
        self.assertEqual(loaded.call(2, 5), 7)
        self.assertEqual([str(t) for t in loaded.input_types], ["BIGINT", "BIGINT"])
        self.assertEqual(str(loaded.result_type), "BIGINT")
        self.assertEqual(loaded.source_location, "<udf add>:1")
        self.assertIsNone(loaded.open(FunctionContext()))
        self.assertIsNone(loaded.close())

    def test_lambda_sees_pyudf_names_math_and_functools(self):
        loaded = load_function(
            "hyp", "udf(lambda x, y: math.hypot(x, y), result_type=DataTypes.DOUBLE())", None, None
        )
        self.assertEqual(loaded.call(3.0, 4.0), 5.0)
        self.assertEqual(str(loaded.result_type), "DOUBLE")
        partial = load_function("p", "functools.partial(max, 10)", None, "BIGINT")
        self.assertEqual(partial.call(3), 10)

    def test_dotted_reference_to_a_module(self):
        loaded = load_function("mul", f"{self.mod}.untyped", ["INT", "INT"], "INT")
        self.assertEqual(loaded.call(6, 7), 42)
        self.assertEqual(loaded.source_location, f"{self.mod_path}:{line_of('untyped = ')}")
        self.assertIn(self.mod, sys.modules)

    def test_dotted_reference_into_a_package(self):
        name, _ = self.modules.write("def twice(x):\n    return 2 * x\n", unique_module_name("pkg") + ".inner")
        package = name.split(".")[0]
        with open(os.path.join(self.modules.directory, package, "__init__.py"), "w") as f:
            f.write("")
        loaded = load_function("twice", f"{name}.twice", ["BIGINT"], "BIGINT")
        self.assertEqual(loaded.call(21), 42)

    def test_stdlib_dotted_reference(self):
        loaded = load_function("sqrt", "math.sqrt", ["DOUBLE"], "DOUBLE")
        self.assertEqual(loaded.call(16.0), 4.0)
        self.assertEqual(loaded.source_location, "")  # a builtin: Python does not know where

    def test_the_five_forms_from_a_module(self):
        for attribute in ("add_class", "add_decorated", "add_lambda", "add_callable", "add_partial"):
            with self.subTest(attribute):
                loaded = load_function(attribute, f"{self.mod}.{attribute}", None, None)
                self.assertEqual(loaded.call(20, 22), 42)
                self.assertEqual([str(t) for t in loaded.input_types], ["BIGINT", "BIGINT"])
                self.assertEqual(str(loaded.result_type), "BIGINT")
                self.assertTrue(loaded.source_location.startswith(self.mod_path + ":"),
                                loaded.source_location)
                # The host repeating the same declaration is agreement, not a mismatch.
                again = load_function(attribute, f"{self.mod}.{attribute}", ["BIGINT", "BIGINT"], "BIGINT")
                self.assertEqual(again.call(1, 2), 3)

    def test_source_locations_of_the_forms(self):
        expected = {
            "add_class": line_of("    def eval(self, i, j)"),
            "add_decorated": DECORATED_LINE,
            "add_lambda": line_of("add_lambda = "),
            "add_callable": line_of("    def __call__(self, i, j)"),
            "add_partial": line_of("def _add3"),  # the partial's function
        }
        for attribute, line in expected.items():
            loaded = load_function(attribute, f"{self.mod}.{attribute}", None, None)
            self.assertEqual(loaded.source_location, f"{self.mod_path}:{line}", attribute)

    def test_class_given_by_name_is_instantiated(self):
        loaded = load_function("upper", f"{self.mod}.Untyped", ["STRING"], "STRING")
        self.assertEqual(loaded.call("abc"), "ABC")
        instance = loaded.call.__self__
        self.assertIsInstance(instance, sys.modules[self.mod].Untyped)
        self.assertEqual(loaded.source_location, f"{self.mod_path}:{line_of('    def eval(self, s)')}")

    def test_wrapped_scalar_function_keeps_open_and_close(self):
        loaded = load_function("lc", f"{self.mod}.lifecycle", None, None)
        events = sys.modules[self.mod].Lifecycle.events
        self.assertEqual(events, [])
        loaded.open(FunctionContext({"p": "v"}))
        self.assertEqual(loaded.call(4), 40)
        loaded.close()
        self.assertEqual(events, [("open", "v"), ("close",)])

    def test_non_callable_value(self):
        with self.assertRaises(FunctionLoadError) as caught:
            load_function("nc", f"{self.mod}.not_callable", None, "BIGINT")
        self.assertEqual(caught.exception.exception_type, "TypeError")
        self.assertEqual(
            str(caught.exception),
            f"function 'nc': '{self.mod}.not_callable' evaluates to int 42, which is not callable",
        )

    def test_non_callable_expression(self):
        with self.assertRaises(FunctionLoadError) as caught:
            load_function("s", "'text'", None, "STRING")
        self.assertEqual(caught.exception.exception_type, "TypeError")
        self.assertIn("evaluates to str 'text', which is not callable", str(caught.exception))

    def test_syntax_error(self):
        with self.assertRaises(SyntaxError) as caught:
            load_function("bad", "lambda x: x +", ["BIGINT"], "BIGINT")
        self.assertEqual(caught.exception.filename, "<udf bad>")

    def test_module_with_missing_dependency(self):
        dep = unique_module_name("missing_dep")
        broken, _ = self.modules.write(f"import {dep}\n\ndef f(x):\n    return x\n")
        with self.assertRaises(ModuleNotFoundError) as caught:
            load_function("f", f"{broken}.f", ["BIGINT"], "BIGINT")
        self.assertEqual(caught.exception.name, dep)
        self.assertIn(dep, str(caught.exception))
        self.assertNotIn(broken, sys.modules)

    def test_module_with_missing_dependency_referenced_without_attribute(self):
        dep = unique_module_name("missing_dep")
        broken, _ = self.modules.write(f"import {dep}\n")
        with self.assertRaises(ModuleNotFoundError) as caught:
            load_function("f", broken, None, "BIGINT")
        self.assertEqual(caught.exception.name, dep)

    def test_missing_attribute(self):
        with self.assertRaises(FunctionLoadError) as caught:
            load_function("x", f"{self.mod}.nope", ["BIGINT"], "BIGINT")
        self.assertEqual(caught.exception.exception_type, "AttributeError")
        self.assertEqual(
            str(caught.exception),
            f"module '{self.mod}' has no attribute 'nope' (while resolving '{self.mod}.nope')",
        )

    def test_missing_nested_attribute(self):
        with self.assertRaises(FunctionLoadError) as caught:
            load_function("x", f"{self.mod}.Add.nope", None, "BIGINT")
        self.assertEqual(caught.exception.exception_type, "AttributeError")
        self.assertIn("has no attribute 'nope'", str(caught.exception))

    def test_unknown_bare_name(self):
        name = unique_module_name("nothing")
        with self.assertRaises(NameError) as caught:
            load_function("x", name, None, "BIGINT")
        self.assertIn(repr(name), str(caught.exception))

    def test_input_types_mismatch(self):
        with self.assertRaises(FunctionLoadError) as caught:
            load_function("add", f"{self.mod}.add_decorated", ["INT", "INT"], "BIGINT")
        error = caught.exception
        self.assertEqual(error.exception_type, "SignatureMismatch")
        self.assertEqual(
            str(error),
            "function 'add': input types differ: TypeScript declares [INT, INT], "
            "Python declares [BIGINT, BIGINT]",
        )
        self.assertEqual(error.source_location, f"{self.mod_path}:{DECORATED_LINE}")

    def test_nullability_mismatch(self):
        with self.assertRaises(FunctionLoadError) as caught:
            load_function("add", f"{self.mod}.add_lambda", ["BIGINT NOT NULL", "BIGINT"], "BIGINT")
        self.assertEqual(caught.exception.exception_type, "SignatureMismatch")
        self.assertIn("[BIGINT NOT NULL, BIGINT]", str(caught.exception))

    def test_result_type_mismatch(self):
        with self.assertRaises(FunctionLoadError) as caught:
            load_function("add", f"{self.mod}.add_class", ["BIGINT", "BIGINT"], "STRING")
        self.assertEqual(caught.exception.exception_type, "SignatureMismatch")
        self.assertEqual(
            str(caught.exception),
            "function 'add': result types differ: TypeScript declares STRING, Python declares BIGINT",
        )

    def test_aliases_agree(self):
        loaded = load_function("add", f"{self.mod}.add_lambda", ["BIGINT", "BIGINT"], "BIGINT")
        self.assertEqual(loaded.call(1, 1), 2)
        s = load_function("s", "udf(lambda s: s, [DataTypes.STRING()], DataTypes.STRING())",
                          ["varchar(2147483647)"], "VARCHAR(2147483647)")
        self.assertEqual(str(s.result_type), "STRING")
        # A length is part of the type: VARCHAR(10) is not STRING.
        with self.assertRaisesRegex(FunctionLoadError, r"TypeScript declares VARCHAR\(10\), Python declares STRING"):
            load_function("s", "udf(lambda s: s, [DataTypes.STRING()], DataTypes.STRING())", ["STRING"], "VARCHAR(10)")

    def test_types_from_one_side_only(self):
        ts_only = load_function("m", f"{self.mod}.untyped", ["DOUBLE", "DOUBLE"], "DOUBLE")
        self.assertEqual([str(t) for t in ts_only.input_types], ["DOUBLE", "DOUBLE"])
        self.assertEqual(str(ts_only.result_type), "DOUBLE")
        result_only = load_function("m", f"{self.mod}.untyped", None, "DOUBLE")
        self.assertIsNone(result_only.input_types)
        py_only = load_function("a", f"{self.mod}.add_class", None, None)
        self.assertEqual(py_only.input_types, [DataTypes.BIGINT(), DataTypes.BIGINT()])

    def test_missing_result_type_on_both_sides(self):
        with self.assertRaises(FunctionLoadError) as caught:
            load_function("m", f"{self.mod}.untyped", ["BIGINT", "BIGINT"], None)
        self.assertEqual(caught.exception.exception_type, "SignatureMismatch")
        self.assertEqual(
            str(caught.exception),
            "function 'm' has no result type: declare result_type in Python "
            "(udf(..., result_type=DataTypes.BIGINT())) or pass it to udf() in TypeScript",
        )
        with self.assertRaises(FunctionLoadError):
            load_function("m", "lambda: 1", None, "")

    def test_arity_mismatch_declared_in_python(self):
        with self.assertRaises(FunctionLoadError) as caught:
            load_function("t", f"{self.mod}.three_args", None, None)
        error = caught.exception
        self.assertEqual(error.exception_type, "SignatureMismatch")
        self.assertTrue(str(error).startswith(
            "function 't' is declared with 2 input type(s) but its callable(a, b, c) "
            "cannot take 2 argument(s):"), str(error))
        self.assertIn("missing a required argument: 'c'", str(error))
        self.assertEqual(error.source_location, f"{self.mod_path}:{line_of('three_args = ')}")

    def test_arity_mismatch_declared_in_typescript(self):
        with self.assertRaises(FunctionLoadError) as caught:
            load_function("p3", f"{self.mod}.plain3", ["BIGINT", "BIGINT"], "BIGINT")
        self.assertEqual(caught.exception.exception_type, "SignatureMismatch")
        self.assertIn("declared with 2 input type(s)", str(caught.exception))
        with self.assertRaises(FunctionLoadError) as caught:
            load_function("u", f"{self.mod}.Untyped", ["STRING", "STRING"], "STRING")
        self.assertIn("its callable(s) cannot take 2 argument(s)", str(caught.exception))

    def test_arity_accepts_varargs_and_defaults(self):
        loaded = load_function("v", "lambda *xs: sum(xs)", ["INT", "INT", "INT"], "INT")
        self.assertEqual(loaded.call(1, 2, 3), 6)
        loaded = load_function("d", "lambda a, b=5: a + b", ["INT"], "INT")
        self.assertEqual(loaded.call(1), 6)
        loaded = load_function("z", "lambda: 7", [], "INT")
        self.assertEqual(loaded.input_types, [])

    def test_unknown_host_type(self):
        with self.assertRaises(ValueError) as caught:
            load_function("x", "lambda x: x", ["UUID"], "BIGINT")
        self.assertIn("unknown SQL type 'UUID'", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
