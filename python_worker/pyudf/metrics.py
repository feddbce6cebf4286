"""Metrics a function registers in ``open()``, with PyFlink's ``pyflink.metrics`` API.

``function_context.get_metric_group()`` is the function's root group; its
metrics are read at the job's end and reach TypeScript in the job's result,
named by identifier: the groups and the name joined by "." (``add_group("io")``
then ``counter("calls")`` is ``io.calls``).

Calls of one function may run on several threads at once (``io_threads``), so
every update takes the metric's lock.
"""
from __future__ import annotations

import collections
import math
import numbers
import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Optional, Union

DELIMITER = "."


class MetricGroupType(Enum):
    generic = 0
    key = 1
    value = 2


class Metric:
    """Base of every metric object."""


class Counter(Metric):
    """A count that goes up (and down)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def inc(self, n: int = 1) -> None:
        _check_integer(n, "Counter.inc(n)")
        with self._lock:
            self._count += n

    def dec(self, n: int = 1) -> None:
        _check_integer(n, "Counter.dec(n)")
        with self._lock:
            self._count -= n

    def get_count(self) -> int:
        return self._count


class Meter(Metric):
    """Events and their rate: events per second over the last ``time_span_in_seconds``."""

    def __init__(self, time_span_in_seconds: int = 60, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._time_span = time_span_in_seconds
        self._clock = clock
        self._created = clock()
        self._count = 0
        # (whole second, events marked in it) for the seconds within the time span.
        self._recent: "collections.deque[list[int]]" = collections.deque()

    def mark_event(self, value: int = 1) -> None:
        _check_integer(value, "Meter.mark_event(value)")
        second = int(self._clock())
        with self._lock:
            self._count += value
            if self._recent and self._recent[-1][0] == second:
                self._recent[-1][1] += value
            else:
                self._recent.append([second, value])
                self._forget_before(second - self._time_span)

    def get_count(self) -> int:
        return self._count

    def get_rate(self) -> float:
        """Events per second over the time span, or since the meter was made when that is shorter.

        A job shorter than the time span would otherwise report a rate that
        counts seconds in which nothing could have happened.
        """
        now = self._clock()
        with self._lock:
            self._forget_before(int(now) - self._time_span)
            events = sum(count for _, count in self._recent)
        window = min(float(self._time_span), now - self._created)
        return events / window if window > 0 else 0.0

    def _forget_before(self, second: int) -> None:
        while self._recent and self._recent[0][0] <= second:
            self._recent.popleft()


class Distribution(Metric):
    """Statistics of the values recorded: count, sum, min and max."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._sum = 0.0
        self._min = math.inf
        self._max = -math.inf

    def update(self, value: Union[int, float]) -> None:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"Distribution.update(value) takes a number, got {value!r}")
        with self._lock:
            self._count += 1
            self._sum += value
            if value < self._min:
                self._min = value
            if value > self._max:
                self._max = value

    def get_count(self) -> int:
        return self._count

    def get_sum(self) -> float:
        return self._sum

    def get_min(self) -> Optional[float]:
        return self._min if self._count else None

    def get_max(self) -> Optional[float]:
        return self._max if self._count else None


@dataclass(frozen=True)
class Gauge(Metric):
    """A value read when the metrics are reported: the callable's result, a number or a string."""

    read: Callable[[], Any]


AnyMetric = Union[Counter, Meter, Distribution, Gauge]


