"""What ties a worker process's life to its host's, and its functions' children to its own.

Linux only where it says prctl; elsewhere each step is skipped and the host's
process-group kill and stdin watch remain.
"""
from __future__ import annotations

import atexit
import ctypes
import gc
import io
import os
import shutil
import signal
import sys
import threading
from typing import NoReturn, Optional

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
EXIT_PARENT_GONE = 70
EXIT_MEMORY_LIMIT_TOO_LOW = 71


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def bind_to_host(host_pid: Optional[int]) -> None:
    """The kernel SIGKILLs this process when its host dies, however the host dies.

    A SIGKILL is the one signal a worker stuck in C code with the GIL held (a
    catastrophic regex) or stopped (SIGSTOP) cannot ignore. The host may have
    died between spawning us and this call, in which case the signal will
    never come: the parent pid then is no longer the host's, and we leave.
    """
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if host_pid is not None and os.getppid() != host_pid:
        os._exit(EXIT_PARENT_GONE)


_guard_pid: Optional[int] = None


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie has exited: it only waits to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return not stat[stat.rfind(b")") + 2:].startswith(b"Z")


def _stays_alive(pid: int, seconds: float) -> bool:
    import time
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return True
        time.sleep(0.01)
    return False


def start_guard(stdin_fd: int, owner_dir: Optional[str], host_pid: Optional[int]) -> None:
    """A small process that cleans up after a host that died.

    The kernel SIGKILLs the worker when its host dies (bind_to_host), so the
    worker itself cannot remove the host's private directory then. The guard,
    forked before any thread exists, shares the worker's stdin, whose EOF
    means the host is gone: it SIGKILLs everything below the worker and the
    worker's group (itself included) and removes the directory. While the
    host lives, the host's group kill ends it with the worker.
    """
    global _guard_pid
    worker = os.getpid()
    pid = os.fork()
    if pid != 0:
        _guard_pid = pid
        return
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        # The host's pipes are the worker's: the guard neither writes to them nor keeps them open.
        for fd in (1, 2):
            os.dup2(devnull, fd)
        while os.read(stdin_fd, 65536):
            pass
        # The host also closes the stdin of a worker it has done with: then nothing is ours to remove.
        # A dying host closes its descriptors before it is a zombie: give it a moment.
        if host_pid is not None and _stays_alive(host_pid, 1.0):
            return
        if owner_dir:
            shutil.rmtree(owner_dir, ignore_errors=True)
        for below in descendants(worker):
            if below != os.getpid():
                _kill(below)
        _kill(worker)
        # Only a group the worker leads is its own to kill (the host starts it so).
        if os.getpgrp() == worker:
            os.killpg(0, signal.SIGKILL)
    finally:
        os._exit(EXIT_PARENT_GONE)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def adopt_orphans() -> None:
    """Orphans of our descendants (a double fork) become our children, not init's.

    Then every process a function started, however it detached itself, stays
    in our tree, where kill_descendants() finds it.
    """
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def _children_by_parent() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return tree
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ")".
        fields = stat[stat.rfind(b")") + 2:].split()
        tree.setdefault(int(fields[1]), []).append(int(name))
    return tree


def descendants(pid: int) -> list[int]:
    tree = _children_by_parent()
    found: list[int] = []
    todo = list(tree.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(tree.get(child, []))
    return found


def kill_descendants() -> int:
    """SIGKILLs every process below this one and reaps what it can; how many there were.

    Called when a job's functions are closed and when the worker stops: no
    process a function started outlives the job. Repeated until none is
    left, since a process may fork while its siblings are being killed.
    """
    killed = 0
    for _ in range(10):
        found = [pid for pid in descendants(os.getpid()) if pid != _guard_pid]
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        _reap()
    return killed


def _reap() -> None:
    """Collects the exit of killed children (and of adopted orphans) so that no zombie stays."""
    import time
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if not [p for p in descendants(os.getpid()) if p != _guard_pid]:
                return
            time.sleep(0.005)


def limit_memory(limit_mb: Optional[int]) -> None:
    """Caps the worker's writable private memory (RLIMIT_DATA) before any user code runs.

    Past the cap an allocation fails: Python raises MemoryError in the
    function that asked, where the host can name it, instead of the kernel's
    OOM killer SIGKILLing the worker (or another process) with no word why.
    RLIMIT_DATA counts heap, anonymous mappings and thread stacks; address
    space reserved but never written (RLIMIT_AS) does not starve it.
    """
    if not limit_mb:
        return
    import resource
    limit = limit_mb << 20
    in_use = _data_in_use()
    if in_use is not None and in_use >= limit:
        sys.stderr.write(
            f"workerMemoryLimitMb {limit_mb} is below what the worker uses before loading any function "
            f"({in_use >> 20} MiB): raise it\n")
        sys.stderr.flush()
        os._exit(EXIT_MEMORY_LIMIT_TOO_LOW)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _data_in_use() -> Optional[int]:
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def exit_promptly(code: int = 0) -> NoReturn:
    """Ends the worker as the interpreter would, without tearing its modules down.

    The teardown of what a worker holds (pyarrow, numpy, grpc, and pandas, which
    pyarrow imports on its first conversion of a list) takes 100-200 ms, and
    every close() of a TableEnvironment waits for it. What a function may rely
    on at exit still happens, in the interpreter's order: threads that are not
    daemons are joined, atexit handlers run (logging's flush, weakref.finalize),
    and files left open and unflushed are flushed, as their finalizers would.
    """
    shutdown_threads = getattr(threading, "_shutdown", None)
    if shutdown_threads is not None:
        shutdown_threads()
    atexit._run_exitfuncs()
    for obj in gc.get_objects():
        if isinstance(obj, _BUFFERED_FILES):
            try:
                if not obj.closed:
                    obj.flush()
            except Exception:  # a stream whose other end is gone (our captured stdout): nothing to keep
                pass
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass
    os._exit(code)


_BUFFERED_FILES = (io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom)
