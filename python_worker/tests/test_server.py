"""A real worker process: gRPC over a unix socket, the ready line, shutdown and parent watch."""
from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc
import pyarrow as pa

from pyudf._proto import worker_pb2, worker_pb2_grpc
from pyudf.worker import server
from tests.support import PYTHON_WORKER_DIR, arguments, decode_result

READY_TIMEOUT = 10.0

EXIT_EFFECTS_MODULE = """
import atexit, threading, time

log = open("unflushed.txt", "w")  # never closed: flushed only if the exit flushes it
log.write("opened at import\\n")


def _at_exit():
    with open("atexit.txt", "w") as f:
        f.write("ran\\n")


atexit.register(_at_exit)


def _finish_later():
    time.sleep(0.5)
    with open("thread.txt", "w") as f:
        f.write("done\\n")


def f(x):
    log.write("row %d\\n" % x)
    if x == 2:
        threading.Thread(target=_finish_later, daemon=False).start()  # not inherited from the call's daemon thread
    return x
"""
RPC_TIMEOUT = 5.0


class WorkerProcessTest(unittest.TestCase):
    def setUp(self):
        self.tmpdir = tempfile.mkdtemp(prefix="pyudf-w-")
        self.addCleanup(shutil.rmtree, self.tmpdir, True)
        self.address = f"unix:{self.tmpdir}/w.sock"
        self.stderr = open(os.path.join(self.tmpdir, "stderr.txt"), "w+b")
        self.addCleanup(self.stderr.close)
        env = dict(os.environ)
        env["PYTHONPATH"] = PYTHON_WORKER_DIR
        self.proc = subprocess.Popen(
            # As the host starts it: the guard then tells a host that let go of the
            # worker (stdin closed, host alive) from one that died.
            [sys.executable, "-m", "pyudf.worker", "--address", self.address, "--host-pid", str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
            env=env, cwd=self.tmpdir,
        )
        self.addCleanup(self._stop_process)
        self.ready = self._read_ready_line()
        self.channel = grpc.insecure_channel(self.address)
        self.addCleanup(self.channel.close)
        self.stub = worker_pb2_grpc.WorkerStub(self.channel)

    def _stop_process(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:  # stdin of a dead process: the flush may find a broken pipe
                pass

    def _worker_stderr(self) -> str:
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def _read_ready_line(self) -> dict:
        box: list[bytes] = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(READY_TIMEOUT)
        if not box or not box[0]:
            self.fail(f"no ready line from the worker; stderr:\n{self._worker_stderr()}")
        return json.loads(box[0])

    def _wait_exit(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"worker still running after {timeout}s; stderr:\n{self._worker_stderr()}")

    def test_ready_line(self):
        self.assertEqual(self.ready, {
            "event": "ready", "protocol": server.PROTOCOL_VERSION, "pid": self.proc.pid, "address": self.address,
        })

    def test_round_trip(self):
        hello = self.stub.Handshake(
            worker_pb2.HandshakeRequest(protocol_version=server.PROTOCOL_VERSION, host_version="test"), timeout=RPC_TIMEOUT,
        )
        self.assertEqual(hello.protocol_version, server.PROTOCOL_VERSION)
        self.assertEqual(hello.worker_version, "0.1.0")
        self.assertEqual(hello.pid, self.proc.pid)
        self.assertEqual(hello.python_executable, sys.executable)
        self.assertEqual(hello.python_version, ".".join(map(str, sys.version_info[:3])))

        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.Handshake(
                worker_pb2.HandshakeRequest(protocol_version=99, host_version="9.9.9"), timeout=RPC_TIMEOUT,
            )
        self.assertEqual(caught.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(caught.exception.details(),
                         f"pyudf worker 0.1.0 speaks protocol {server.PROTOCOL_VERSION}, host 9.9.9 speaks protocol 99")

        logs = self.stub.StreamLogs(worker_pb2.StreamLogsRequest(), timeout=RPC_TIMEOUT * 2)
        records: list = []
        log_reader = threading.Thread(target=lambda: records.extend(logs), daemon=True)
        log_reader.start()

        loaded = self.stub.LoadFunctions(worker_pb2.LoadFunctionsRequest(
            functions=[
                worker_pb2.FunctionSpec(name="add", callable="lambda i, j: print('adding', i, j) or i + j",
                                        input_types=["BIGINT", "BIGINT"], has_input_types=True,
                                        result_type="BIGINT"),
                worker_pb2.FunctionSpec(name="greet", callable="lambda s: 'hi ' + s", result_type="STRING"),
            ],
        ), timeout=RPC_TIMEOUT)
        self.assertFalse(loaded.HasField("error"), loaded.error)
        self.assertEqual([(f.name, list(f.input_types), f.has_input_types, f.result_type)
                          for f in loaded.functions],
                         [("add", ["BIGINT", "BIGINT"], True, "BIGINT"), ("greet", [], False, "STRING")])

        requests = [
            worker_pb2.CallRequest(call_id=1, function_name="add",
                                   arguments=arguments([1, 2, 3], [10, 20, 30]), num_rows=3),
            worker_pb2.CallRequest(call_id=2, function_name="greet",
                                   arguments=arguments(["ann", "bo"]), num_rows=2),
            worker_pb2.CallRequest(call_id=3, function_name="greet",
                                   arguments=arguments(["x", None]), num_rows=2),
        ]
        replies = list(self.stub.Call(iter(requests), timeout=RPC_TIMEOUT))
        self.assertEqual([r.call_id for r in replies], [1, 2, 3])
        self.assertFalse(replies[0].HasField("error"), replies[0].error)
        self.assertEqual(decode_result(replies[0].result).to_pylist(), [11, 22, 33])
        self.assertEqual(decode_result(replies[0].result).type, pa.int64())
        self.assertFalse(replies[1].HasField("error"), replies[1].error)
        self.assertEqual(decode_result(replies[1].result).to_pylist(), ["hi ann", "hi bo"])
        # A UDF failure is data in the reply, not a gRPC error.
        self.assertEqual((replies[2].error.function_name, replies[2].error.phase,
                          replies[2].error.exception_type, replies[2].error.row_index),
                         ("greet", "eval", "TypeError", 1))

        shutdown = self.stub.Shutdown(worker_pb2.ShutdownRequest(), timeout=RPC_TIMEOUT)
        self.assertEqual(list(shutdown.errors), [])
        self.assertEqual(self._wait_exit(5.0), 0, self._worker_stderr())
        log_reader.join(RPC_TIMEOUT)
        self.assertFalse(log_reader.is_alive())
        self.assertEqual([(r.level, r.function_name, r.message) for r in records], [
            ("stdout", "add", "adding 1 10"),
            ("stdout", "add", "adding 2 20"),
            ("stdout", "add", "adding 3 30"),
        ])
        self.assertEqual(self._worker_stderr(), "")

    def test_shutdown_keeps_what_the_interpreter_exit_would(self):
        # The worker ends without the interpreter's teardown: what a function may rely on at exit must still happen.
        with open(os.path.join(self.tmpdir, "exit_effects.py"), "w") as module:
            module.write(EXIT_EFFECTS_MODULE)
        loaded = self.stub.LoadFunctions(worker_pb2.LoadFunctionsRequest(functions=[
            worker_pb2.FunctionSpec(name="f", callable="exit_effects.f", input_types=["BIGINT"], has_input_types=True,
                                    result_type="BIGINT"),
        ]), timeout=RPC_TIMEOUT)
        self.assertFalse(loaded.HasField("error"), loaded.error)
        replies = list(self.stub.Call(iter([worker_pb2.CallRequest(
            call_id=1, function_name="f", arguments=arguments([1, 2]), num_rows=2)]), timeout=RPC_TIMEOUT))
        self.assertFalse(replies[0].HasField("error"), replies[0].error)
        self.stub.Shutdown(worker_pb2.ShutdownRequest(), timeout=RPC_TIMEOUT)
        self.assertEqual(self._wait_exit(5.0), 0, self._worker_stderr())

        def written(name: str) -> str:
            with open(os.path.join(self.tmpdir, name)) as f:
                return f.read()
        self.assertEqual(written("unflushed.txt"), "opened at import\nrow 1\nrow 2\n")  # flushed, as its finalizer would
        self.assertEqual(written("thread.txt"), "done\n")  # a thread that is not a daemon was joined
        self.assertEqual(written("atexit.txt"), "ran\n")  # atexit handlers ran
        self.assertEqual(self._worker_stderr(), "")

    def test_exits_when_the_host_closes_stdin(self):
        hello = self.stub.Handshake(worker_pb2.HandshakeRequest(protocol_version=server.PROTOCOL_VERSION), timeout=RPC_TIMEOUT)
        self.assertEqual(hello.pid, self.proc.pid)
        started = time.monotonic()
        self.proc.stdin.close()
        code = self._wait_exit(2.0)
        self.assertLess(time.monotonic() - started, 2.0)
        self.assertEqual(code, 70)


if __name__ == "__main__":
    unittest.main()


class CallRecordTest(unittest.TestCase):
    """The calls file: the call running, and the first call that closed the server's sockets."""

    def setUp(self):
        self.tmpdir = tempfile.mkdtemp(prefix="pyudf-calls-")
        self.addCleanup(shutil.rmtree, self.tmpdir, True)
        self.path = os.path.join(self.tmpdir, "w.calls")
        socket_path = os.path.join(self.tmpdir, "w.sock")
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(socket_path)
        self.listener.listen()
        self.client = socket.socket(socket.AF_UNIX)
        self.client.connect(socket_path)
        self.connection, _ = self.listener.accept()
        self.other = socket.socket(socket.AF_INET)  # a function's own socket, not the server's
        for s in (self.listener, self.client, self.connection, self.other):
            self.addCleanup(s.close)
        self.record = server.CallRecord(self.path, "unix:" + socket_path)

    def read(self):
        with open(self.path, "rb") as f:
            data = f.read()
        return struct.unpack("<qq", data[:16]), (struct.unpack("<q", data[16:24])[0] if len(data) >= 24 else None)

    def test_names_the_first_call_after_which_a_server_socket_is_gone(self):
        self.record.started(1)
        self.assertEqual(self.read(), ((1, 1), None))
        self.record.finished(1)
        self.assertEqual(self.read(), ((1, 0), None))
        self.record.started(2)
        self.other.close()  # a function closing a socket of its own is no one's business
        self.record.finished(2)
        self.assertEqual(self.read(), ((2, 0), None))
        self.record.started(3)
        self.connection.close()
        self.record.finished(3)
        self.assertEqual(self.read(), ((3, 0), 3))
        self.record.started(4)
        self.record.finished(4)
        self.assertEqual(self.read(), ((4, 0), 3))

    def test_a_closed_descriptor_reused_for_another_file_counts_as_closed(self):
        self.record.started(1)
        fd = self.connection.detach()
        os.close(fd)
        reused = os.open(self.path, os.O_RDONLY)
        self.addCleanup(os.close, reused)
        self.record.finished(1)
        self.assertEqual(self.read()[1], 1)
