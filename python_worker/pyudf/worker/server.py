"""The gRPC service and the worker process's life: ready line, parent watch, shutdown."""
from __future__ import annotations

import json
import os
import platform
import queue
import shutil
import signal
import stat
import struct
import sys
import threading
from concurrent import futures
from typing import Iterator, Optional

import grpc

import pyudf
from pyudf._proto import worker_pb2, worker_pb2_grpc
from pyudf.worker import load_phases
from pyudf.worker.logs import LogHub, capture_output
from pyudf.worker.process_life import EXIT_PARENT_GONE, adopt_orphans, bind_to_host, exit_promptly, kill_descendants, limit_memory, start_guard
from pyudf.worker.runtime import FunctionRuntime

PROTOCOL_VERSION = 2
# Batches of large strings exceed gRPC's 4 MiB default; the host bounds batch sizes itself.
MAX_MESSAGE_BYTES = 1 << 30
SHUTDOWN_GRACE_SECONDS = 2.0


class WorkerService(worker_pb2_grpc.WorkerServicer):
    def __init__(self, runtime: FunctionRuntime, hub: LogHub, stopping: threading.Event,
                 calls: "CallRecord") -> None:
        self._runtime = runtime
        self._calls = calls
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
        """Receiving, running and replying overlap, each in a thread of its own.

        grpcio asks the transport for the next request only when the handler
        wants it, and a yielded reply returns only once it was sent: in one
        thread, every batch would wait for both. The UDF runs in one thread
        only (calls stay in order; UDFs need not be thread-safe), while the
        others wait on the socket with the GIL released.
        """
        requests: queue.SimpleQueue = queue.SimpleQueue()
        replies: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=_pump, args=(request_iterator, requests), name="pyudf-receive", daemon=True).start()
        threading.Thread(target=self._run_calls, args=(requests, replies), name="pyudf-call", daemon=True).start()
        while (reply := replies.get()) is not _END:
            yield reply

    def _run_calls(self, requests: queue.SimpleQueue, replies: queue.SimpleQueue) -> None:
        try:
            while (request := requests.get()) is not _END:
                with self._call_lock:
                    self._calls.started(request.call_id)
                    reply = self._runtime.call(request)
                    self._calls.finished(request.call_id)
                replies.put(reply)
        finally:
            replies.put(_END)

    def StreamLogs(self, request, context):
        yield from self._hub.drain()

    def CloseFunctions(self, request, context):
        with self._call_lock:
            errors, metrics = self._runtime.close_all()
            # A job's end: whatever its functions started goes with it.
            kill_descendants()
        self._hub.end_stream()
        return worker_pb2.CloseFunctionsReply(errors=errors, metrics=metrics)

    def Shutdown(self, request, context):
        with self._call_lock:
            errors, metrics = self._runtime.close_all()
            kill_descendants()
        self._stopping.set()
        return worker_pb2.ShutdownReply(errors=errors, metrics=metrics)


_END = object()


class CallRecord:
    """Which call runs now, in a file the host reads if this process dies.

    Replies are sent while the next call runs, so a process that dies takes
    unsent replies with it: the host cannot tell from the replies alone which
    call killed it. Twenty-four bytes: the call id, then 1 while it runs, 0
    after; then the id of the first call that closed the process's sockets.

    That last field is for a worker that lives on with its connection gone:
    it runs on through calls it had already received, and the oldest call
    the host has no reply to may be an innocent one whose reply was lost.
    The server's sockets open when the first call came (the host's
    connection among them) are checked after each call: the first call that
    leaves one of them closed (or its number reused) is the one to blame.
    """

    def __init__(self, path: Optional[str], address: str = "") -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600) if path else None
        self._socket_path = address[len("unix:"):] if address.startswith("unix:") else None
        self._sockets: Optional[dict[int, tuple[int, int]]] = None
        self._broken_by: Optional[int] = None

    def started(self, call_id: int) -> None:
        if self._fd is not None:
            if self._sockets is None:
                self._sockets = _open_sockets(self._socket_path)
            os.pwrite(self._fd, struct.pack("<qq", call_id, 1), 0)

    def finished(self, call_id: int) -> None:
        if self._fd is not None:
            os.pwrite(self._fd, struct.pack("<qq", call_id, 0), 0)
            if self._broken_by is None and self._sockets and not _still_open(self._sockets):
                self._broken_by = call_id
                os.pwrite(self._fd, struct.pack("<q", call_id), 16)


