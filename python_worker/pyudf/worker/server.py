"""The gRPC service and the worker process's life: ready line, parent watch, shutdown."""
from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import sys
import threading
from concurrent import futures
from typing import Iterator, Optional

import grpc

import pyudf
from pyudf._proto import worker_pb2, worker_pb2_grpc
from pyudf.worker.logs import LogHub, capture_output
from pyudf.worker.runtime import FunctionRuntime

PROTOCOL_VERSION = 1
# Batches of large strings exceed gRPC's 4 MiB default; the host bounds batch sizes itself.
MAX_MESSAGE_BYTES = 1 << 30
SHUTDOWN_GRACE_SECONDS = 2.0
EXIT_PARENT_GONE = 70


class WorkerService(worker_pb2_grpc.WorkerServicer):
    def __init__(self, runtime: FunctionRuntime, hub: LogHub, stopping: threading.Event) -> None:
        self._runtime = runtime
        self._hub = hub
        self._stopping = stopping
        # Calls run one at a time: UDFs need not be thread-safe, and order is kept.
        self._call_lock = threading.Lock()

    def Handshake(self, request, context):
        if request.protocol_version != PROTOCOL_VERSION:
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"pyudf worker {pyudf.__version__} speaks protocol {PROTOCOL_VERSION}, "
                f"host {request.host_version} speaks protocol {request.protocol_version}",
            )
        return worker_pb2.HandshakeReply(
            protocol_version=PROTOCOL_VERSION,
            worker_version=pyudf.__version__,
            python_version=platform.python_version(),
            python_executable=sys.executable,
            pid=os.getpid(),
        )

    def LoadFunctions(self, request, context):
        with self._call_lock:
            return self._runtime.load(request)

    def Call(self, request_iterator, context) -> Iterator[worker_pb2.CallReply]:
        for request in request_iterator:
            with self._call_lock:
                reply = self._runtime.call(request)
            yield reply

    def StreamLogs(self, request, context):
        yield from self._hub.drain()

    def Shutdown(self, request, context):
        with self._call_lock:
            errors = list(self._runtime.close_all())
        self._stopping.set()
        return worker_pb2.ShutdownReply(errors=errors)


def _watch_parent(fd: int, owner_dir: Optional[str]) -> None:
    """The host holds our stdin open; EOF means it is gone, however it died.

    Reads the raw descriptor: a daemon thread blocked in sys.stdin.buffer.read()
    holds the buffer's lock, and interpreter shutdown then aborts (SIGABRT).
    """
    while os.read(fd, 65536):
        pass
    if owner_dir:
        # The host cannot clean up after a SIGKILL: its private directory is ours to remove.
        shutil.rmtree(owner_dir, ignore_errors=True)
    os._exit(EXIT_PARENT_GONE)


def serve(address: str, owner_dir: Optional[str] = None) -> None:
    hub = LogHub()
    stopping = threading.Event()
    runtime = FunctionRuntime(hub)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="pyudf-rpc"),
        options=[
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    worker_pb2_grpc.add_WorkerServicer_to_server(WorkerService(runtime, hub, stopping), server)
    if server.add_insecure_port(address) == 0 and not address.startswith("unix:"):
        raise RuntimeError(f"cannot listen on {address}")
    server.start()

    threading.Thread(target=_watch_parent, args=(sys.stdin.fileno(), owner_dir), name="pyudf-parent-watch",
                     daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the host, which stops us in order

    ready = {"event": "ready", "protocol": PROTOCOL_VERSION, "pid": os.getpid(), "address": address}
    os.write(1, (json.dumps(ready) + "\n").encode())
    capture_output(hub)

    while not stopping.wait(0.5):
        pass
    hub.close()
    server.stop(SHUTDOWN_GRACE_SECONDS).wait()
