"""The package's PEP 517 build backend: builds the pure-Python wheel with the standard library alone.

In-tree so that ``pip install --no-index python_worker`` works on a machine with
nothing but Python and pip: a fresh venv has no ``wheel`` package, which
setuptools needs to build one, and no index to fetch a backend from.
"""
from __future__ import annotations

import base64
import hashlib
import os
import zipfile
from typing import Any, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "pyudf"
# What a source file may be; tests and caches never go into the wheel.
_SHIPPED = (".py", ".pyi", "py.typed")


def _project() -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11: pip, which runs this backend, carries tomli
        from pip._vendor import tomli as tomllib  # type: ignore[no-redef]
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as file:
        return dict(tomllib.load(file)["project"])


def _metadata(project: dict[str, Any]) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project.get('description', '')}",
        f"Requires-Python: {project.get('requires-python', '')}",
        f"License: {project.get('license', {}).get('text', '')}",
    ]
    for extra, requirements in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines.extend(f'Requires-Dist: {r}; extra == "{extra}"' for r in requirements)
    return "\n".join(lines) + "\n"


def _sources() -> list[str]:
    found = []
    for folder, dirs, files in os.walk(os.path.join(ROOT, PACKAGE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found.extend(os.path.join(folder, f) for f in sorted(files) if f.endswith(_SHIPPED))
    return found


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def get_requires_for_build_wheel(config_settings: Optional[dict[str, Any]] = None) -> list[str]:
    return []


def build_wheel(
    wheel_directory: str,
    config_settings: Optional[dict[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    project = _project()
    name, version = project["name"], project["version"]
    dist_info = f"{name}-{version}.dist-info"
    filename = f"{name}-{version}-py3-none-any.whl"
    files: list[tuple[str, bytes]] = []
    for path in _sources():
        with open(path, "rb") as file:
            files.append((os.path.relpath(path, ROOT).replace(os.sep, "/"), file.read()))
    files.append((f"{dist_info}/METADATA", _metadata(project).encode()))
    files.append((f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: pyudf\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
    files.append((f"{dist_info}/top_level.txt", f"{PACKAGE}\n".encode()))
    record = [_record_line(n, d) for n, d in files] + [f"{dist_info}/RECORD,,"]
    files.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as wheel:
        for name_in_wheel, data in files:
            wheel.writestr(zipfile.ZipInfo(name_in_wheel, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return filename
