"""A local Ray cluster of the tests' own, job bundles in temp dirs, and the driver run as a process."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from typing import Any, Optional

import pyarrow as pa

PYTHON_WORKER_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STANDIN_DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "standin_driver.py")
CLUSTER_START_TIMEOUT_S = 60
DRIVER_TIMEOUT_S = 120
STOP_GRACE_S = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_command() -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), "ray")
    return [script] if os.path.exists(script) else [sys.executable, "-m", "ray.scripts.scripts"]


class LocalCluster:
    """`ray start --head --block` in a session of its own, on free ports and a temp dir; stop() ends that session only."""

    def __init__(self, num_cpus: int = 2) -> None:
        self.temp_dir = tempfile.mkdtemp(prefix="pyudf-ray-")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        ports = {
            "--port": self.port, "--node-manager-port": free_port(), "--object-manager-port": free_port(),
            "--ray-client-server-port": free_port(), "--dashboard-agent-listen-port": free_port(),
            "--dashboard-agent-grpc-port": free_port(), "--metrics-export-port": free_port(),
            "--runtime-env-agent-port": free_port(), "--dashboard-port": free_port(),
        }
        low = free_port()
        command = [
            *ray_command(), "start", "--head", "--block", f"--num-cpus={num_cpus}", "--disable-usage-stats",
            "--include-dashboard=false", "--node-ip-address=127.0.0.1", f"--temp-dir={self.temp_dir}",
            f"--min-worker-port={min(low, 60000)}", f"--max-worker-port={min(low, 60000) + 200}",
            *[f"{flag}={port}" for flag, port in ports.items()],
        ]
        self._log = open(os.path.join(self.temp_dir, "ray-start.log"), "wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + CLUSTER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ray start exited with {self.process.returncode}: {self.log()}")
            if "Ray runtime started" in self.log():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the local Ray cluster did not start within {CLUSTER_START_TIMEOUT_S} s: {self.log()}")

    def log(self) -> str:
        with open(os.path.join(self.temp_dir, "ray-start.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    def stop(self) -> None:
        """Ends the cluster's session (its processes only), politely, then by force."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
        # `ray start --block` takes half a minute to stop gracefully; its session holds nothing worth the wait.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        assert_session_empty(self.process.pid)
        self._log.close()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def column(index: int, type_text: str) -> dict[str, Any]:
    return {"kind": "column", "index": index, "type": type_text}


def constant(value: Any, type_text: str) -> dict[str, Any]:
    return {"kind": "constant", "value": value, "type": type_text}


def call(name: str, args: list[dict[str, Any]], type_text: str) -> dict[str, Any]:
    return {"kind": "call", "name": name, "args": args, "type": type_text}


def binary(op: str, left: dict[str, Any], right: dict[str, Any], type_text: str) -> dict[str, Any]:
    return {"kind": "binary", "op": op, "left": left, "right": right, "type": type_text}


def function(name: str, callable_text: str, input_types: list[str], result_type: str = "", *,
             category: str = "scalar", result_types: Optional[list[str]] = None, policy: str = "fail") -> dict[str, Any]:
    return {
        "name": name, "callable": callable_text, "inputTypes": input_types, "hasInputTypes": True,
        "resultType": result_type, "category": category, "resultTypes": result_types or [], "funcType": "",
        "concurrency": 0, "ioThreads": 0, "policy": policy,
    }


def write_bundle(directory: str, *, functions: list[dict[str, Any]], nodes: list[dict[str, Any]],
                 tables: dict[str, pa.Table], modules: Optional[dict[str, str]] = None,
                 sink: Optional[dict[str, Any]] = None, **options: Any) -> str:
    """job.json + modules/ + data/*.arrow (Arrow IPC file format), as the host writes a bundle."""
    os.makedirs(os.path.join(directory, "modules"), exist_ok=True)
    os.makedirs(os.path.join(directory, "data"), exist_ok=True)
    for name, source in (modules or {}).items():
        with open(os.path.join(directory, "modules", f"{name}.py"), "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(source))
    for name, table in tables.items():
        with pa.ipc.new_file(os.path.join(directory, "data", f"{name}.arrow"), table.schema) as writer:
            writer.write_table(table)
    job = {
        "format": "pyudf-ray-job", "version": 1, "jobId": os.urandom(8).hex(), "jobName": "test_job",
        "functions": functions, "jobParameters": {}, "batchSize": 4096, "udfTimeoutMs": 600000,
        "maxTaskRetries": 3, "deadLetterPath": None,
        "plan": {"nodes": nodes, "root": len(nodes) - 1}, "sink": sink or {"kind": "collect"},
    }
    job.update(options)
    with open(os.path.join(directory, "job.json"), "w", encoding="utf-8") as f:
        json.dump(job, f)
    return directory


@dataclass
class DriverRun:
    exit_code: int
    events: list[dict[str, Any]]
    rows: Optional[pa.Table]
    output: str
    seconds: float

    @property
    def last(self) -> dict[str, Any]:
        return self.events[-1] if self.events else {}

    @property
    def error(self) -> dict[str, Any]:
        return self.last.get("error", {})


def run_driver(bundle: str, address: str, timeout: float = DRIVER_TIMEOUT_S) -> DriverRun:
    """The driver as the host starts it: fd 3 results, fd 4 events; its session must be empty after it exits."""
    results_path = os.path.join(bundle, "..", os.path.basename(bundle) + ".results")
    events_path = os.path.join(bundle, "..", os.path.basename(bundle) + ".events")
    output_path = os.path.join(bundle, "..", os.path.basename(bundle) + ".out")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([PYTHON_WORKER_DIR, env.get("PYTHONPATH", "")])
    env["PYUDF_TEST_RESULTS"], env["PYUDF_TEST_EVENTS"] = results_path, events_path
    # The shell only opens fds 3 and 4 and becomes the driver (exec): the driver's parent is this process.
    command = ["/bin/sh", "-c", 'exec "$0" "$@" 3>"$PYUDF_TEST_RESULTS" 4>"$PYUDF_TEST_EVENTS"',
               sys.executable, STANDIN_DRIVER, "--bundle", bundle, "--address", address]
    with open(output_path, "wb") as output:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
                                   env=env, cwd=PYTHON_WORKER_DIR)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        seconds = time.monotonic() - started
    assert_session_empty(process.pid)
    with open(events_path, encoding="utf-8") as f:
        parsed = [json.loads(line) for line in f if line.strip()]
    table = None
    if os.path.getsize(results_path):
        with pa.ipc.open_stream(pa.memory_map(results_path)) as reader:
            table = reader.read_all()
    with open(output_path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    return DriverRun(code, parsed, table, text, seconds)


def assert_session_empty(session_id: int, wait_s: float = 10.0) -> None:
    """No process is left in the driver's session (the driver started it as its leader)."""
    deadline = time.monotonic() + wait_s
    while True:
        left = [pid for pid in _pids() if _session_of(pid) == session_id]
        if not left:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"processes left behind by the driver (session {session_id}): {left}")
        time.sleep(0.1)


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _session_of(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2:].split()
    # state ppid pgrp session ...; a zombie has exited.
    if fields[0] == b"Z":
        return None
    return int(fields[3])
