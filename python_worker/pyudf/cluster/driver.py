"""The driver process: reads the bundle's job, connects to the Ray cluster, runs the plan, reports events.

Events (fd 4, JSON lines): connected, then done or error (exit code 1). A
collect sink's rows go to fd 3 as an Arrow IPC stream. SIGTERM shuts Ray down
(the job's tasks and actors end with the driver) and exits; so does the death
of the parent process.

Submitted through Ray's Jobs API, the driver runs on the cluster as the job's
entrypoint, and `--report host:port:token` has it connect back to the host:
one connection becomes fd 4, the other fd 3, so the rest reads as above; the
host closing them (it stopped, or died) ends the driver like SIGTERM.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
import traceback
from typing import Any, NoReturn, Optional

from pyudf.cluster.events import EVENTS_FD, EventChannel
from pyudf.cluster.job import ClusterJobError, Job, read_job
from pyudf.cluster.runtime_env import WHEELS_DIR, runtime_env_for

RESULTS_FD = 3
# Set by Ray for a job's entrypoint started through the Jobs API.
SUBMITTED_JOB_ENV = "RAY_JOB_CONFIG_JSON_ENV_VAR"
# How long reaching the cluster's GCS may take before the job fails: Ray's own wait is minutes.
# The host passes its cluster option connectTimeoutMs as PYUDF_CONNECT_TIMEOUT_MS.
RAY_INIT_TIMEOUT_S = float(os.environ.get("PYUDF_CONNECT_TIMEOUT_MS") or 60_000) / 1000
CONNECT_TIMEOUT_S = min(10.0, RAY_INIT_TIMEOUT_S)
PARENT_POLL_S = 0.5
SHUTDOWN_TIMEOUT_S = 5.0
EXIT_TERMINATED = 143
_PYUDF_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv: Optional[list[str]] = None) -> NoReturn:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pyudf.cluster", description="runs a pyudf job bundle on a Ray cluster")
    parser.add_argument("--bundle", required=True, help="the job bundle directory (job.json, modules/, data/)")
    parser.add_argument("--address", required=True, help="the Ray cluster's address, host:port of its GCS, or auto")
    parser.add_argument("--report", help="host:port:token the host listens on for this job's events and results")
    args = parser.parse_args(argv)
    if args.report:
        _report_to(args.report)
    events = EventChannel()
    _watch_parent(os.getppid())
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGUSR1, _raise_timed_out)
    code = run(args.bundle, args.address, events)
    _shutdown_ray()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run(bundle: str, address: str, events: EventChannel) -> int:
    started = time.monotonic()
    try:
        # Absolute now: a submitted job's driver starts in its working_dir, which Ray may unpack anew later.
        job = read_job(os.path.abspath(bundle))
        check_requirements(job)
        import ray

        connect(address, job)
        resources = ray.cluster_resources()
        events.send({
            "event": "connected", "rayVersion": ray.__version__,
            "nodes": sum(1 for n in ray.nodes() if n.get("Alive")), "cpus": int(resources.get("CPU", 0)),
        })
        rows, policy_rows, stats, registered = execute(job)
        events.send({
            "event": "done", "rows": rows,
            "metrics": {
                "elapsedMs": round((time.monotonic() - started) * 1000),
                "functions": {
                    name: {"batches": f[0], "rowsIn": f[1], "rowsOut": f[2], "rowsFailed": f[3], "functionNanos": f[4]}
                    for name, f in sorted(stats.items())
                },
                "workers": registered,
            },
            "errorCounts": {name: {"policy": job.functions[name].policy, "rows": n} for name, n in sorted(policy_rows.items())},
        })
        return 0
    except BaseException as exc:  # every failure is the job's error event
        if isinstance(exc, SystemExit):
            raise
        error = job_error(exc)
        events.send(error.to_event())
        return 1


REQUIREMENTS_CHECK_TIMEOUT_S = 300


def check_requirements(job: Job) -> None:
    """Resolves the job's requirements against its bundle's wheels/ alone, before the job goes to the cluster.

    Each node installs them on its own (runtime_env_for); one missing from the cached dir would
    fail there only after Ray's set-up retries, a minute later, on every node. pip's resolver
    here says the same at once, with pip's own message. The nodes are assumed to run this
    driver's Python version and platform, as Ray itself requires.
    """
    import subprocess

    requirements = os.path.join(job.bundle_dir, "requirements.txt")
    if not os.path.isfile(requirements):
        return
    command = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--isolated", "--no-index",
        "--disable-pip-version-check", "--no-cache-dir", "--quiet", "--find-links", os.path.join(job.bundle_dir, WHEELS_DIR),
        "-r", requirements,
    ]
    try:
        checked = subprocess.run(command, capture_output=True, text=True, timeout=REQUIREMENTS_CHECK_TIMEOUT_S,
                                 stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ClusterJobError("REQUIREMENTS", f"resolving the job's requirements took over {REQUIREMENTS_CHECK_TIMEOUT_S} s") from None
    if checked.returncode != 0:
        output = (checked.stderr or checked.stdout).strip()
        reason = next((line.strip() for line in reversed(output.splitlines()) if line.strip().startswith("ERROR:")), output[-500:])
        raise ClusterJobError("REQUIREMENTS", f"the job's requirements cannot be installed from its cached dir alone: {reason}",
                              clusterMessage=output[-4000:])


def connect(address: str, job: Job) -> None:
    """ray.init with the bundle as the job's working_dir; an unreachable address fails fast, naming it."""
    import ray

    _check_reachable(address)
    requirements = os.path.join(job.bundle_dir, "requirements.txt")
    runtime_env: dict[str, Any] = runtime_env_for(job.bundle_dir, requirements) if os.path.isfile(requirements) \
        else {"working_dir": job.bundle_dir}
    runtime_env["py_modules"] = [_PYUDF_PACKAGE]
    if SUBMITTED_JOB_ENV in os.environ:
        # A job submitted through the Jobs API: its working_dir and py_modules are the submission's, already in place;
        # Ray merges what is left (the requirements) into the job's runtime_env.
        del runtime_env["working_dir"], runtime_env["py_modules"]
    alarm = threading.Timer(RAY_INIT_TIMEOUT_S, _interrupt_main)
    alarm.daemon = True
    alarm.start()
    try:
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=True, include_dashboard=False,
                 namespace=f"pyudf-{job.job_id}", logging_level="WARNING")
    except _ConnectTimedOut:
        raise ClusterJobError("CLUSTER_UNREACHABLE", f"the Ray cluster at {address} did not accept the job within {RAY_INIT_TIMEOUT_S:.0f} s",
                              address=address) from None
    except ClusterJobError:
        raise
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        code = "REQUIREMENTS" if "runtime_env" in str(exc).lower() and "pip" in str(exc).lower() else "CLUSTER_UNREACHABLE"
        raise ClusterJobError(code, f"cannot connect to the Ray cluster at {address}: {message}", address=address) from exc
    finally:
        alarm.cancel()
    import ray.data

    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    # Ray Data reserves each operator a share of the cluster; on a cluster of a few CPUs that share
    # is under one task's, and every operator then runs one task at a time.
    context.op_resource_reservation_enabled = False
    # A task's ClusterJobError reaches the driver as itself, not as a UserCodeException that loses it.
    context.raise_original_map_exception = True


