"""job.json: reading and checking it, and the typed error a job fails with."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Optional

JOB_FORMAT = "pyudf-ray-job"
JOB_VERSION = 1
ERROR_POLICIES = ("fail", "null", "skip", "deadLetter")
ERROR_CODES = frozenset([
    "UDF_ERROR", "CLUSTER_UNREACHABLE", "JOB_REFUSED", "CSV_FORMAT", "ARITHMETIC", "WORKER_CRASHED",
    "UDF_TIMEOUT", "REQUIREMENTS", "IO", "INTERNAL",
])


class ClusterJobError(Exception):
    """A job's failure as the driver reports it: a code, a message, and the fields a user needs.

    Raised inside Ray tasks too: it pickles with its fields, so the driver finds it in the
    task error that Ray hands back.
    """

    def __init__(self, code: str, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.code = code if code in ERROR_CODES else "INTERNAL"
        self.message = message
        self.fields = {k: v for k, v in fields.items() if v is not None}

    def __reduce__(self) -> tuple:
        return (_rebuild_error, (self.code, self.message, self.fields))

    def to_event(self) -> dict[str, Any]:
        return {"event": "error", "error": {"code": self.code, "message": self.message, **self.fields}}


def _rebuild_error(code: str, message: str, fields: dict[str, Any]) -> ClusterJobError:
    return ClusterJobError(code, message, **fields)


@dataclass(frozen=True)
class FunctionDecl:
    """One Python function of the job, with the FunctionSpec fields a worker loads it from."""

    name: str
    callable: str
    input_types: list[str]
    has_input_types: bool
    result_type: str
    category: str
    result_types: list[str]
    func_type: str
    concurrency: int
    io_threads: int
    policy: str


@dataclass(frozen=True)
class Job:
    bundle_dir: str
    job_id: str
    job_name: str
    functions: dict[str, FunctionDecl]
    job_parameters: dict[str, str]
    batch_size: int
    udf_timeout_ms: int
    max_task_retries: int
    dead_letter_path: Optional[str]
    plan: Any
    sink: dict[str, Any]
    #: The SET statements every DuckDB connection of the job runs first, as the host's engine does.
    engine_setup: tuple[str, ...] = ()
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def local_bundle_dir(self) -> str:
        """The bundle where this process sees it: a Ray worker runs in its node's copy (the job's working_dir)."""
        try:
            here = os.getcwd()
        except FileNotFoundError:
            # A node that shares its runtime_resources with another (nodes of one host) may unpack the
            # working_dir anew under the same path while this process sits in it.
            return self.bundle_dir
        if here != self.bundle_dir and os.path.isfile(os.path.join(here, "job.json")):
            return here
        return self.bundle_dir

    @property
    def modules_dir(self) -> str:
        return os.path.join(self.local_bundle_dir, "modules")


def read_job(bundle_dir: str) -> Job:
    """job.json of a bundle, checked: a bundle this driver cannot run is JOB_REFUSED, naming why."""
    path = os.path.join(bundle_dir, "job.json")
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except OSError as exc:
        raise ClusterJobError("JOB_REFUSED", f"cannot read the job bundle's job.json at {path}: {exc}") from exc
    except ValueError as exc:
        raise ClusterJobError("JOB_REFUSED", f"the job bundle's job.json at {path} is not JSON: {exc}") from exc
    return parse_job(raw, bundle_dir)


def parse_job(raw: Any, bundle_dir: str) -> Job:
    if not isinstance(raw, dict) or raw.get("format") != JOB_FORMAT:
        found = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
        raise ClusterJobError("JOB_REFUSED", f"job.json is not a pyudf Ray job: format {found!r}, expected {JOB_FORMAT!r}")
    version = raw.get("version")
    if version != JOB_VERSION:
        raise ClusterJobError(
            "JOB_REFUSED",
            f"job.json has version {version!r}, but this driver runs version {JOB_VERSION} only: "
            "the host and the cluster's pyudf package differ; install the same pyudf version on both",
            version=version,
        )
    functions: dict[str, FunctionDecl] = {}
    for spec in _required(raw, "functions", list):
        decl = _function(spec)
        if decl.name in functions:
            raise ClusterJobError("JOB_REFUSED", f"job.json declares function {decl.name!r} twice")
        functions[decl.name] = decl
    dead_letter_path = raw.get("deadLetterPath")
    for decl in functions.values():
        if decl.policy == "deadLetter" and not dead_letter_path:
            raise ClusterJobError("JOB_REFUSED", f"function {decl.name!r} sends failing rows to dead letters, but job.json has no deadLetterPath")
    parameters = raw.get("jobParameters") or {}
    if not isinstance(parameters, dict):
        raise ClusterJobError("JOB_REFUSED", f"job.json's jobParameters is {type(parameters).__name__}, not an object")
    return Job(
        bundle_dir=os.path.abspath(bundle_dir),
        job_id=str(_required(raw, "jobId", str)),
        job_name=str(raw.get("jobName") or ""),
        functions=functions,
        job_parameters={str(k): str(v) for k, v in parameters.items()},
        batch_size=_positive(raw, "batchSize", 4096),
        udf_timeout_ms=_positive(raw, "udfTimeoutMs", 600_000),
        max_task_retries=_positive(raw, "maxTaskRetries", 3),
        dead_letter_path=dead_letter_path,
        plan=_required(raw, "plan", (dict, list)),
        sink=_required(raw, "sink", dict),
        engine_setup=tuple(str(statement) for statement in raw.get("engineSetup") or ()),
        raw=raw,
    )


def _function(spec: Any) -> FunctionDecl:
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not isinstance(spec.get("callable"), str):
        raise ClusterJobError("JOB_REFUSED", f"job.json has a function without a name and a callable: {spec!r}")
    policy = spec.get("policy") or "fail"
    if policy not in ERROR_POLICIES:
        raise ClusterJobError("JOB_REFUSED", f"function {spec['name']!r} has error policy {policy!r}; policies: {', '.join(ERROR_POLICIES)}")
    return FunctionDecl(
        name=spec["name"],
        callable=spec["callable"],
        input_types=list(spec.get("inputTypes") or []),
        has_input_types=bool(spec.get("hasInputTypes", bool(spec.get("inputTypes")))),
        result_type=spec.get("resultType") or "",
        category=spec.get("category") or "",
        result_types=list(spec.get("resultTypes") or []),
        func_type=spec.get("funcType") or "",
        concurrency=int(spec.get("concurrency") or 0),
        io_threads=int(spec.get("ioThreads") or 0),
        policy=policy,
    )


def _required(raw: dict, key: str, kind: Any) -> Any:
    value = raw.get(key)
    if not isinstance(value, kind):
        raise ClusterJobError("JOB_REFUSED", f"job.json has no valid {key!r} (got {value!r})")
    return value


def _positive(raw: dict, key: str, default: int) -> int:
    value = raw.get(key, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ClusterJobError("JOB_REFUSED", f"job.json's {key} must be a positive integer, got {value!r}")
    return value
