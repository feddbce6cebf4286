"""Running a pyudf job bundle (job.json) on a Ray cluster: ``python -m pyudf.cluster``.

The modules, one responsibility each:
  job          reading and checking job.json; ClusterJobError, the error event's shape
  values       Flink type text to Arrow types; values as the events' JSON spells them
  calls        the job's functions in a Ray worker process, called on Arrow columns under their error policies
  expressions  typed expressions over an Arrow batch, with the host evaluator's semantics
  calcs        a chain of row-wise plan nodes as one function over batches
  aggregates   the aggregate node
  sql_stage    a relational (non-row-wise) SQL node as one DuckDB task over its inputs' blocks
  faults       the job's ledger of batch starts, the poison-row search and the call watchdog
  plan         plan nodes to Ray Datasets
  driver       the driver process: connect, run, report events
  runtime_env  the Ray runtime_env installing the job's requirements offline from its bundle
  csv_text     rows spelled as CSV byte for byte as the host's CSV sink spells them
  sources      plan sources (CSV in byte ranges, Parquet, JSON lines, bundled Arrow) to Ray Datasets
  sinks        results streamed to the host, or part files committed onto the sink's target
"""