def _open_sockets(socket_path: Optional[str]) -> dict[int, tuple[int, int]]:
    """The server's sockets (those bound to `socket_path`; every socket without one), by descriptor: their identity."""
    ours = _unix_socket_inodes(socket_path) if socket_path else None
    sockets: dict[int, tuple[int, int]] = {}
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return sockets
    for name in names:
        fd = int(name)
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if stat.S_ISSOCK(st.st_mode) and (not ours or st.st_ino in ours):
            sockets[fd] = (st.st_dev, st.st_ino)
    return sockets


def _unix_socket_inodes(socket_path: str) -> set[int]:
    """Inodes of this process's unix sockets at `socket_path`: the listener and the connections it accepted."""
    inodes: set[int] = set()
    try:
        with open("/proc/self/net/unix") as table:
            next(table, None)
            for line in table:
                fields = line.split()
                if len(fields) >= 8 and fields[7] == socket_path:
                    inodes.add(int(fields[6]))
    except (OSError, ValueError):
        pass
    return inodes


def _still_open(sockets: dict[int, tuple[int, int]]) -> bool:
    for fd, identity in sockets.items():
        try:
            st = os.fstat(fd)
        except OSError:
            return False
        if (st.st_dev, st.st_ino) != identity:
            return False
    return True


def _pump(iterator: Iterator, into: queue.SimpleQueue) -> None:
    try:
        for item in iterator:
            into.put(item)
    except Exception:  # the stream was cancelled or broke: the host has given up on it
        pass
    finally:
        into.put(_END)


def _watch_parent(fd: int, owner_dir: Optional[str]) -> None:
    """The host holds our stdin open; EOF means it is gone, however it died.

    Reads the raw descriptor: a daemon thread blocked in sys.stdin.buffer.read()
    holds the buffer's lock, and interpreter shutdown then aborts (SIGABRT).
    """
    while os.read(fd, 65536):
        pass
    kill_descendants()
    if owner_dir:
        # The host cannot clean up after a SIGKILL: its private directory is ours to remove.
        shutil.rmtree(owner_dir, ignore_errors=True)
    os._exit(EXIT_PARENT_GONE)


def serve(address: str, owner_dir: Optional[str] = None, calls_file: Optional[str] = None,
          host_pid: Optional[int] = None, load_phase_file: Optional[str] = None,
          memory_limit_mb: Optional[int] = None) -> None:
    bind_to_host(host_pid)
    load_phases.record_to(load_phase_file)
    adopt_orphans()
    start_guard(sys.stdin.fileno(), owner_dir, host_pid)
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
    worker_pb2_grpc.add_WorkerServicer_to_server(WorkerService(runtime, hub, stopping, CallRecord(calls_file, address)), server)
    if server.add_insecure_port(address) == 0 and not address.startswith("unix:"):
        raise RuntimeError(f"cannot listen on {address}")
    server.start()

    threading.Thread(target=_watch_parent, args=(sys.stdin.fileno(), owner_dir), name="pyudf-parent-watch",
                     daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the host, which stops us in order

    # The runtime's own set-up (gRPC's threads, pyarrow) is in place: what comes next is the functions'.
    limit_memory(memory_limit_mb)
    ready = {"event": "ready", "protocol": PROTOCOL_VERSION, "pid": os.getpid(), "address": address}
    os.write(1, (json.dumps(ready) + "\n").encode())
    capture_output(hub)

    while not stopping.wait(0.5):
        pass
    kill_descendants()
    hub.close()
    server.stop(SHUTDOWN_GRACE_SECONDS).wait()
    exit_promptly(0)
