"""The aggregate node: one output row per distinct key, Python aggregate functions driven step by step.

As src/execution/aggregation.ts: groups are numbered in the order they first
appear in the input (NULL keys group together); without keys the whole input
is one group and one row, even over no input; each use of an aggregate
function keeps its own accumulators (the worker's run_step: accumulate, then
get_value). The node's "output" expressions run over each group's keys then
its uses' values, as the host's select list over the groups; a table
aggregate's value is an ARRAY of ROWs that the unpackRow node after it spreads.

With keys, the input is shuffled by key over Ray tasks: each input block is
cut into one part per partition by a stable hash of its key values (the same
equality as the host's: NULLs together, NaN with NaN, 0.0 with -0.0), each
partition is aggregated by a task of its own over its parts in block order, and
a last task puts the groups in the order of their first row in the input. So a
group's rows are accumulated in input order, wherever they ran, and the output
is the local run's, row for row. Without keys there is one group: one task.
Blocks and parts travel as object refs, never through the driver.
"""
from __future__ import annotations

import math
import zlib
from typing import Any, Optional, Sequence

import pyarrow as pa
import pyarrow.compute  # noqa: F401  pa.compute
import ray

from pyudf._proto import worker_pb2
from pyudf.cluster.calcs import BatchRows
from pyudf.cluster.calls import FunctionCaller, apply_policy, call_failure, call_request, decode_result, runtime_for
from pyudf.cluster.expressions import Batch, evaluate
from pyudf.cluster.faults import Watchdog, report_to_ledger
from pyudf.cluster.job import ClusterJobError, Job
from pyudf.cluster.values import arrow_schema, arrow_type, json_value


#: The column a shuffled part carries each row's place in the input in: block index << 32 | row.
POSITION = "__pyudf_position"


class _GroupIndex:
    def __init__(self, width: int) -> None:
        self.width = width
        self.keys: list[tuple] = [()] if width == 0 else []
        #: Each group's first row's place in the input, when the rows come with theirs.
        self.first_positions: list[int] = []
        self._numbers: dict[tuple, int] = {}

    def assign(self, columns: Sequence[list[Any]], num_rows: int, positions: Optional[list[int]] = None) -> list[int]:
        if self.width == 0:
            return [0] * num_rows
        groups = []
        for row in range(num_rows):
            values = tuple(c[row] for c in columns)
            key = tuple(_map_key(v) for v in values)
            number = self._numbers.get(key)
            if number is None:
                number = self._numbers[key] = len(self.keys)
                self.keys.append(values)
                if positions is not None:
                    self.first_positions.append(positions[row])
            groups.append(number)
        return groups


def _map_key(value: Any) -> Any:
    # NaN equals NaN as a key, as in the host's Map; 0.0 and -0.0 already hash alike.
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    if isinstance(value, (list, dict)):
        return repr(value)
    return value


def _partition_of(values: tuple, partitions: int) -> int:
    """A partition for key values, the same in every process (Python's own str hash is salted per process)."""
    text = repr(tuple(0.0 if isinstance(v, float) and v == 0 else _map_key(v) for v in values))
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) % partitions


