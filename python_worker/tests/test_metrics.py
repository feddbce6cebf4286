"""pyudf.metrics (PyFlink's metric API) and the readings a worker reports at a job's end."""
from __future__ import annotations

import threading
import unittest

from pyudf import FunctionContext
from pyudf.metrics import Counter, Meter, MetricGroup
from pyudf._proto import worker_pb2
from pyudf.worker.logs import LogHub
from pyudf.worker.runtime import FunctionRuntime
from tests.support import arguments, temp_modules

METRICS_MODULE = """\
from pyudf import udf, ScalarFunction, DataTypes


class Measured(ScalarFunction):
    def open(self, function_context):
        group = function_context.get_metric_group()
        self.rows = group.counter("rows")
        self.sizes = group.add_group("sizes").distribution("value")
        self.marks = group.add_group("region", "eu").meter("marks")
        self.state = {"cached": 0}
        group.gauge("cached", lambda: self.state["cached"])
        group.gauge("mode", lambda: "warm")

    def eval(self, x):
        self.rows.inc()
        self.sizes.update(x)
        self.marks.mark_event(2)
        self.state["cached"] = x
        return x

    def close(self):
        self.rows.inc(100)
        self.state = None  # a gauge read after this would fail: gauges are read before close()


measured = udf(Measured(), [DataTypes.BIGINT()], DataTypes.BIGINT())


class BadGauges(ScalarFunction):
    def open(self, function_context):
        group = function_context.get_metric_group()
        group.gauge("raises", lambda: 1 / 0)
        group.gauge("nothing", lambda: None)
        group.counter("fine").inc(3)

    def eval(self, x):
        return x


bad_gauges = udf(BadGauges(), [DataTypes.BIGINT()], DataTypes.BIGINT())
"""


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class MetricGroupTest(unittest.TestCase):
    def test_identifiers_and_variables_as_pyflink(self):
        root = MetricGroup()
        self.assertEqual(root.get_metric_identifier("calls"), "calls")
        group = root.add_group("my_group")
        self.assertEqual(group.get_scope_components(), ["my_group"])
        self.assertEqual(group.get_metric_identifier("my_metric"), "my_group.my_metric")
        self.assertEqual(group.get_all_variables(), {})
        value = root.add_group("my_key", "my_value")
        self.assertEqual(value.get_scope_components(), ["my_key", "my_value"])
        self.assertEqual(value.get_all_variables(), {"my_key": "my_value"})
        self.assertEqual(value.add_group("inner").get_all_variables(), {"my_key": "my_value"})
        self.assertEqual(value.get_metric_identifier("m"), "my_key.my_value.m")
        # The same group, not a new one, for the same name.
        self.assertIs(root.add_group("my_group"), group)

    def test_registering_a_name_twice_gives_the_same_metric(self):
        root = MetricGroup()
        self.assertIs(root.counter("c"), root.counter("c"))
        self.assertIs(root.add_group("g").meter("m"), root.add_group("g").meter("m"))
        with self.assertRaises(ValueError) as caught:
            root.distribution("c")
        self.assertEqual(str(caught.exception), "metric 'c' is already registered as a counter, not a distribution")

    def test_counter(self):
        counter = Counter()
        counter.inc()
        counter.inc(5)
        counter.dec()
        counter.dec(2)
        self.assertEqual(counter.get_count(), 3)
        with self.assertRaises(TypeError):
            counter.inc(1.5)

    def test_counter_updates_from_many_threads_are_not_lost(self):
        counter = Counter()
        threads = [threading.Thread(target=lambda: [counter.inc() for _ in range(20_000)]) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(counter.get_count(), 80_000)

    def test_meter_rate_over_its_time_span(self):
        clock = FakeClock()
        meter = Meter(time_span_in_seconds=10, clock=clock)
        meter.mark_event()
        meter.mark_event(3)
        clock.now += 2
        # Younger than its time span: events per second since it was made.
        self.assertEqual((meter.get_count(), meter.get_rate()), (4, 2.0))
        clock.now += 4
        meter.mark_event(6)
        clock.now += 6  # 12 s in: the first events are older than 10 s
        self.assertEqual((meter.get_count(), meter.get_rate()), (10, 0.6))
        clock.now += 100
        self.assertEqual((meter.get_count(), meter.get_rate()), (10, 0.0))

    def test_distribution(self):
        distribution = MetricGroup().distribution("d")
        self.assertEqual((distribution.get_count(), distribution.get_min(), distribution.get_max()), (0, None, None))
        for value in (5, -2, 7.5):
            distribution.update(value)
        self.assertEqual((distribution.get_count(), distribution.get_sum(), distribution.get_min(),
                          distribution.get_max()), (3, 10.5, -2, 7.5))
        with self.assertRaises(TypeError):
            distribution.update("3")

    def test_a_hand_made_context_has_a_working_group(self):
        context = FunctionContext({"k": "v"})
        context.get_metric_group().counter("c").inc()
        self.assertEqual(context.get_metric_group().counter("c").get_count(), 1)
        self.assertEqual(context.get_job_parameter("k"), "v")


class MetricReportTest(unittest.TestCase):
    def setUp(self):
        self.mod, self.path = temp_modules(self).write(METRICS_MODULE)
        self.runtime = FunctionRuntime(LogHub())

    def load(self, name):
        spec = worker_pb2.FunctionSpec(name=name, callable=f"{self.mod}.{name}")
        reply = self.runtime.load(worker_pb2.LoadFunctionsRequest(functions=[spec]))
        self.assertFalse(reply.HasField("error"), reply.error)

    def call(self, name, values):
        reply = self.runtime.call(worker_pb2.CallRequest(call_id=1, function_name=name, arguments=arguments(values)))
        self.assertFalse(reply.HasField("error"), reply.error)

    def test_every_kind_is_read_at_the_end(self):
        self.load("measured")
        self.call("measured", [4, 10])
        self.call("measured", [1])
        errors, metrics = self.runtime.close_all()
        self.assertEqual(errors, [])
        self.assertEqual([m.function_name for m in metrics], ["measured"])
        readings = {r.identifier: r for r in metrics[0].readings}
        self.assertEqual(sorted(readings), ["cached", "mode", "region.eu.marks", "rows", "sizes.value"])
        self.assertEqual((readings["rows"].kind, readings["rows"].count), ("counter", 103))  # close() counted too
        self.assertEqual((readings["cached"].kind, readings["cached"].number), ("gauge", 1.0))
        self.assertEqual((readings["mode"].text, readings["mode"].is_text), ("warm", True))
        marks = readings["region.eu.marks"]
        self.assertEqual((marks.kind, marks.count), ("meter", 6))
        self.assertGreater(marks.rate, 0)
        sizes = readings["sizes.value"]
        self.assertEqual((sizes.kind, sizes.count, sizes.sum, sizes.min, sizes.max),
                         ("distribution", 3, 15.0, 1.0, 10.0))

    def test_a_gauge_that_fails_is_reported_and_the_rest_still_are(self):
        self.load("bad_gauges")
        errors, metrics = self.runtime.close_all()
        self.assertEqual(sorted((e.phase, e.exception_type) for e in errors),
                         [("metrics", "TypeError"), ("metrics", "ZeroDivisionError")])
        self.assertIn("gauge 'raises' raised: division by zero", [e.message for e in errors])
        self.assertIn("gauge 'nothing' returned None (NoneType), not a number or a string", [e.message for e in errors])
        self.assertEqual([(r.identifier, r.count) for r in metrics[0].readings], [("fine", 3)])

    def test_each_job_starts_from_zero(self):
        self.load("measured")
        self.call("measured", [1])
        self.runtime.close_all()
        self.load("measured")
        _, metrics = self.runtime.close_all()
        readings = {r.identifier: r for r in metrics[0].readings}
        self.assertEqual(readings["rows"].count, 100)
        self.assertEqual(readings["sizes.value"].count, 0)
