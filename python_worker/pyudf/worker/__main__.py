"""``python -m pyudf.worker --address unix:/path/to/socket``"""
from __future__ import annotations

import argparse

from pyudf.worker.server import serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m pyudf.worker", description="pyudf worker process")
    parser.add_argument("--address", required=True, help="gRPC address to listen on, e.g. unix:/tmp/d/w.sock")
    parser.add_argument("--owner-dir", help="the host's private directory, removed if the host dies")
    parser.add_argument("--calls-file", help="where the worker records which call it is running")
    args = parser.parse_args()
    serve(args.address, args.owner_dir, args.calls_file)


if __name__ == "__main__":
    main()