class MetricRegistry:
    """Every metric of one function, by identifier."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._metrics: dict[str, AnyMetric] = {}

    def register(self, identifier: str, make: Callable[[], AnyMetric], kind: type) -> AnyMetric:
        with self._lock:
            found = self._metrics.get(identifier)
            if found is None:
                found = self._metrics[identifier] = make()
            elif not isinstance(found, kind):
                raise ValueError(
                    f"metric {identifier!r} is already registered as a {_kind_name(found)}, "
                    f"not a {kind.__name__.lower()}"
                )
            return found

    def replace(self, identifier: str, metric: AnyMetric) -> None:
        with self._lock:
            found = self._metrics.get(identifier)
            if found is not None and type(found) is not type(metric):
                raise ValueError(
                    f"metric {identifier!r} is already registered as a {_kind_name(found)}, "
                    f"not a {_kind_name(metric)}"
                )
            self._metrics[identifier] = metric

    def items(self) -> list[tuple[str, AnyMetric]]:
        with self._lock:
            return list(self._metrics.items())


def _kind_name(metric: AnyMetric) -> str:
    return type(metric).__name__.lower()


class MetricGroup:
    """A named container of metrics and further groups, as PyFlink's ``MetricGroup``."""

    def __init__(
        self,
        registry: Optional[MetricRegistry] = None,
        scope: tuple[str, ...] = (),
        variables: Optional[dict[str, str]] = None,
        name: Optional[str] = None,
        group_type: MetricGroupType = MetricGroupType.generic,
    ) -> None:
        self._registry = registry if registry is not None else MetricRegistry()
        self._scope = scope
        self._variables = dict(variables or {})
        self._name = name
        self._group_type = group_type
        self._lock = threading.Lock()
        self._sub_groups: dict[tuple[str, MetricGroupType], MetricGroup] = {}

    def add_group(self, name: str, extra: Optional[str] = None) -> "MetricGroup":
        """A sub-group; with ``extra``, a key group ``name`` holding a value group ``extra``.

        The value group is returned, and its variables map the key to the value.
        """
        if extra is None:
            return self._add_group(name, MetricGroupType.generic)
        return self._add_group(name, MetricGroupType.key)._add_group(extra, MetricGroupType.value)

    def _add_group(self, name: str, group_type: MetricGroupType) -> "MetricGroup":
        _check_name(name, "add_group")
        with self._lock:
            found = self._sub_groups.get((name, group_type))
            if found is None:
                variables = dict(self._variables)
                if group_type is MetricGroupType.value and self._name is not None:
                    variables[self._name] = name
                found = MetricGroup(self._registry, (*self._scope, name), variables, name, group_type)
                self._sub_groups[(name, group_type)] = found
            return found

    def counter(self, name: str) -> Counter:
        return self._registry.register(self._identifier(name), Counter, Counter)  # type: ignore[return-value]

    def gauge(self, name: str, obj: Callable[[], Any]) -> None:
        if not callable(obj):
            raise TypeError(f"gauge({name!r}, obj): obj must be a callable returning the value, got {obj!r}")
        self._registry.replace(self._identifier(name), Gauge(obj))

    def meter(self, name: str, time_span_in_seconds: int = 60) -> Meter:
        if isinstance(time_span_in_seconds, bool) or not isinstance(time_span_in_seconds, int) \
                or time_span_in_seconds < 1:
            raise ValueError(f"meter({name!r}): time_span_in_seconds must be a positive integer, "
                             f"got {time_span_in_seconds!r}")
        return self._registry.register(  # type: ignore[return-value]
            self._identifier(name), lambda: Meter(time_span_in_seconds), Meter,
        )

    def distribution(self, name: str) -> Distribution:
        return self._registry.register(self._identifier(name), Distribution, Distribution)  # type: ignore[return-value]

    def get_scope_components(self) -> list[str]:
        return list(self._scope)

    def get_all_variables(self) -> dict[str, str]:
        return dict(self._variables)

    def get_metric_identifier(self, metric_name: str) -> str:
        return DELIMITER.join((*self._scope, metric_name))

    def _identifier(self, name: str) -> str:
        _check_name(name, "a metric name")
        return self.get_metric_identifier(name)


def _check_name(name: Any, what: str) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"{what} must be a non-empty string, got {name!r}")


def _check_integer(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} takes an integer, got {value!r}")


__all__ = [
    "Counter",
    "Distribution",
    "Meter",
    "Metric",
    "MetricGroup",
    "MetricRegistry",
]
