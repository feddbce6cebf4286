"""A job's plan as Ray Datasets: scans from the sources, row-wise chains fused into one map_batches,
aggregates with keys shuffled by key over a task per CPU, and other aggregates and relational sql
nodes as one task over their inputs' blocks.

job.json's "plan" is {"nodes": [PlanNode...], "root": N} (or the list of nodes, the root last);
a node's "input"/"inputs" are indexes into the list. A node given inline (an object where an
index would be) is read as well.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import ray

from pyudf.cluster import aggregates, sql_stage
from pyudf.cluster.calcs import Calc, is_rowwise
from pyudf.cluster.faults import LedgerGuard
from pyudf.cluster.job import ClusterJobError, Job

Node = dict[str, Any]


def plan_nodes(plan: Any) -> tuple[list[Node], int]:
    """The plan's nodes as a list (inline inputs given indexes of their own), and the root's index."""
    if isinstance(plan, dict) and "nodes" in plan:
        nodes, root = list(plan["nodes"]), plan.get("root", len(plan["nodes"]) - 1)
    elif isinstance(plan, list):
        nodes, root = list(plan), len(plan) - 1
    elif isinstance(plan, dict) and "kind" in plan:
        nodes, root = [plan], 0
    else:
        raise ClusterJobError("JOB_REFUSED", "job.json's plan is neither a node nor {nodes, root}")
    flat: list[Node] = []

    def add(node: Any) -> int:
        if isinstance(node, int) and not isinstance(node, bool):
            if not 0 <= node < len(nodes):
                raise ClusterJobError("JOB_REFUSED", f"job.json's plan refers to node {node}, which it does not have")
            node = nodes[node]
        if not isinstance(node, dict) or "kind" not in node or "schema" not in node:
            raise ClusterJobError("JOB_REFUSED", f"job.json's plan has a node without a kind and a schema: {node!r}")
        copy = dict(node)
        if "input" in copy:
            copy["input"] = add(copy["input"])
        if "inputs" in copy:
            copy["inputs"] = [add(i) for i in copy["inputs"]]
        flat.append(copy)
        return len(flat) - 1

    return flat, add(root)


def _partitions() -> int:
    """How many tasks a groupBy's groups are spread over: one per CPU of the cluster."""
    return max(1, min(64, int(ray.cluster_resources().get("CPU", 1))))


class PlanRunner:
    """Builds the Dataset of a plan node; `read_source` is the scan's reader (sources.read_source)."""

    def __init__(self, job: Job, ledger: "ray.actor.ActorHandle", read_source: Callable[..., "ray.data.Dataset"]) -> None:
        self.job = job
        self.ledger = ledger
        self.read_source = read_source
        self.nodes, self.root = plan_nodes(job.plan)
        # A Ray Data map task whose process died is retried; past the cap the ledger names the poison row.
        self.task_retries = job.max_task_retries + 1
        # Read tasks and the map tasks after them alike (reads spread over the nodes), so that Ray Data fuses them.
        self.task_args = {"max_retries": self.task_retries, "num_cpus": 1, "scheduling_strategy": "SPREAD"}

    def dataset(self, index: Optional[int] = None) -> "ray.data.Dataset":
        return self._build(self.root if index is None else index)

    def _build(self, index: int) -> "ray.data.Dataset":
        node = self.nodes[index]
        if not is_rowwise(node):
            return self._stage(index, node)
        # The longest run of row-wise nodes ending here becomes one function over batches.
        chain: list[tuple[Node, list[dict[str, Any]]]] = []
        at = index
        while is_rowwise(self.nodes[at]):
            current = self.nodes[at]
            source = current["input"] if "input" in current else current["inputs"][0]
            chain.append((current, self.nodes[source]["schema"]))
            at = source
        chain.reverse()
        calc = Calc(self.job, chain, LedgerGuard(self.job, self.ledger, f"calc-{index}"))
        return self._build(at).map_batches(
            # batch_size None: whole blocks, which lets Ray Data fuse the read and this map into one task.
            calc, batch_format="pyarrow", batch_size=None, zero_copy_batch=True, **self.task_args,
        )

    def _stage(self, index: int, node: Node) -> "ray.data.Dataset":
        kind = node["kind"]
        if kind == "scan":
            return self.read_source(node["source"], node["schema"], self.job.local_bundle_dir, ray_remote_args=self.task_args)
        if kind == "aggregate":
            source = self.nodes[node["input"]]
            blocks = self._build(node["input"]).to_arrow_refs()
            if node.get("keys"):
                result = aggregates.shuffled_aggregate(self.job, node, source["schema"], blocks, self.ledger,
                                                       _partitions(), self.task_retries)
            else:
                result = aggregates.aggregate_task.options(max_retries=self.task_retries).remote(
                    self.job, node, source["schema"], blocks, self.ledger)
            return ray.data.from_arrow_refs([result])
        if kind == "sql":
            inputs = node["inputs"]
            blocks = [self._build(i).to_arrow_refs() for i in inputs]
            result = sql_stage.sql_task.options(max_retries=self.task_retries).remote(
                node["sql"], blocks, [self.nodes[i]["schema"] for i in inputs], node["schema"],
                sql_stage.relation_names(node), self.job.engine_setup)
            return ray.data.from_arrow_refs([result])
        raise ClusterJobError("JOB_REFUSED", f"job.json's plan has a node of unknown kind {kind!r}")
