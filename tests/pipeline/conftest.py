"""The zips the pipeline tests build once per session (scripts/package.py)."""

from __future__ import annotations

import platform
import sys
from pathlib import Path
from typing import Any

import package  # scripts/, on pytest's pythonpath
import pytest
from zip_builds import build


@pytest.fixture(scope="session")
def host_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("host")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    manifest = build(package.Target(python, platform.machine(), host=True), out)
    return out / manifest["zip"], manifest


@pytest.fixture(scope="session")
def lambda_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Any]:
    """The template's Runtime on both architectures, and python3.12/arm64.

    Bytecode needs a Python of the target's version (pyenv's, the tool cache's or on PATH).
    """
    python = package.template_defaults()[0]
    targets = {(python, "arm64"), (python, "x86_64"), ("3.12", "arm64")}
    built = {}
    for python, arch in sorted(targets):
        out = tmp_path_factory.mktemp(f"py{python}-{arch}")
        manifest = build(package.Target(python, arch), out)
        built[(python, arch)] = (out / manifest["zip"], manifest)
    return built
