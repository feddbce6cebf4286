"""One isolated call in a child process: ``python -m pyudf.cluster.probe`` < pickled (load request, call request).

The reply goes to stdout; a row that kills the process kills only this child.
"""
from __future__ import annotations

import pickle
import sys

from pyudf._proto import worker_pb2
from pyudf.worker.logs import LogHub
from pyudf.worker.runtime import FunctionRuntime


def main() -> int:
    load_bytes, call_bytes = pickle.loads(sys.stdin.buffer.read())
    out = sys.stdout.buffer
    # The functions' prints must not mix with the reply.
    sys.stdout = sys.stderr
    runtime = FunctionRuntime(LogHub())
    loaded = runtime.load(worker_pb2.LoadFunctionsRequest.FromString(load_bytes))
    if loaded.HasField("error"):
        reply = worker_pb2.CallReply(error=loaded.error)
    else:
        reply = runtime.call(worker_pb2.CallRequest.FromString(call_bytes))
    out.write(reply.SerializeToString())
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
