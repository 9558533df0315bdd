"""Every command meets a bad argument with one classified line and its exit code
(issue 23 item 2).

The walk enumerates the commands registered on the Typer app (groups included), so a
new command without a case here fails :func:`test_every_command_has_a_bad_argument_case`.
Each runs through the console-script entry point (:func:`resizer_tools.cli.main`, its
"a bug in resizer" net included), never reaching AWS: the bad argument is refused
first. Exit codes are defined once, in :mod:`resizer_tools.errors`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from cli_process import ENTRY_POINT, run_python

import resizer_tools.cli.common
from resizer.errors import ConfigurationError, PermanentError, TransientError
from resizer_tools import cli
from resizer_tools.cli.app import app
from resizer_tools.errors import (
    EXIT_FAILED,
    EXIT_USAGE,
    MeasurementError,
    MissingExtrasError,
    OperationFailedError,
    UsageError,
    exit_code,
)

ROOT = Path(__file__).resolve().parents[2]
MISSING = "/nonexistent-resizer-path"
#: An endpoint without a scheme: refused before any client is made (exit 2).
BAD_ENDPOINT = ("--endpoint", "127.0.0.1:4566")

#: Each command's path -> (arguments after it, the exit code).
CASES: dict[str, tuple[tuple[str, ...], int]] = {
    "resize": ((MISSING, "--out", MISSING + "-out"), EXIT_USAGE),
    "upload": ((MISSING, *BAD_ENDPOINT), EXIT_USAGE),
    "status": (BAD_ENDPOINT, EXIT_USAGE),
    "backfill": (BAD_ENDPOINT, EXIT_USAGE),
    "logs": (BAD_ENDPOINT, EXIT_USAGE),
    "invoke": (("--event", MISSING + ".json", *BAD_ENDPOINT), EXIT_USAGE),
    "events": (BAD_ENDPOINT, EXIT_USAGE),
    "dlq list": (BAD_ENDPOINT, EXIT_USAGE),
    "dlq show": (("some-id", *BAD_ENDPOINT), EXIT_USAGE),
    "dlq delete": (("some-id", *BAD_ENDPOINT), EXIT_USAGE),
    "dlq purge": (("--yes", *BAD_ENDPOINT), EXIT_USAGE),
    "dlq redrive": (BAD_ENDPOINT, EXIT_USAGE),
    "local up": (("--template", MISSING + ".yaml"), EXIT_USAGE),
    "local worker": (BAD_ENDPOINT, EXIT_USAGE),
    "local set": (("RENDITIONS=small=100x100", *BAD_ENDPOINT), EXIT_USAGE),
    "demo": (("--photos", MISSING + ".jpg"), EXIT_USAGE),
    "tune": ((MISSING,), EXIT_USAGE),
    "tune --prices": ((str(ROOT / "examples" / "photos"), "--prices", MISSING), EXIT_USAGE),
    # Run from a folder without infra/template.yaml (the test changes to one).
    "preflight": ((), EXIT_USAGE),
}


def _commands(group: Any, prefix: str = "") -> Iterator[str]:
    """Every leaf command's path (Typer's groups are its own Click, not ``click``'s)."""
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        if getattr(command, "commands", None) is not None:
            yield from _commands(command, f"{path} ")
        else:
            yield path


COMMANDS = list(_commands(typer.main.get_group(app)))


def test_every_command_has_a_bad_argument_case() -> None:
    assert len(COMMANDS) >= 17
    missing = [command for command in COMMANDS if command not in CASES]
    assert not missing, f"add a bad-argument case to CASES for: {missing}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_argument_is_one_classified_line_and_its_exit_code(
    case: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments, expected = CASES[case]
    command = case.split(" --", maxsplit=1)[0]
    assert command in COMMANDS
    monkeypatch.chdir(tmp_path)  # nothing found or written by accident in the repository
    for name in ("AWS_ENDPOINT_URL", "RESIZER_DEBUG", "RENDITIONS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["resizer", *command.split(), *arguments])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    captured = capsys.readouterr()
    output = (captured.out + captured.err).strip()
    assert exited.value.code == expected, output
    assert "Traceback" not in output
    assert "bug in resizer" not in output
    assert output.startswith("error: "), output
    assert len(output.splitlines()) == 1, output


def test_tune_on_a_missing_folder_from_a_shell() -> None:
    """The issue's own example, as a user runs it: the console script in a process."""
    done = run_python(ENTRY_POINT, "tune", MISSING)
    assert done.returncode == EXIT_USAGE
    assert done.stdout == ""
    assert done.stderr.startswith(f"error: {MISSING} does not exist")
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError("u"), EXIT_USAGE),
        (ConfigurationError("c"), EXIT_USAGE),
        (MissingExtrasError("typer"), EXIT_USAGE),
        (OperationFailedError("o"), EXIT_FAILED),
        (MeasurementError("m"), EXIT_FAILED),
        (PermanentError("p"), EXIT_FAILED),
        (TransientError("t"), EXIT_FAILED),
    ],
)
def test_each_error_class_has_its_exit_code(error: Exception, code: int) -> None:
    assert exit_code(error) == code  # type: ignore[arg-type]


def test_the_exit_codes_are_defined_once() -> None:
    for module in (cli, resizer_tools.cli.common):
        source = Path(str(module.__file__)).read_text(encoding="utf-8")
        assert "EXIT_FAILED =" not in source
        assert "EXIT_USAGE =" not in source


def test_an_unwritable_output_folder_is_one_line_not_a_bug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = tmp_path / "photo.jpg"
    from PIL import Image

    Image.new("RGB", (32, 24)).save(photo, "JPEG")
    blocker = tmp_path / "file"
    blocker.write_text("a file where the output folder should go")
    monkeypatch.setattr(sys, "argv", ["resizer", "resize", str(photo), "--out", str(blocker)])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    output = capsys.readouterr().err.strip()
    assert exited.value.code == EXIT_FAILED, output
    assert output.startswith("error: "), output
    assert "bug in resizer" not in output
    assert len(output.splitlines()) == 1
