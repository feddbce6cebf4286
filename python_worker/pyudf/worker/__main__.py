"""``python -m pyudf.worker --address unix:/path/to/socket``"""
from __future__ import annotations

import argparse

from pyudf.worker.server import serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m pyudf.worker", description="pyudf worker process")
    parser.add_argument("--address", required=True, help="gRPC address to listen on, e.g. unix:/tmp/d/w.sock")
    serve(parser.parse_args().address)


if __name__ == "__main__":
    main()
