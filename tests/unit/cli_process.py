"""A Python program in a fresh interpreter, as a shell runs the ``resizer`` command
(importable: pytest puts this folder on sys.path)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: What the ``resizer`` console script runs.
ENTRY_POINT = "from resizer_tools.cli import main; main()"


def run_python(
    program: str,
    *arguments: str,
    timeout: float = 60,
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -c program arguments...`` in ``cwd``; its exit code and output as text."""
    return subprocess.run(
        [sys.executable, "-c", program, *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        env=env,
    )
