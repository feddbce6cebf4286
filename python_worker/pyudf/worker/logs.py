"""Everything a UDF prints or logs, queued for the host and tagged with the running function."""
from __future__ import annotations

import io
import logging
import queue
import sys
import threading
import time
from typing import Iterator, Optional

from pyudf._proto import worker_pb2

_END = None
# The longest line a print() delivers whole; the rest of it is counted, so the
# worker holds a bounded amount and the host never gets an oversized record.
MAX_LINE_CHARS = 64 * 1024


class LogHub:
    """Collects records from print() and logging; StreamLogs drains it."""

    def __init__(self) -> None:
        self._records: "queue.Queue[Optional[worker_pb2.LogRecord]]" = queue.Queue()
        # The function whose code runs now; the worker calls one function at a time.
        self.current_function = ""

    def emit(self, level: str, message: str, logger: str = "") -> None:
        self._records.put(worker_pb2.LogRecord(
            level=level,
            function_name=self.current_function,
            logger=logger,
            message=message,
            time_unix=time.time(),
        ))

    def close(self) -> None:
        self._records.put(_END)

    def end_stream(self) -> None:
        """Ends the StreamLogs call now open after what was logged so far: a job's end.

        Its host then knows it has every line of the job; a later StreamLogs
        call (the next job's) goes on with whatever is logged after this.
        """
        self._records.put(_END)

    def drain(self) -> Iterator[worker_pb2.LogRecord]:
        while True:
            record = self._records.get()
            if record is _END:
                return
            yield record


class _LineWriter(io.TextIOBase):
    """A text stream that turns each complete line into a log record, capped at MAX_LINE_CHARS."""

    def __init__(self, hub: LogHub, level: str) -> None:
        self._hub = hub
        self._level = level
        self._pending: list[str] = []
        self._held = 0
        self._dropped = 0
        # Rows of an io_threads function print from several threads at once.
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            start = 0
            while True:
                end = text.find("\n", start)
                self._hold(text[start:] if end == -1 else text[start:end])
                if end == -1:
                    break
                self._emit()
                start = end + 1
        return len(text)

    def _hold(self, part: str) -> None:
        room = MAX_LINE_CHARS - self._held
        if len(part) > room:
            self._dropped += len(part) - room
            part = part[:room]
        if part:
            self._pending.append(part)
            self._held += len(part)

    def _emit(self) -> None:
        line = "".join(self._pending)
        if self._dropped:
            line += f" [line truncated: {self._dropped} more characters not shown]"
        self._pending = []
        self._held = 0
        self._dropped = 0
        self._hub.emit(self._level, line)

    def flush(self) -> None:
        with self._lock:
            if self._pending or self._dropped:
                self._emit()


class _HubHandler(logging.Handler):
    def __init__(self, hub: LogHub) -> None:
        super().__init__(logging.DEBUG)
        self._hub = hub

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._hub.emit(record.levelname.lower(), self.format(record), record.name)
        except Exception:  # a broken record must not break the UDF that logged it
            self.handleError(record)


def capture_output(hub: LogHub) -> None:
    """Routes sys.stdout, sys.stderr and the root logger into the hub.

    The worker's real stdout carries only the ready line, written before this.
    """
    sys.stdout = _LineWriter(hub, "stdout")
    sys.stderr = _LineWriter(hub, "stderr")
    root = logging.getLogger()
    root.addHandler(_HubHandler(hub))
    if root.level == logging.WARNING:
        root.setLevel(logging.INFO)


def flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
