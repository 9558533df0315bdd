"""``resizer local up --parameter KEY=VALUE``: parsed, and checked against the real template."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from resizer.errors import ConfigurationError
from resizer_tools.cli.app import app
from resizer_tools.local.parameters import check_overrides, parse_pairs
from resizer_tools.local.template import Template

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(TEMPLATE)


def test_pairs_split_at_the_first_equals_sign_and_the_last_one_wins() -> None:
    pairs = ["Renditions=a=10x10,b=20x20", "JpegQuality=80", "JpegQuality=70", "SourcePrefix="]
    assert parse_pairs(pairs) == {
        "Renditions": "a=10x10,b=20x20",
        "JpegQuality": "70",
        "SourcePrefix": "",
    }


@pytest.mark.parametrize("pair", ["JpegQuality", "=80", " =1"])
def test_a_pair_without_key_or_equals_sign_is_refused(pair: str) -> None:
    with pytest.raises(ConfigurationError, match="is not KEY=VALUE"):
        parse_pairs([pair])


def test_known_parameters_within_their_constraints_pass(template: Template) -> None:
    check_overrides(
        {
            "Renditions": "thumbnails=100x100",
            "JpegQuality": "70",
            "Timeout": "30",
            "SourcePrefix": "",
            "AlarmEmail": "ops@example.com",
        },
        template,
    )


def test_an_unknown_parameter_is_refused_with_the_known_ones(template: Template) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_overrides({"Rendition": "a=1x1"}, template)
    message = str(caught.value)
    assert "Rendition: " in message
    known = message.split("known parameters: ", 1)[1].split(", ")
    assert known == sorted(template.document["Parameters"])
    assert "Renditions" in known


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("Timeout", "45", "must be one of"),  # AllowedValues
        ("Environment", "Not-Lower", "AllowedPattern"),
        ("JpegQuality", "101", "MaxValue 100"),
        ("JpegQuality", "0", "MinValue 1"),
        ("JpegQuality", "high", "must be a number"),
        ("AlarmEmail", "not-an-address", "AllowedPattern"),
    ],
)
def test_a_value_the_template_does_not_allow_is_refused(
    template: Template, key: str, value: str, rule: str
) -> None:
    with pytest.raises(ConfigurationError, match=rule):
        check_overrides({key: value}, template)


def test_length_limits_are_checked(template: Template, tmp_path: Path) -> None:
    text = TEMPLATE.read_text(encoding="utf-8").replace(
        "  SourcePrefix:\n    Type: String\n",
        "  SourcePrefix:\n    Type: String\n    MinLength: 2\n    MaxLength: 4\n",
    )
    path = tmp_path / "template.yaml"
    path.write_text(text, encoding="utf-8")
    limited = Template.load(path)
    with pytest.raises(ConfigurationError, match="under the template's MinLength 2"):
        check_overrides({"SourcePrefix": "a"}, limited)
    with pytest.raises(ConfigurationError, match="over the template's MaxLength 4"):
        check_overrides({"SourcePrefix": "abcde"}, limited)
    check_overrides({"SourcePrefix": "abc"}, limited)


def test_local_up_refuses_an_unknown_parameter_before_starting_anything() -> None:
    result = CliRunner().invoke(
        app,
        ["local", "up", "--port", "0", "--template", str(TEMPLATE), "--parameter", "Nope=1"],
    )
    assert result.exit_code == 2
    assert "Nope: " in result.output
    assert "known parameters:" in result.output
    assert "ready" not in result.output
