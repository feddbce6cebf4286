"""A relational (non-row-wise) sql node: one DuckDB query over all its inputs' rows, in one Ray task.

The inputs' blocks reach the task as object refs, not through the driver; each
is registered from Arrow under the relation name the node's SQL uses for it.
"""
from __future__ import annotations

from typing import Any

import pyarrow as pa
import ray

from pyudf.cluster.job import ClusterJobError
from pyudf.cluster.values import arrow_schema


def relation_names(node: dict[str, Any]) -> list[str]:
    """The names a sql node's query gives its inputs (input0, input1, ... when the node does not say)."""
    count = len(node.get("inputs", []))
    return list(node.get("relations") or [f"input{i}" for i in range(count)])


def run_sql(sql: str, inputs: list[pa.Table], schema: list[dict[str, Any]], relations: list[str],
            setup: tuple[str, ...] = ()) -> pa.Table:
    import duckdb

    target = arrow_schema(schema)
    with duckdb.connect() as connection:
        for statement in setup:
            connection.execute(statement)
        for name, table in zip(relations, inputs):
            connection.register(name, table)
        try:
            result = connection.execute(sql).arrow()
        except duckdb.Error as exc:
            raise ClusterJobError("INTERNAL", f"the relational stage failed in DuckDB: {exc}; query: {sql}") from None
    if hasattr(result, "read_all"):
        result = result.read_all()
    if result.num_columns != len(target):
        raise ClusterJobError("INTERNAL", f"the relational stage returned {result.num_columns} column(s), its node has {len(target)}")
    columns = [c if c.type == f.type else c.cast(f.type) for c, f in zip(result.columns, target)]
    return pa.Table.from_arrays(columns, schema=target)


def _input_table(blocks: list["ray.ObjectRef"], schema: list[dict[str, Any]]) -> pa.Table:
    target = arrow_schema(schema)
    tables = [ray.get(ref) for ref in blocks]
    tables = [t.rename_columns(target.names) for t in tables if t.num_rows]
    return pa.concat_tables(tables).cast(target) if tables else target.empty_table()


@ray.remote(num_cpus=1)
def sql_task(sql: str, inputs: list[list["ray.ObjectRef"]], input_schemas: list[list[dict[str, Any]]],
             schema: list[dict[str, Any]], relations: list[str], setup: tuple[str, ...]) -> pa.Table:
    return run_sql(sql, [_input_table(blocks, s) for blocks, s in zip(inputs, input_schemas)], schema, relations, setup)
