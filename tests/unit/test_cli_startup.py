"""The ``resizer`` command starts light (issue 21): ``resize`` and every ``--help``
import neither the AWS SDK nor the emulator, and ``resize`` neither the local stack
nor (off a terminal) Rich's tables and progress bars.

Checked on the modules a fresh interpreter holds after the command, not by timing
(speed is measured by benchmarks: docs/performance.md has the figures).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_process import run_python
from PIL import Image

#: Runs the console-script entry point, then prints which heavy modules it imported.
_PROBE = """
import json, sys
sys.argv = ["resizer", *sys.argv[1:]]
from resizer_tools.cli import main
try:
    main()
except SystemExit:
    pass
heavy = ("boto3", "botocore", "moto", "rich.table", "rich.progress",
         "resizer_tools.local.stack", "resizer_tools.ops.aws", "resizer.imaging")
sys.__stderr__.write("\\nMODULES " + json.dumps([m for m in heavy if m in sys.modules]) + "\\n")
"""


def _imported(*arguments: str) -> list[str]:
    done = run_python(_PROBE, *arguments, timeout=120)
    line = [row for row in done.stderr.splitlines() if row.startswith("MODULES ")]
    assert line, done.stderr
    return list(json.loads(line[-1].removeprefix("MODULES ")))


@pytest.mark.parametrize(
    "arguments",
    [["--help"], ["resize", "--help"], ["dlq", "list", "--help"], ["local", "up", "--help"]],
)
def test_help_imports_neither_the_aws_sdk_nor_the_emulator(arguments: list[str]) -> None:
    imported = _imported(*arguments)
    for module in ("boto3", "botocore", "moto", "resizer_tools.local.stack", "resizer.imaging"):
        assert module not in imported, (arguments, imported)


def test_resize_runs_without_the_aws_sdk_the_local_stack_or_rich_tables(tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (64, 48), (10, 20, 30)).save(photo, "JPEG")
    out = tmp_path / "out"
    imported = _imported("resize", str(photo), "--out", str(out), "--json")
    assert (out / "manifests" / "photo.jpg.json").is_file()  # it did resize
    assert "resizer.imaging" in imported  # the probe sees what the command loaded
    for module in ("boto3", "botocore", "moto", "resizer_tools.local.stack", "rich.table"):
        assert module not in imported, imported