class Aggregation:
    def __init__(self, job: Job, node: dict[str, Any], input_schema: list[dict[str, Any]]) -> None:
        self.job = job
        self.node = node
        self.input_schema = input_schema
        self.keys: list[int] = list(node.get("keys", []))
        self.uses: list[dict[str, Any]] = list(node["uses"])
        self.caller = FunctionCaller(job)
        self.index = _GroupIndex(len(self.keys))
        self.rows = 0

    def _step(self, name: str, args: Sequence[pa.Array], num_rows: int, step: worker_pb2.AggregateStep
              ) -> worker_pb2.CallReply:
        runtime = runtime_for(self.job)
        if name not in self.job.functions:
            raise ClusterJobError("JOB_REFUSED", f"job.json calls function {name!r}, which it does not declare")
        with Watchdog(self.job.udf_timeout_ms, f"the {step.step} step of {name!r} on {num_rows} row(s)"):
            reply = runtime.call(call_request(name, args, num_rows, step))
        if not reply.HasField("error"):
            self.caller.record(name, reply)
        return reply

    def accumulate(self, table: pa.Table, positions: Optional[list[int]] = None) -> None:
        batch = Batch([c.combine_chunks() for c in table.columns], table.num_rows)
        rows = BatchRows(self.caller)
        arguments = [[evaluate(a, batch, rows) for a in use.get("args", [])] for use in self.uses]
        kept = [i for i in range(batch.num_rows) if i not in rows.dropped]
        if len(kept) != batch.num_rows:
            batch = batch.take(kept)
            taken = pa.array(kept, type=pa.int64())
            arguments = [[a.take(taken) for a in args] for args in arguments]
            positions = None if positions is None else [positions[i] for i in kept]
        groups = self.index.assign([batch.columns[k].to_pylist() for k in self.keys], batch.num_rows, positions)
        for u, (use, args) in enumerate(zip(self.uses, arguments)):
            self._accumulate(u, use["name"], args, groups)
        self.rows += batch.num_rows

    def _accumulate(self, u: int, name: str, args: list[pa.Array], groups: list[int]) -> None:
        reply = self._step(name, args, len(groups), worker_pb2.AggregateStep(use=u, step="accumulate", groups=groups))
        if reply.HasField("error"):
            raise self._failure(name, reply.error, args, groups)
        if reply.row_errors and self.job.functions[name].policy == "fail":
            raise self._failure(name, reply.row_errors[0], args, groups)
        # The worker left the rows that raised out of their groups; the policy counts (or dead-letters) them.
        apply_policy(self.job.functions[name], self.job, reply.row_errors, args, len(groups), self.caller.policy_rows)

    def _failure(self, name: str, error: worker_pb2.UdfError, args: list[pa.Array], groups: list[int]) -> ClusterJobError:
        failure = call_failure(name, error, args, len(groups))
        if 0 <= error.row_index < len(groups) and self.keys:
            keys = self.index.keys[groups[error.row_index]]
            names = [self.input_schema[k]["name"] for k in self.keys]
            failure.message += "; in group " + ", ".join(f"{n} = {json_value(v)!r}" for n, v in zip(names, keys))
            failure.args = (failure.message,)
        return failure

    def results(self) -> pa.Table:
        if self.rows == 0 and not self.keys:
            # No row at all: the one group still has a value; an empty batch tells each function its argument types.
            for u, use in enumerate(self.uses):
                args = [pa.array([], type=arrow_type(a["type"])) for a in use.get("args", [])]
                self._accumulate(u, use["name"], args, [])
        count = len(self.index.keys)
        values: list[list[Any]] = []
        for u, use in enumerate(self.uses):
            reply = self._step(use["name"], [], count, worker_pb2.AggregateStep(use=u, step="get_value", groups=list(range(count))))
            if reply.HasField("error"):
                raise call_failure(use["name"], reply.error, [], count)
            columns = decode_result(reply.result)
            values.append(columns[0].to_pylist() if columns else [None] * count)
        return self._output(values)

    def _output(self, values: list[list[Any]]) -> pa.Table:
        schema = arrow_schema(self.node["schema"])
        count = len(self.index.keys)
        key_columns = [pa.array([keys[k] for keys in self.index.keys], type=arrow_type(self.input_schema[key]["type"]))
                       for k, key in enumerate(self.keys)]
        use_columns = [pa.array(v, type=arrow_type(use["type"])) for v, use in zip(values, self.uses)]
        groups = Batch([*key_columns, *use_columns], count)
        rows = BatchRows(self.caller)
        columns = [evaluate(expr, groups, rows) for expr in self.node["output"]]
        return pa.Table.from_arrays([c if c.type == f.type else c.cast(f.type) for c, f in zip(columns, schema)], schema=schema)


