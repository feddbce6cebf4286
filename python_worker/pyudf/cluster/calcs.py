"""A chain of row-wise plan nodes as one function over Arrow batches (one Ray Data map_batches).

filter, project, lateralJoin, packRow, unpackRow and row-wise sql, each as
src/execution/{filter,project,lateral-join,row-columns}.ts computes it.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from pyudf.cluster.calls import FunctionCaller, unguarded
from pyudf.cluster.expressions import Batch, evaluate
from pyudf.cluster.job import ClusterJobError, Job
from pyudf.cluster.values import arrow_schema, arrow_type

Operator = Callable[[Batch, FunctionCaller], Batch]


class BatchRows:
    """The rows of one operator's batch: Python calls, and the rows an error policy dropped.

    A subset (AND/OR's right side) sees its row i as the batch's rows[i].
    """

    def __init__(self, caller: FunctionCaller, root: Optional["BatchRows"] = None,
                 rows: Optional[list[int]] = None) -> None:
        self._caller = caller
        self._root = root or self
        self._rows = rows
        self.dropped: set[int] = set()

    def _batch_row(self, row: int) -> int:
        return row if self._rows is None else self._rows[row]

    def call(self, name: str, args: list[pa.Array], num_rows: int, type_text: str) -> pa.Array:
        result, outcome = self._caller.scalar(name, args, num_rows, type_text)
        self.drop(outcome.dropped)
        return result

    def drop(self, rows: Sequence[int]) -> None:
        self._root.dropped.update(self._batch_row(r) for r in rows)

    def for_rows(self, rows: list[int]) -> "BatchRows":
        return BatchRows(self._caller, self._root, [self._batch_row(r) for r in rows])

    def is_dropped(self, row: int) -> bool:
        return self._batch_row(row) in self._root.dropped


def _kept(batch: Batch, dropped: set[int]) -> Batch:
    if not dropped:
        return batch
    return batch.take([i for i in range(batch.num_rows) if i not in dropped])


def _filter(node: dict[str, Any]) -> Operator:
    predicate = node["predicate"]

    def run(batch: Batch, caller: FunctionCaller) -> Batch:
        rows = BatchRows(caller)
        keep = evaluate(predicate, batch, rows).to_pylist()
        indices = [i for i, v in enumerate(keep) if v is True and i not in rows.dropped]
        return batch if len(indices) == batch.num_rows else batch.take(indices)
    return run


def _project(node: dict[str, Any]) -> Operator:
    items = node["items"]

    def run(batch: Batch, caller: FunctionCaller) -> Batch:
        rows = BatchRows(caller)
        columns = [evaluate(item, batch, rows) for item in items]
        return _kept(Batch(columns, batch.num_rows), rows.dropped)
    return run


def _lateral_join(node: dict[str, Any], input_width: int) -> Operator:
    call = node["call"]
    outer = bool(node.get("outer"))
    predicate = node.get("predicate")
    produced_types = [f["type"] for f in node["schema"][input_width:]]

    def run(batch: Batch, caller: FunctionCaller) -> Batch:
        rows = BatchRows(caller)
        args = [evaluate(a, batch, rows) for a in call.get("args", [])]
        got = caller.table(call["name"], args, batch.num_rows, produced_types)
        rows.drop(got.dropped)
        sources = got.sources
        keep: Optional[list[bool]] = None
        if predicate is not None and sources:
            joined = Batch([*batch.take(sources).columns, *got.columns], len(sources))
            verdict = evaluate(predicate, joined, rows.for_rows(sources)).to_pylist()
            keep = [v is True for v in verdict]
        input_rows: list[int] = []
        produced_rows: list[Optional[int]] = []
        following = 0
        for row in range(batch.num_rows):
            joined_any = False
            while following < len(sources) and sources[following] == row:
                if row not in rows.dropped and (keep is None or keep[following]):
                    input_rows.append(row)
                    produced_rows.append(following)
                    joined_any = True
                following += 1
            if not joined_any and row not in rows.dropped and (outer or row in got.nulled):
                input_rows.append(row)
                produced_rows.append(None)
        taken = pa.array(produced_rows, type=pa.int64())
        produced = [column.take(taken) for column in got.columns]
        return Batch([*batch.take(input_rows).columns, *produced], len(input_rows))
    return run


def _pack_row(node: dict[str, Any]) -> Operator:
    row_field = node["schema"][-1]
    struct_type = arrow_type(row_field["type"])

    def run(batch: Batch, caller: FunctionCaller) -> Batch:
        fields = [struct_type.field(i) for i in range(struct_type.num_fields)]
        columns = [c.cast(f.type) if c.type != f.type else c for c, f in zip(batch.columns, fields)]
        packed = pa.StructArray.from_arrays(columns, fields=fields) if columns else \
            pa.array([{}] * batch.num_rows, type=struct_type)
        return Batch([*batch.columns, packed], batch.num_rows)
    return run


def _unpack_row(node: dict[str, Any]) -> Operator:
    many = bool(node.get("many"))
    width = len(node["schema"])

    def run(batch: Batch, caller: FunctionCaller) -> Batch:
        kept = batch.columns[:-1]
        last = batch.columns[-1]
        if many:
            # One row per element; a NULL or empty ARRAY gives none.
            sources = [i for i, value in enumerate(last.to_pylist()) for _ in (value or [])]
            rows = pa.concat_arrays([chunk for chunk in [last.flatten()] if len(chunk)]) if len(sources) else None
            structs = rows if rows is not None else pa.array([], type=last.type.value_type)
            base = Batch(kept, batch.num_rows).take(sources).columns
            num_rows = len(sources)
        else:
            structs, base, num_rows = last, kept, batch.num_rows
        fields = [_struct_field(structs, i) for i in range(structs.type.num_fields)]
        if len(base) + len(fields) != width:
            raise ClusterJobError("JOB_REFUSED", f"unpackRow: a ROW of {len(fields)} field(s) does not give the node's {width} column(s)")
        return Batch([*base, *fields], num_rows)
    return run


def _struct_field(structs: pa.Array, index: int) -> pa.Array:
    # A NULL ROW is a row of NULLs: the struct's validity goes down to each field.
    field = structs.field(index)
    if structs.null_count == 0:
        return field
    return pc.if_else(structs.is_null(), pa.nulls(len(field), field.type), field)


def _rowwise_sql(node: dict[str, Any], input_schema: list[dict[str, Any]], setup: tuple[str, ...]) -> Operator:
    sql = node["sql"]
    relation = (node.get("relations") or ["input0"])[0]
    schema = arrow_schema(node["schema"])
    names = [f["name"] for f in input_schema]

    def run(batch: Batch, caller: FunctionCaller) -> Batch:
        import duckdb

        table = pa.Table.from_arrays(batch.columns, names=names) if batch.columns else pa.table({})
        with duckdb.connect() as connection:
            for statement in setup:
                connection.execute(statement)
            connection.register(relation, table)
            result = connection.execute(sql).arrow()
        if hasattr(result, "read_all"):
            result = result.read_all()
        return Batch([_conform(column, field.type) for column, field in zip(result.columns, schema)], result.num_rows)
    return run


def _conform(column: Any, target: pa.DataType) -> pa.Array:
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return array if array.type == target else array.cast(target)


def operator_for(node: dict[str, Any], input_schema: list[dict[str, Any]], setup: tuple[str, ...] = ()) -> Operator:
    kind = node["kind"]
    if kind == "filter":
        return _filter(node)
    if kind == "project":
        return _project(node)
    if kind == "lateralJoin":
        return _lateral_join(node, len(input_schema))
    if kind == "packRow":
        return _pack_row(node)
    if kind == "unpackRow":
        return _unpack_row(node)
    if kind == "sql" and node.get("rowwise"):
        return _rowwise_sql(node, input_schema, setup)
    raise ClusterJobError("INTERNAL", f"plan node {kind!r} is not row-wise")


def is_rowwise(node: dict[str, Any]) -> bool:
    return node["kind"] in ("filter", "project", "lateralJoin", "packRow", "unpackRow") or \
        (node["kind"] == "sql" and bool(node.get("rowwise")) and len(node.get("inputs", [])) == 1)


class Calc:
    """A chain of row-wise nodes over each batch of its input, as one map_batches function.

    Picklable: Ray ships it to the tasks, where the functions load once per process.
    `guard` (faults.LedgerGuard) counts each call's batch in the job's ledger and
    collects the rows the error policies absorbed; without one, calls run as they are.
    """

    def __init__(self, job: Job, chain: list[tuple[dict[str, Any], list[dict[str, Any]]]], guard: Any = None) -> None:
        self._job = job
        self._nodes = chain
        self._schema = arrow_schema(chain[-1][0]["schema"])
        self._guard = guard

    def __call__(self, table: pa.Table) -> pa.Table:
        # Ray Data hands over a whole block (so that it fuses this map with the read before it);
        # the functions see batches of the job's batch size, as locally.
        caller = FunctionCaller(self._job, self._guard if self._guard is not None else unguarded)
        size = self._job.batch_size
        outputs = [self._run(table.slice(start, size), caller) for start in range(0, max(table.num_rows, 1), size)]
        if (caller.policy_rows or caller.stats) and self._guard is not None:
            self._guard.report(caller.policy_rows, caller.stats, caller.registered_metrics())
        return outputs[0] if len(outputs) == 1 else pa.concat_tables(outputs)

    def _run(self, table: pa.Table, caller: FunctionCaller) -> pa.Table:
        batch = Batch([c.combine_chunks() for c in table.columns], table.num_rows)
        for node, input_schema in self._nodes:
            batch = operator_for(node, input_schema, self._job.engine_setup)(batch, caller)
        columns = [_conform(c, f.type) for c, f in zip(batch.columns, self._schema)]
        return pa.Table.from_arrays(columns, schema=self._schema) if columns else \
            pa.Table.from_batches([], schema=self._schema)
