"""pyudf.types and pyudf.type_text: the DataTypes factory and SQL type text, both ways."""
from __future__ import annotations

import pickle
import unittest

import pyarrow as pa

from pyudf import DataTypes
from pyudf.types import parse_type


class TypeTextTest(unittest.TestCase):
    CANONICAL = [
        "DECIMAL(38, 10)", "DECIMAL(1, 0) NOT NULL", "DATE", "TIME(0)", "TIME(6)", "TIMESTAMP(3)",
        "TIMESTAMP(6) NOT NULL", "TIMESTAMP_LTZ(0)", "TIMESTAMP_LTZ(6)", "ARRAY<INT>", "ARRAY<INT NOT NULL> NOT NULL",
        "MAP<STRING, BIGINT>", "MAP<DATE, ARRAY<DECIMAL(5, 2)>>", "ROW<a INT, b STRING>",
        "ARRAY<ROW<a INT, b STRING NOT NULL>>", "ROW<`a b` INT, `x``y` DATE, nested ROW<t TIMESTAMP(6)>>",
        "MAP<STRING, ARRAY<MAP<INT, ROW<v DOUBLE>>>>",
    ]

    def test_canonical_text_round_trips(self):
        for text in self.CANONICAL:
            with self.subTest(text=text):
                data_type = parse_type(text)
                self.assertEqual(str(data_type), text)
                self.assertEqual(parse_type(str(data_type)), data_type)

    def test_other_spellings(self):
        for text, canonical in [
            ("decimal(5,2) not null", "DECIMAL(5, 2) NOT NULL"),
            ("DECIMAL", "DECIMAL(10, 0)"),
            ("NUMERIC(7)", "DECIMAL(7, 0)"),
            ("DEC(20, 4)", "DECIMAL(20, 4)"),
            ("TIME", "TIME(0)"),
            ("TIME(3) WITHOUT TIME ZONE", "TIME(3)"),
            ("TIMESTAMP", "TIMESTAMP(6)"),
            ("TIMESTAMP(3) WITHOUT TIME ZONE", "TIMESTAMP(3)"),
            ("TIMESTAMP(3) WITH LOCAL TIME ZONE NOT NULL", "TIMESTAMP_LTZ(3) NOT NULL"),
            ("TIMESTAMP_LTZ", "TIMESTAMP_LTZ(6)"),
            ("ROW(a INT, b VARCHAR(10))", "ROW<a INT, b VARCHAR(10)>"),
            ("ROW<a INT 'the a field', b STRING>", "ROW<a INT, b STRING>"),
            ("array<int null>", "ARRAY<INT>"),
            ("ROW<`plain` INT>", "ROW<plain INT>"),
        ]:
            with self.subTest(text=text):
                self.assertEqual(str(parse_type(text)), canonical)

    def test_field_names_keep_their_case(self):
        self.assertEqual(parse_type("row<camelCase int>").field_names(), ["camelCase"])

    def test_unreadable_text(self):
        for text, message in [
            ("ARRAY<UUID>", "unknown SQL type 'UUID' in 'ARRAY<UUID>'; known types: ARRAY, BIGINT,"),
            ("DECIMAL(39, 1)", "cannot read SQL type 'DECIMAL(39, 1)': DECIMAL precision must be an integer "
                               "from 1 to 38, got 39"),
            ("DECIMAL(5, 6)", "DECIMAL scale must be an integer from 0 to 5, got 6"),
            ("TIME(9)", "TIME precision must be an integer from 0 to 6 (Python's datetime holds microseconds), got 9"),
            ("TIMESTAMP_LTZ(7)", "TIMESTAMP_LTZ precision must be an integer from 0 to 6"),
            ("MAP<ARRAY<INT>, INT>", "MAP keys must be of a scalar type, not ARRAY<INT>"),
            ("ROW<a INT, a STRING>", "a ROW type has duplicate field names: a"),
            ("ROW<>", "expected a field name, found '>' at position 5"),
            ("ARRAY<INT", "expected '>', found the end"),
            ("INT NOT", "expected 'NULL', found the end"),
            ("MAP<STRING>", "expected ',', found '>' at position 11"),
            ("INT INT", "unexpected 'INT' at position 5"),
            ("ARRAY<INT>;", "unexpected ';' at position 11"),
        ]:
            with self.subTest(text=text):
                with self.assertRaises(ValueError) as caught:
                    parse_type(text)
                self.assertIn(message, str(caught.exception))


