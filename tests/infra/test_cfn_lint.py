"""cfn-lint on both templates: no error, warning or informational finding."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfn_template import TEMPLATES
from cfnlint.api import ManualArgs, lint_file

# Findings we accept, each with the reason. Only experimental rules may appear here.
EXPLAINED = {
    # Experimental (opt-in) rule asking for Metadata.com.aws.cloudformation.Context
    # blocks, machine-readable design notes for AI tooling. The template's
    # comments and docs/infrastructure.md carry the rationale instead.
    "I4010",
}


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_no_findings_including_informational(path: Path) -> None:
    matches = lint_file(path, config=ManualArgs(include_checks=["I"]))
    assert [str(m) for m in matches] == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_experimental_rules_find_only_what_is_explained(path: Path) -> None:
    matches = lint_file(path, config=ManualArgs(include_checks=["I"], include_experimental=True))
    assert [str(m) for m in matches if m.rule.id not in EXPLAINED] == []
