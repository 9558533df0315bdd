"""The pure parts of ``resizer local set`` and of the emulator's environment fix (the
end-to-end behaviour: tests/integration/test_local_settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from resizer_tools.local.moto_gaps import lambda_string
from resizer_tools.local.settings import function_variables
from resizer_tools.local.template import Template

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(85, "85"), (1.5, "1.5"), (True, "true"), (False, "false"), ("a=1,b=2", "a=1,b=2")],
)
def test_environment_values_are_spelled_as_cloudformation_passes_them(
    value: object, expected: str
) -> None:
    assert lambda_string(value) == expected


def test_template_parameters_map_to_the_variables_they_set() -> None:
    mapped = function_variables(Template.load(TEMPLATE))
    assert mapped["Renditions"] == "RENDITIONS"
    assert mapped["JpegQuality"] == "JPEG_QUALITY"
    assert mapped["LogLevel"] == "POWERTOOLS_LOG_LEVEL"
    # SOURCE_BUCKET is an If, not a plain Ref: not settable through a parameter.
    assert "SOURCE_BUCKET" not in mapped.values()
    assert "MemorySize" not in mapped
