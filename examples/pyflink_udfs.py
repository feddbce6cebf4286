# A UDF module written for PyFlink: only the import line differs.
# from pyflink.table import DataTypes, ListView
# from pyflink.table.udf import udf, udaf, AggregateFunction
from pyudf import DataTypes, ListView, udf, udaf, AggregateFunction

add_one = udf(lambda i: i + 1, result_type=DataTypes.BIGINT())


class ListViewConcat(AggregateFunction):
    def get_value(self, accumulator):
        return accumulator[1].join(accumulator[0])

    def create_accumulator(self):
        return [ListView(), '']

    def accumulate(self, accumulator, value, separator):
        accumulator[1] = separator
        accumulator[0].add(value)

    def get_accumulator_type(self):
        return DataTypes.ROW([
            DataTypes.FIELD("f0", DataTypes.LIST_VIEW(DataTypes.STRING())),
            DataTypes.FIELD("f1", DataTypes.STRING())])

    def get_result_type(self):
        return DataTypes.STRING()


my_concat = udaf(ListViewConcat())


class MaxAdd(AggregateFunction):
    def get_value(self, accumulator):
        return accumulator[0]

    def create_accumulator(self):
        return []

    def accumulate(self, accumulator, *args):
        accumulator.append(sum(arg.max() for arg in args))


max_add = udaf(MaxAdd(), result_type=DataTypes.BIGINT(), func_type="pandas")