class DataTypesFactoryTest(unittest.TestCase):
    def test_pyflink_signatures_and_defaults(self):
        self.assertEqual(str(DataTypes.DECIMAL(38, 10)), "DECIMAL(38, 10)")
        self.assertEqual(str(DataTypes.DECIMAL(5, 2, nullable=False)), "DECIMAL(5, 2) NOT NULL")
        self.assertEqual(str(DataTypes.DATE()), "DATE")
        self.assertEqual(str(DataTypes.TIME()), "TIME(0)")
        self.assertEqual(str(DataTypes.TIME(6)), "TIME(6)")
        self.assertEqual(str(DataTypes.TIMESTAMP()), "TIMESTAMP(6)")
        self.assertEqual(str(DataTypes.TIMESTAMP(3, False)), "TIMESTAMP(3) NOT NULL")
        for factory in (DataTypes.TIMESTAMP_LTZ, DataTypes.TIMESTAMP_WITH_LOCAL_TIME_ZONE, DataTypes.LOCAL_ZONED_TIMESTAMP):
            self.assertEqual(str(factory(3)), "TIMESTAMP_LTZ(3)")
            self.assertEqual(str(factory()), "TIMESTAMP_LTZ(6)")
        self.assertEqual(str(DataTypes.ARRAY(DataTypes.INT(False))), "ARRAY<INT NOT NULL>")
        self.assertEqual(str(DataTypes.MAP(DataTypes.STRING(), DataTypes.ARRAY(DataTypes.INT()))), "MAP<STRING, ARRAY<INT>>")
        row = DataTypes.ROW([DataTypes.FIELD("a", DataTypes.INT()), DataTypes.FIELD("b", DataTypes.STRING(), "about b")])
        self.assertEqual(str(row), "ROW<a INT, b STRING>")
        self.assertEqual(row.field_names(), ["a", "b"])
        self.assertEqual(row.field_types(), [DataTypes.INT(), DataTypes.STRING()])
        self.assertEqual(row["b"].description, "about b")
        self.assertEqual(str(DataTypes.ARRAY(row)), "ARRAY<ROW<a INT, b STRING>>")

    def test_not_null_keeps_the_parameters(self):
        decimal = DataTypes.DECIMAL(12, 3)
        self.assertEqual(str(decimal.not_null()), "DECIMAL(12, 3) NOT NULL")
        self.assertEqual(str(decimal.not_null().as_nullable()), "DECIMAL(12, 3)")
        self.assertEqual(str(decimal), "DECIMAL(12, 3)")  # the original is unchanged
        nested = DataTypes.ARRAY(DataTypes.ROW([DataTypes.FIELD("t", DataTypes.TIME(3))])).not_null()
        self.assertEqual(str(nested), "ARRAY<ROW<t TIME(3)>> NOT NULL")

    def test_equality_and_hash_follow_the_text(self):
        self.assertEqual(DataTypes.DECIMAL(5, 2), parse_type("NUMERIC(5, 2)"))
        self.assertNotEqual(DataTypes.DECIMAL(5, 2), DataTypes.DECIMAL(5, 3))
        self.assertNotEqual(DataTypes.TIMESTAMP(3), DataTypes.TIMESTAMP_LTZ(3))
        self.assertEqual(len({DataTypes.ARRAY(DataTypes.INT()), parse_type("ARRAY<INT>")}), 1)
        self.assertEqual(pickle.loads(pickle.dumps(DataTypes.MAP(DataTypes.STRING(), DataTypes.DATE()))),
                         DataTypes.MAP(DataTypes.STRING(), DataTypes.DATE()))

    def test_repr(self):
        self.assertEqual(repr(DataTypes.DECIMAL(5, 2, False)), "DataTypes.DECIMAL(5, 2, nullable=False)")
        self.assertEqual(repr(DataTypes.ARRAY(DataTypes.INT())), "DataTypes.ARRAY(DataTypes.INT())")

    def test_arrow_types(self):
        self.assertEqual(DataTypes.DECIMAL(38, 10).to_arrow(), pa.decimal128(38, 10))
        self.assertEqual(DataTypes.DATE().to_arrow(), pa.date32())
        self.assertEqual(DataTypes.TIME(0).to_arrow(), pa.time32("s"))
        self.assertEqual(DataTypes.TIME(2).to_arrow(), pa.time32("ms"))
        self.assertEqual(DataTypes.TIME(6).to_arrow(), pa.time64("us"))
        self.assertEqual(DataTypes.TIMESTAMP(3).to_arrow(), pa.timestamp("ms"))
        self.assertEqual(DataTypes.TIMESTAMP(6).to_arrow(), pa.timestamp("us"))
        self.assertEqual(DataTypes.TIMESTAMP_LTZ(6).to_arrow(), pa.timestamp("us", tz="UTC"))
        self.assertEqual(DataTypes.ARRAY(DataTypes.INT(False)).to_arrow(),
                         pa.list_(pa.field("element", pa.int32(), False)))
        self.assertEqual(DataTypes.MAP(DataTypes.STRING(), DataTypes.BIGINT()).to_arrow(),
                         pa.map_(pa.string(), pa.int64()))
        self.assertEqual(DataTypes.ROW([DataTypes.FIELD("a", DataTypes.INT())]).to_arrow(),
                         pa.struct([("a", pa.int32())]))

    def test_invalid_parameters(self):
        for make, message in [
            (lambda: DataTypes.DECIMAL(0, 0), "DECIMAL precision must be an integer from 1 to 38, got 0"),
            (lambda: DataTypes.DECIMAL(10, 11), "DECIMAL scale must be an integer from 0 to 10, got 11"),
            (lambda: DataTypes.DECIMAL(10.5, 1), "DECIMAL precision must be an integer from 1 to 38, got 10.5"),
            (lambda: DataTypes.TIME(7), "TIME precision must be an integer from 0 to 6"),
            (lambda: DataTypes.TIMESTAMP(-1), "TIMESTAMP precision must be an integer from 0 to 6"),
            (lambda: DataTypes.MAP(DataTypes.ROW([DataTypes.FIELD("a", DataTypes.INT())]), DataTypes.INT()),
             "MAP keys must be of a scalar type, not ROW<a INT>"),
            (lambda: DataTypes.ROW([]), "a ROW type needs at least one field"),
            (lambda: DataTypes.FIELD("", DataTypes.INT()), "a ROW field name must be a non-empty string"),
        ]:
            with self.subTest(message=message):
                with self.assertRaises(ValueError) as caught:
                    make()
                self.assertIn(message, str(caught.exception))
        with self.assertRaises(TypeError) as caught:
            DataTypes.ARRAY("INT")
        self.assertIn("the ARRAY element type must be a DataType", str(caught.exception))
        with self.assertRaises(TypeError):
            DataTypes.ROW([("a", DataTypes.INT())])


if __name__ == "__main__":
    unittest.main()
