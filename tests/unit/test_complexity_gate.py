"""The complexity gate (issue 23 item 5): ``make lint`` runs ruff with pyproject.toml's
configuration, which refuses a function over Powertools for AWS Lambda's cap of 15
(mccabe's cyclomatic complexity, ruff's C901) and lets one at 15 pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CAP = 15


def _function(complexity: int) -> str:
    """A function of exactly ``complexity`` (one path, plus one per ``if``)."""
    branches = "".join(f"    if x == {n}:\n        y += {n}\n" for n in range(complexity - 1))
    return f"def f(x: int) -> int:\n    y = 0\n{branches}    return y\n"


def _codes(path: Path) -> set[str]:
    """The rule codes ruff reports on ``path`` with the project's configuration."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--output-format",
            "concise",
            "--no-cache",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode in (0, 1), result.stderr
    return {line.split()[1] for line in result.stdout.splitlines() if line.startswith(str(path))}


@pytest.mark.parametrize(("complexity", "refused"), [(CAP, False), (CAP + 1, True)])
def test_lint_refuses_a_function_over_the_cap(
    tmp_path: Path, complexity: int, refused: bool
) -> None:
    source = tmp_path / "module.py"
    source.write_text(_function(complexity), encoding="utf-8")
    assert ("C901" in _codes(source)) is refused
