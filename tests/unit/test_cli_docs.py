"""docs/cli.md documents every command and option the `resizer` app has; the README's
local AWS CLI example has the credentials it needs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from resizer_tools.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
CLI_DOC = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
# Options every AWS command shares: documented once, under "Finding the stack".
SHARED = {"--stack-name", "--endpoint", "--region", "--help"}


def _commands(group: Any, prefix: str) -> list[tuple[str, Any]]:
    """(``resizer dlq list``, command) for every command (Typer vendors its own click)."""
    found: list[tuple[str, Any]] = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if hasattr(command, "commands"):
            found.extend(_commands(command, path))
        else:
            found.append((path, command))
    return found


COMMANDS = _commands(typer.main.get_command(app), "resizer")


def _row(path: str) -> str:
    rows = [line for line in CLI_DOC.splitlines() if line.startswith(f"| `{path}")]
    assert rows, f"docs/cli.md has no row for `{path}`"
    return rows[0]


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_and_option_is_documented(path: str, command: Any) -> None:
    row = _row(path)
    for parameter in command.params:
        names = [n for n in parameter.opts if n.startswith("--")]
        if not names:  # an argument
            continue
        if set(names) & SHARED:
            assert any(n in CLI_DOC for n in names)
            continue
        assert any(name in row for name in names) or any(
            f"--no-{name[2:]}" in row for name in names
        ), f"{path}: {names} not in its docs/cli.md row"


def test_the_shared_options_are_documented() -> None:
    for option in ("--stack-name", "--endpoint", "--region"):
        assert f"`{option}`" in CLI_DOC


def test_the_readme_local_example_sets_credentials() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Try it by hand\n\n```sh\n(.*?)```", readme, re.DOTALL)
    assert block is not None
    text = block.group(1)
    if "aws " in text or "AWS_ENDPOINT_URL" in text:
        assert "AWS_ACCESS_KEY_ID" in text
        assert "AWS_SECRET_ACCESS_KEY" in text