class _ConnectTimedOut(BaseException):
    pass


def _interrupt_main() -> None:
    signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)


def _raise_timed_out(signum: int, frame: Any) -> None:
    raise _ConnectTimedOut()


def _check_reachable(address: str) -> None:
    """A TCP connection to the GCS address, bounded: ray.init itself waits minutes for an address that never answers."""
    if address in ("auto", "local") or address.startswith("ray://"):
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterJobError("CLUSTER_UNREACHABLE", f"the Ray cluster address {address!r} is not host:port", address=address)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ClusterJobError("CLUSTER_UNREACHABLE", f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}",
                              address=address) from None


def execute(job: Job) -> tuple[int, dict[str, int], dict[str, list[int]], list[Any]]:
    """Runs the plan into the job's sink; the rows written (or collected), the rows each policy absorbed,
    each function's figures and each worker process's registered metrics (faults.BatchLedger)."""
    import ray

    from pyudf.cluster.faults import create_ledger
    from pyudf.cluster.plan import PlanRunner
    from pyudf.cluster import sinks, sources

    ledger = create_ledger(job.job_id)
    runner = PlanRunner(job, ledger, sources.read_source)
    dataset = runner.dataset()
    root_schema = runner.nodes[runner.root]["schema"]
    if job.sink.get("kind") == "collect":
        rows = sinks.stream_collect(dataset, RESULTS_FD, root_schema)
    elif job.sink.get("kind") == "count":
        # Runs the whole plan (its calls and their error policies decide which rows there are); only the count comes back.
        rows = dataset.count()
    else:
        rows = sinks.write_sink(dataset, job.sink, root_schema, job.job_id)
    return (int(rows), ray.get(ledger.policy_rows.remote()), ray.get(ledger.function_stats.remote()),
            ray.get(ledger.registered_metrics.remote()))


