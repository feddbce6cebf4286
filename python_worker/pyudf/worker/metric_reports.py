"""A function's metrics as the protocol's MetricReadings, read at the job's end."""
from __future__ import annotations

import numbers
from typing import Any

from pyudf._proto import worker_pb2
from pyudf.metrics import Counter, Distribution, Gauge, Meter, MetricRegistry
from pyudf.worker.failures import plain_error, udf_error


def read_gauges(function_name: str, registry: MetricRegistry) -> tuple[list[worker_pb2.MetricReading], list[worker_pb2.UdfError]]:
    """Calls every gauge: before close(), which may release what a gauge reads."""
    readings: list[worker_pb2.MetricReading] = []
    errors: list[worker_pb2.UdfError] = []
    for identifier, metric in registry.items():
        if not isinstance(metric, Gauge):
            continue
        try:
            value = metric.read()
        except Exception as exc:
            error = udf_error(function_name, "metrics", exc)
            error.message = f"gauge {identifier!r} raised: {error.message}"
            errors.append(error)
            continue
        reading = _gauge_reading(identifier, value)
        if reading is None:
            errors.append(plain_error(
                function_name, "metrics", "TypeError",
                f"gauge {identifier!r} returned {value!r} ({type(value).__name__}), not a number or a string",
            ))
        else:
            readings.append(reading)
    return readings, errors


def _gauge_reading(identifier: str, value: Any) -> Any:
    if isinstance(value, str):
        return worker_pb2.MetricReading(identifier=identifier, kind="gauge", text=value, is_text=True)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return worker_pb2.MetricReading(identifier=identifier, kind="gauge", number=float(value))
    return None


def read_metrics(registry: MetricRegistry) -> list[worker_pb2.MetricReading]:
    """Counters, meters and distributions: after close(), which may still update them."""
    readings = []
    for identifier, metric in registry.items():
        if isinstance(metric, Counter):
            readings.append(worker_pb2.MetricReading(identifier=identifier, kind="counter", count=metric.get_count()))
        elif isinstance(metric, Meter):
            readings.append(worker_pb2.MetricReading(
                identifier=identifier, kind="meter", count=metric.get_count(), rate=metric.get_rate(),
            ))
        elif isinstance(metric, Distribution):
            count = metric.get_count()
            readings.append(worker_pb2.MetricReading(
                identifier=identifier, kind="distribution", count=count, sum=metric.get_sum(),
                min=metric.get_min() if count else 0.0, max=metric.get_max() if count else 0.0,
            ))
    return readings
