"""``python -m pyudf.worker --address unix:/path/to/socket``"""
from __future__ import annotations

import argparse

from pyudf.worker.server import serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m pyudf.worker", description="pyudf worker process")
    parser.add_argument("--address", required=True, help="gRPC address to listen on, e.g. unix:/tmp/d/w.sock")
    parser.add_argument("--owner-dir", help="the host's private directory, removed if the host dies")
    parser.add_argument("--calls-file", help="where the worker records which call it is running")
    parser.add_argument("--host-pid", type=int, help="the host's pid: the worker ends with it")
    parser.add_argument("--load-phase-file", help="where the worker records which import or open() it is running")
    parser.add_argument("--memory-limit-mb", type=int, help="the most writable memory the worker may use (RLIMIT_DATA)")
    args = parser.parse_args()
    serve(args.address, args.owner_dir, args.calls_file, args.host_pid, args.load_phase_file, args.memory_limit_mb)


if __name__ == "__main__":
    main()
