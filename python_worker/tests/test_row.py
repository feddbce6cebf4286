"""pyudf.Row: PyFlink's Row behaviour, so that PyFlink UDF code ports unchanged."""
from __future__ import annotations

import pickle
import unittest

from pyudf import Row, RowKind


class RowTest(unittest.TestCase):
    def test_positional_values(self):
        row = Row(1, "a", None)
        self.assertEqual(len(row), 3)
        self.assertEqual((row[0], row[1], row[-1]), (1, "a", None))
        self.assertEqual(row[0:2], [1, "a"])
        self.assertEqual(tuple(row), (1, "a", None))
        first, second, third = row
        self.assertEqual(first, 1)
        self.assertIn("a", row)
        self.assertEqual(repr(row), "<Row(1, 'a', None)>")

    def test_named_values_are_sorted_by_name_as_in_pyflink(self):
        row = Row(name="Alice", age=11)
        self.assertEqual(tuple(row), (11, "Alice"))
        self.assertEqual((row.name, row["age"], row[1]), ("Alice", 11, "Alice"))
        self.assertEqual(repr(row), "Row(age=11, name='Alice')")
        self.assertEqual(row.as_dict(), {"age": 11, "name": "Alice"})

    def test_unknown_names(self):
        row = Row(a=1)
        with self.assertRaises(AttributeError):
            row.b
        with self.assertRaises(KeyError):
            row["b"]
        with self.assertRaises(KeyError):
            Row(1)["a"]

    def test_positional_and_named_together_are_refused(self):
        with self.assertRaises(ValueError):
            Row(1, a=2)

    def test_a_row_as_a_row_class(self):
        Person = Row("name", "age")
        alice = Person("Alice", 11)
        self.assertEqual(repr(alice), "Row(name='Alice', age=11)")
        self.assertEqual(alice.age, 11)
        with self.assertRaises(ValueError):
            Person("a", 1, "too many")

    def test_set_field_names_and_get_fields_by_names(self):
        row = Row(1, "x")
        row.set_field_names(["id", "label"])
        self.assertEqual(row.label, "x")
        self.assertEqual(row.get_fields_by_names(["label", "id"]), ["x", 1])
        with self.assertRaises(KeyError):
            row.get_fields_by_names(["nope"])

    def test_setting_values(self):
        row = Row(a=1, b=2)
        row["a"] = 10
        row[1] = 20
        self.assertEqual(tuple(row), (10, 20))
        with self.assertRaises(AttributeError):
            row.a = 5

    def test_as_dict_recursive(self):
        row = Row(key=1, value=Row(name="a", tags=[Row(t=1)], extra={"k": Row(v=2)}))
        self.assertEqual(row.as_dict()["value"], Row(name="a", tags=[Row(t=1)], extra={"k": Row(v=2)}))
        self.assertEqual(row.as_dict(True), {"key": 1, "value": {"extra": {"k": {"v": 2}}, "name": "a", "tags": [{"t": 1}]}})
        with self.assertRaises(TypeError):
            Row(1, 2).as_dict()

    def test_equality_and_hash(self):
        self.assertEqual(Row(a=1, b="x"), Row(b="x", a=1))
        self.assertNotEqual(Row(a=1), Row(1))
        self.assertNotEqual(Row(a=1), Row(b=1))
        self.assertNotEqual(Row(1, 2), (1, 2))
        self.assertEqual(hash(Row(a=1, b=2)), hash((1, 2)))
        self.assertEqual(len({Row(a=1), Row(a=1)}), 1)

    def test_row_kind(self):
        row = Row(1)
        self.assertEqual(row.get_row_kind(), RowKind.INSERT)
        row.set_row_kind(RowKind.DELETE)
        self.assertEqual(row.get_row_kind(), RowKind.DELETE)
        self.assertNotEqual(row, Row(1))

    def test_pickles_with_its_names(self):
        row = Row(a=1, b=[Row(c="x")])
        copy = pickle.loads(pickle.dumps(row))
        self.assertEqual(copy, row)
        self.assertEqual(copy.b[0].c, "x")


if __name__ == "__main__":
    unittest.main()