def job_error(exc: BaseException) -> ClusterJobError:
    """The job's typed error inside whatever Ray wrapped it in; anything else is INTERNAL, with its traceback."""
    found = _find_job_error(exc)
    if found is not None:
        return found
    crashed = _crash_of(exc)
    if crashed is not None:
        return crashed
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return ClusterJobError("INTERNAL", f"the driver failed: {type(exc).__name__}: {exc}", traceback=text)


def _find_job_error(exc: Optional[BaseException]) -> Optional[ClusterJobError]:
    """Ray's RayTaskError keeps the task's exception in `cause` (pickled with its fields); Python's chain links the rest."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        # RayTaskError(ClusterJobError) is an instance of both, without the fields: its cause has them.
        if isinstance(current, ClusterJobError) and "fields" in vars(current):
            return ClusterJobError(current.code, current.message, **current.fields)
        pending.extend(inner for inner in (getattr(current, "cause", None), current.__cause__, current.__context__)
                       if isinstance(inner, BaseException))
    return None


def _crash_of(exc: BaseException) -> Optional[ClusterJobError]:
    """A task whose process kept dying past its retries (a node lost for good, a crash outside any call)."""
    seen: set[int] = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        if name in ("WorkerCrashedError", "NodeDiedError", "OutOfMemoryError", "ActorDiedError"):
            return ClusterJobError("WORKER_CRASHED", f"a Ray task of the job failed for good: {name}: {str(current).strip()[:2000]}")
        current = current.__cause__ or getattr(current, "cause", None) or current.__context__
    return None


_terminating = threading.Event()


def _on_sigterm(signum: int, frame: Any) -> None:
    if _terminating.is_set():
        return
    _terminating.set()
    _shutdown_ray()
    os._exit(EXIT_TERMINATED)


def _shutdown_ray() -> None:
    """ray.shutdown, bounded: the job's tasks and non-detached actors end with the driver anyway."""
    if "ray" not in sys.modules:
        return
    import ray

    done = threading.Thread(target=ray.shutdown, daemon=True)
    done.start()
    done.join(SHUTDOWN_TIMEOUT_S)


REPORT_CONNECT_TIMEOUT_S = 30.0


def _report_to(report: str) -> None:
    """Connects fd 4 (events) and fd 3 (results) to the host that submitted the job; watches the events connection."""
    host, port, token = report.rsplit(":", 2)
    connections = {}
    for fd, stream in ((EVENTS_FD, "events"), (RESULTS_FD, "results")):
        try:
            connection = socket.create_connection((host.strip("[]"), int(port)), timeout=REPORT_CONNECT_TIMEOUT_S)
        except OSError as exc:
            print(f"pyudf: cannot reach the host that submitted the job at {host}:{port}: {exc}", file=sys.stderr, flush=True)
            os._exit(1)
        connection.settimeout(None)
        connection.sendall(f"{token} {stream}\n".encode("ascii"))
        os.dup2(connection.fileno(), fd)
        connections[stream] = connection
    events = connections["events"]

    def watch() -> None:
        # The host never writes: end of stream means it is gone, and the job goes with it.
        try:
            while events.recv(1024):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)
    threading.Thread(target=watch, name="pyudf-host-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    """The driver ends with its host: a parent that is gone reparents us."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os.kill(os.getpid(), signal.SIGTERM)
    threading.Thread(target=watch, name="pyudf-parent-watch", daemon=True).start()