def run_aggregate(job: Job, node: dict[str, Any], input_schema: list[dict[str, Any]],
                  blocks: list["ray.ObjectRef"]) -> tuple[pa.Table, dict[str, int], dict[str, list[int]], list[dict[str, Any]]]:
    """The node over all of its input's blocks, in order (rows with a POSITION column keep it out of the input's columns)."""
    aggregation = Aggregation(job, node, input_schema)
    width = len(input_schema)
    for ref in blocks:
        table = ray.get(ref)
        positioned = table.num_columns > width
        for start in range(0, table.num_rows, job.batch_size):
            part = table.slice(start, job.batch_size)
            positions = part.column(width).to_pylist() if positioned else None
            aggregation.accumulate(part.select(range(width)) if positioned else part, positions)
    result = aggregation.results()
    if aggregation.keys:
        result = result.append_column(POSITION, pa.array(aggregation.index.first_positions, type=pa.int64()))
    return result, aggregation.caller.policy_rows, aggregation.caller.stats, aggregation.caller.registered_metrics()


@ray.remote(num_cpus=1)
def aggregate_task(job: Job, node: dict[str, Any], input_schema: list[dict[str, Any]],
                   blocks: list["ray.ObjectRef"], ledger: "ray.actor.ActorHandle") -> pa.Table:
    table, policy_rows, stats, registered = run_aggregate(job, node, input_schema, blocks)
    if policy_rows or stats:
        report_to_ledger(ledger, policy_rows, stats, registered)
    return table


def partition_rows(table: pa.Table, keys: list[int], partitions: int, block_index: int) -> list[pa.Table]:
    """A block's rows cut by key into `partitions` parts, each row with its POSITION."""
    columns = [table.column(k).to_pylist() for k in keys]
    targets: list[list[int]] = [[] for _ in range(partitions)]
    for row in range(table.num_rows):
        targets[_partition_of(tuple(c[row] for c in columns), partitions)].append(row)
    base = block_index << 32
    parts = []
    for rows in targets:
        indices = pa.array(rows, type=pa.int64())
        part = table.take(indices)
        parts.append(part.append_column(POSITION, pa.array([base + r for r in rows], type=pa.int64())))
    return parts


@ray.remote(num_cpus=1)
def partition_task(table: pa.Table, keys: list[int], partitions: int, block_index: int) -> Any:
    parts = partition_rows(table, keys, partitions, block_index)
    return parts[0] if partitions == 1 else tuple(parts)


@ray.remote(num_cpus=1)
def order_groups_task(*tables: pa.Table) -> pa.Table:
    """The partitions' groups in the order of their first rows in the input."""
    nonempty = [t for t in tables if t.num_rows] or list(tables[:1])
    joined = pa.concat_tables(nonempty)
    order = pa.compute.sort_indices(joined, sort_keys=[(POSITION, "ascending")])
    return joined.take(order).drop_columns([POSITION])


def shuffled_aggregate(job: Job, node: dict[str, Any], input_schema: list[dict[str, Any]],
                       blocks: list["ray.ObjectRef"], ledger: "ray.actor.ActorHandle", partitions: int,
                       max_retries: int) -> "ray.ObjectRef":
    """The aggregate of a node with keys over `partitions` tasks; the ref of its output table."""
    keys = list(node["keys"])
    cut = [partition_task.options(num_returns=partitions, max_retries=max_retries).remote(block, keys, partitions, i)
           for i, block in enumerate(blocks)]
    parts_by_block = [[refs] if partitions == 1 else list(refs) for refs in cut]
    aggregated = [
        aggregate_task.options(max_retries=max_retries).remote(job, node, input_schema, [parts[p] for parts in parts_by_block], ledger)
        for p in range(partitions)
    ]
    return order_groups_task.options(max_retries=max_retries).remote(*aggregated)
