"""Runs the driver; while the package has no sources and sinks modules, with the tests' stand-ins for them."""
import importlib.util
import sys

if importlib.util.find_spec("pyudf.cluster.sources") is None or importlib.util.find_spec("pyudf.cluster.sinks") is None:
    from tests.cluster import standins

    sys.modules["pyudf.cluster.sources"] = standins
    sys.modules["pyudf.cluster.sinks"] = standins

from pyudf.cluster.driver import main  # noqa: E402

main()
