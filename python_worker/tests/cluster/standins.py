"""Test stand-ins for pyudf.cluster.sources and pyudf.cluster.sinks while those are not in the package:
an Arrow scan read in the driver, and a collect sink streaming to a file descriptor."""
from __future__ import annotations

import os
from typing import Any

import pyarrow as pa
import ray


def read_source(source: dict[str, Any], schema: list[dict[str, Any]], bundle_dir: str) -> "ray.data.Dataset":
    if source.get("kind") != "arrow":
        raise NotImplementedError(f"the test stand-in reads Arrow sources only, not {source.get('kind')!r}")
    with pa.memory_map(os.path.join(bundle_dir, source["file"])) as f:
        table = pa.ipc.open_file(f).read_all()
    return ray.data.from_arrow(table)


def stream_collect(ds: "ray.data.Dataset", fd: int) -> int:
    rows = 0
    with os.fdopen(fd, "wb", closefd=False) as out:
        writer = None
        for batch in ds.iter_batches(batch_format="pyarrow", batch_size=None):
            if writer is None:
                writer = pa.ipc.new_stream(out, batch.schema)
            writer.write_table(batch)
            rows += batch.num_rows
        if writer is None:
            writer = pa.ipc.new_stream(out, ds.schema().base_schema)
        writer.close()
    return rows


def write_sink(ds: "ray.data.Dataset", sink: dict[str, Any], schema: list[dict[str, Any]], job_id: str) -> int:
    raise NotImplementedError("the test stand-in writes no sink but collect")
