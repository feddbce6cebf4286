"""The Ray runtime_env that installs a job's Python requirements on every node from the job bundle alone.

Ray (2.58) creates a job's `pip` environment on each node after unpacking its `working_dir`, with
RAY_RUNTIME_ENV_CREATE_WORKING_DIR set to where the working_dir landed. It writes the `packages` lines into a
requirements file and runs `python -m pip install -r <that file> <pip_install_options>`: pip expands
`${VAR}` in requirements files (not in command-line options, which Ray passes without a shell), and accepts
`--no-index` and `--find-links` there. So the bundle's `wheels/` directory, named through that variable, is
pip's only source; `--isolated` keeps the node's pip.conf and PIP_* variables (an index, other find-links) out;
a requirement missing from `wheels/` fails at once with pip's "No matching distribution found".
"""

import os
from typing import Dict, List

#: Where the requirements' cached dir sits inside a job bundle.
WHEELS_DIR = "wheels"


def requirement_lines(requirements_file: str) -> List[str]:
    """The requirements of a requirements file: its lines without comments and blank lines."""
    lines = []
    with open(requirements_file, encoding="utf-8") as f:
        for line in f:
            text = line.split(" #", 1)[0].strip()
            if text and not text.startswith("#"):
                lines.append(text)
    return lines


def runtime_env_for(bundle_dir: str, requirements_file: str) -> Dict[str, object]:
    """The runtime_env of a job whose bundle (its working_dir) holds `wheels/` for `requirements_file`."""
    bundle_dir = os.path.abspath(bundle_dir)
    if not os.path.isabs(requirements_file):
        requirements_file = os.path.join(bundle_dir, requirements_file)
    return {
        "working_dir": bundle_dir,
        "pip": {
            "packages": [
                "--no-index",
                "--find-links ${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/" + WHEELS_DIR,
                *requirement_lines(requirements_file),
            ],
            "pip_check": False,
            "pip_install_options": ["--disable-pip-version-check", "--no-cache-dir", "--isolated"],
        },
    }
