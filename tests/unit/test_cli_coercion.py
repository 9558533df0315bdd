"""resizer_tools.cli.coercion: every parameter of every command gets, from the fast
coercion, exactly what Typer's own (pydantic) coercion gives, values and errors alike;
values it does not know go to Typer's; and a parse of known values builds no adapter."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param
from typer.core import _TyperParameter

from resizer_tools.cli.app import app
from resizer_tools.cli.coercion import FastParam


def _parameters() -> Iterator[tuple[str, Any, Any]]:
    """(command path, its click command, one parameter) for every parameter."""

    def walk(command: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
        for name, child in getattr(command, "commands", {}).items():
            yield from walk(child, f"{path} {name}")
        for parameter in command.params:
            if isinstance(parameter, _TyperParameter):
                yield path, command, parameter

    yield from walk(typer.main.get_command(app), "resizer")


def _samples(parameter: Any, tmp_path: Path) -> list[Any]:
    """Values a command line, an environment variable or a default can give."""
    existing = tmp_path / "there.jpg"
    existing.write_bytes(b"x")
    scalars: list[Any] = [
        "text",
        "",
        "5",
        "x",
        str(existing),
        str(tmp_path),
        str(tmp_path / "missing.jpg"),
        "-",
        "ünïcode [/].jpg",
        0,
        1,
        64,
        65,
        10_000,
        10_001,
        -1,
        True,
        False,
        2.5,
        b"bytes",
        existing,
    ]
    if parameter.multiple or parameter.nargs == -1:
        return [None, (), *[(value,) for value in scalars], tuple(scalars[:7]), "not a list"]
    return [None, *scalars]


def _outcome(coercion: Any, value: Any, parameter: Any, context: Context) -> tuple[str, Any]:
    try:
        result = coercion.coerce(value, param=parameter, ctx=context)
    except BadParameter as error:
        return "error", error.format_message()
    return type(result).__name__, result


def test_there_are_parameters_of_every_kind() -> None:
    annotations = {repr(p.type_descriptor.annotation) for _, _, p in _parameters()}
    assert {"<class 'str'>", "<class 'int'>", "<class 'pathlib.Path'>"} <= annotations
    assert {"list[str]", "list[pathlib.Path]"} <= annotations


def test_fast_coercion_gives_what_typer_gives_for_every_parameter(tmp_path: Path) -> None:
    compared = 0
    for path, command, parameter in _parameters():
        context = Context(command, info_name=path)
        typer_own = build_runtime_param(parameter.type_descriptor)
        for value in _samples(parameter, tmp_path):
            fast = FastParam(parameter.type_descriptor)
            expected = _outcome(typer_own, value, parameter, context)
            assert _outcome(fast, value, parameter, context) == expected, (
                path,
                parameter.name,
                value,
            )
            compared += 1
    assert compared > 1000


@pytest.mark.parametrize(
    ("annotation", "value"),
    [(str, "a"), (int, 4), (Path, "photo.jpg"), (list[str], ("a", "b")), (str, None)],
)
def test_known_values_build_no_typer_adapter(annotation: Any, value: Any) -> None:
    parameter = next(p for _, _, p in _parameters() if p.type_descriptor.annotation == annotation)
    fast = FastParam(parameter.type_descriptor)
    fast.coerce(value, param=parameter, ctx=Context(typer.main.get_command(app)))
    assert fast._typer is None


def test_an_unknown_value_goes_to_typers_coercion() -> None:
    parameter = next(p for _, _, p in _parameters() if p.type_descriptor.annotation is int)
    fast = FastParam(parameter.type_descriptor)
    with pytest.raises(BadParameter):
        fast.coerce("not a number", param=parameter, ctx=Context(typer.main.get_command(app)))
    assert fast._typer is not None
    assert "pydantic" in sys.modules


def test_the_app_installs_it() -> None:
    parameter = next(p for _, _, p in _parameters())
    assert isinstance(parameter.get_runtime_param(), FastParam)
