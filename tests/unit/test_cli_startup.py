"""The ``resizer`` command starts light (issue 21): ``resize`` and every ``--help``
import neither the AWS SDK nor the emulator nor the engine (Pillow, numpy), ``resize``
neither the local stack, the function's pipeline nor (off a terminal) Rich's tables,
progress bars and Markdown, and a ``resize`` that fails its checks not the engine
either. No start imports pydantic (Typer's parameter coercion:
resizer_tools.cli.coercion) nor, for help, Rich's Markdown and traceback modules
(resizer_tools.cli.richhelp), and the help is the same as Typer's own.

Checked on the modules a fresh interpreter holds after the command, not by timing
(speed is measured by benchmarks: docs/performance.md has the figures).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
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
heavy = ("boto3", "botocore", "moto", "aws_lambda_powertools", "jsonschema", "rich.table",
         "rich.progress", "rich.markdown", "resizer_tools.local", "resizer_tools.local.stack",
         "resizer_tools.ops.aws", "resizer.pipeline", "resizer.handler", "resizer.storage",
         "resizer.imaging", "PIL", "numpy", "simplejpeg", "pydantic", "typer._adapters",
         "rich.traceback", "markdown_it", "pygments")
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
    for module in (
        "boto3",
        "botocore",
        "moto",
        "aws_lambda_powertools",
        "resizer_tools.local.stack",
        "resizer_tools.ops.aws",
        "resizer.pipeline",
        "resizer.imaging",
        "PIL",
        "numpy",
    ):
        assert module not in imported, (arguments, imported)


_HELPS = [["--help"], ["resize", "--help"], ["dlq", "list", "--help"], ["local", "up", "--help"]]


@pytest.mark.parametrize("arguments", _HELPS)
def test_help_imports_neither_pydantic_nor_richs_markdown_or_traceback(
    arguments: list[str],
) -> None:
    # Typer 0.29 builds a pydantic adapter per parameter it coerces (``resize --help``
    # coerces the required FILES before --help runs); typer.rich_utils imports
    # rich.markdown and rich.traceback, which our help never uses.
    imported = _imported(*arguments)
    for module in ("pydantic", "typer._adapters", "rich.markdown", "rich.traceback"):
        assert module not in imported, (arguments, imported)
    assert "markdown_it" not in imported
    assert "pygments" not in imported


#: As _PROBE, but Typer's Rich help loaded first, the ordinary way.
_TYPERS_OWN = "import typer.rich_utils\n" + _PROBE


@pytest.mark.parametrize(
    "arguments",
    [*_HELPS, ["dlq", "--help"], ["resize"], ["resize", "--bogus"], ["tune", "--workers", "x"]],
)
def test_the_help_and_usage_errors_are_typers_own(arguments: list[str]) -> None:
    ours = run_python(_PROBE, *arguments, timeout=120)
    typers = run_python(_TYPERS_OWN, *arguments, timeout=120)
    assert "rich.markdown" in typers.stderr  # the reference did load them
    assert (ours.stdout, ours.stderr.split("\nMODULES ")[0]) == (
        typers.stdout,
        typers.stderr.split("\nMODULES ")[0],
    )
    assert ours.stdout or ours.stderr.split("\nMODULES ")[0]  # something was printed


def test_a_resize_that_fails_its_checks_imports_no_engine(tmp_path: Path) -> None:
    imported = _imported("resize", str(tmp_path / "missing.jpg"), "--out", str(tmp_path / "out"))
    for module in ("resizer.imaging", "PIL", "numpy", "simplejpeg", "boto3", "pydantic"):
        assert module not in imported, imported
    assert not (tmp_path / "out").exists()


def test_resize_runs_without_the_aws_sdk_the_local_stack_or_rich_tables(tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (64, 48), (10, 20, 30)).save(photo, "JPEG")
    out = tmp_path / "out"
    imported = _imported("resize", str(photo), "--out", str(out), "--json")
    assert (out / "manifests" / "photo.jpg.json").is_file()  # it did resize
    assert "resizer.imaging" in imported  # the probe sees what the command loaded
    for module in (
        "boto3",
        "botocore",
        "moto",
        "aws_lambda_powertools",
        "jsonschema",
        "resizer_tools.local",
        "resizer_tools.ops.aws",
        "resizer.pipeline",
        "resizer.handler",
        "resizer.storage",
        "rich.table",
        "rich.progress",
        "rich.markdown",
        "pydantic",
    ):
        assert module not in imported, imported


def test_every_commands_annotations_are_evaluated_once_at_import() -> None:
    # Typer evaluates string annotations (PEP 563) on each read of a signature.
    from resizer_tools.cli.app import app

    def callbacks(group: typer.Typer) -> list[Callable[..., object]]:
        found = [c.callback for c in group.registered_commands if c.callback is not None]
        for child in group.registered_groups:
            if child.typer_instance is not None:
                found += callbacks(child.typer_instance)
        return found

    every = callbacks(app)
    assert len(every) >= 15
    for callback in every:
        strings = [k for k, v in callback.__annotations__.items() if isinstance(v, str)]
        assert not strings, (callback.__name__, strings)
