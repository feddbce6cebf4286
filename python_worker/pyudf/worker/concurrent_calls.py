"""Running the rows of one batch concurrently: async functions on the worker's event loop,
plain functions with ``io_threads`` on a thread pool of their own.

Results keep the rows' order. A row that raises is reported with its index;
unless the function goes on past errors (an error policy other than fail),
the first failure stops the batch: calls not yet started never start, and
the failure with the lowest row index among those seen is the batch's.
"""
from __future__ import annotations

import asyncio
import inspect
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Coroutine, Optional, Sequence

from pyudf.worker.loading import LoadedFunction

Failure = tuple[int, BaseException]


class EventLoop:
    """The worker's one asyncio loop, started in a thread of its own when first needed.

    It lives as long as the worker: objects a function's open() made on it
    (client sessions, connection pools) stay usable in every batch.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Runs a coroutine to its end on the loop, from any other thread."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._started()).result()

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="pyudf-event-loop", daemon=True).start()
                self._loop = loop
            return self._loop


class ConcurrentCalls:
    """The worker's event loop and the thread pools of its "threads" functions."""

    def __init__(self) -> None:
        self._event_loop = EventLoop()
        self._pools: dict[str, ThreadPoolExecutor] = {}

    def run_lifecycle(self, method: Callable[..., Any], *args: Any) -> Any:
        """open() and close(): an ``async def`` one runs on the event loop, where the calls will."""
        if inspect.iscoroutinefunction(method):
            return self._event_loop.run(method(*args))
        return method(*args)

    def run(self, function: LoadedFunction, columns: Sequence[Sequence[Any]], num_rows: int) -> tuple[list[Any], list[Failure]]:
        if function.kind == "async":
            return self._event_loop.run(_run_coroutines(function, columns, num_rows))
        return _run_on_threads(self._pool(function), function, columns, num_rows)

    def release(self, function: LoadedFunction) -> None:
        """After the function's last batch: its threads stop."""
        pool = self._pools.pop(function.name, None)
        if pool is not None:
            pool.shutdown(wait=True)

    def _pool(self, function: LoadedFunction) -> ThreadPoolExecutor:
        pool = self._pools.get(function.name)
        if pool is None:
            pool = self._pools[function.name] = ThreadPoolExecutor(
                max_workers=function.concurrency, thread_name_prefix=f"pyudf-{function.name}",
            )
        return pool


async def _run_coroutines(function: LoadedFunction, columns: Sequence[Sequence[Any]], num_rows: int) -> tuple[list[Any], list[Failure]]:
    results: list[Any] = [None] * num_rows
    failures: list[Failure] = []
    rows = iter(range(num_rows))
    call = function.call
    fail_fast = not function.continue_on_error
    stopped = False
    runners: list[asyncio.Task] = []

    async def runner() -> None:
        # Each runner takes the next row when its last call finished: at most
        # `concurrency` calls are in flight, without a task per row.
        nonlocal stopped
        for row in rows:
            if stopped:
                return
            try:
                results[row] = await call(*(column[row] for column in columns))
            except asyncio.CancelledError as exc:
                if stopped:
                    raise
                failures.append((row, exc))  # raised by the function itself: its row's failure
            # BaseException: sys.exit() in a UDF is the row's failure; escaping a task it would stop the loop.
            except BaseException as exc:  # noqa: B036
                failures.append((row, exc))
                if fail_fast and not stopped:
                    stopped = True
                    current = asyncio.current_task()
                    for other in runners:
                        if other is not current:
                            other.cancel()
                    return

    runners.extend(asyncio.ensure_future(runner()) for _ in range(min(function.concurrency, num_rows)))
    await asyncio.gather(*runners, return_exceptions=True)
    failures.sort(key=lambda failure: failure[0])
    return results, failures[:1] if fail_fast else failures


def _run_on_threads(pool: ThreadPoolExecutor, function: LoadedFunction, columns: Sequence[Sequence[Any]], num_rows: int) -> tuple[list[Any], list[Failure]]:
    call = function.call
    futures: list[Future] = [pool.submit(call, *(column[row] for column in columns)) for row in range(num_rows)]
    results: list[Any] = [None] * num_rows
    failures: list[Failure] = []
    for row, future in enumerate(futures):
        exc = future.exception()
        if exc is None:
            results[row] = future.result()
            continue
        failures.append((row, exc))
        if not function.continue_on_error:
            for later in futures[row + 1:]:
                later.cancel()
            # Calls already running finish before the batch is answered: nothing of it runs on behind.
            for later in futures[row + 1:]:
                if not later.cancelled():
                    later.exception()
            break
    return results, failures
