"""infra/parameters/*.json: the CloudFormation CLI format, valid for the template.

The files hold everything but the build: CodeBucket and CodeKey are added by
whoever deploys (docs/infrastructure.md), hence "missing only those". Prod's alarm
address is not in the repository either: the pipeline adds it from its variable
group (tests/pipeline checks that), and the template refuses prod without it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cfn_template import INFRA, TEMPLATE, Resolver, load

PARAMETERS: dict[str, Any] = load(TEMPLATE)["Parameters"]
FILES = sorted((INFRA / "parameters").glob("*.json"))
PER_BUILD = {"CodeBucket", "CodeKey"}


def test_dev_and_prod_exist() -> None:
    assert {"dev.json", "prod.json"} <= {f.name for f in FILES}


def _violations(name: str, value: str) -> list[str]:
    spec = PARAMETERS[name]
    problems = []
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        problems.append(f"{name}={value!r} not in {spec['AllowedValues']}")
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        problems.append(f"{name}={value!r} does not match {spec['AllowedPattern']}")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        problems.append(f"{name} longer than {spec['MaxLength']}")
    if spec["Type"] == "Number":
        number = float(value)
        if "MinValue" in spec and number < float(spec["MinValue"]):
            problems.append(f"{name}={value} below {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            problems.append(f"{name}={value} above {spec['MaxValue']}")
    return problems


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_parameter_file_is_valid_for_the_template(path: Path) -> None:
    entries = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(entries, list)
    assert all(set(e) == {"ParameterKey", "ParameterValue"} for e in entries)
    keys = [e["ParameterKey"] for e in entries]
    assert len(keys) == len(set(keys)), "a parameter is given twice"
    assert set(keys) <= set(PARAMETERS), f"unknown: {set(keys) - set(PARAMETERS)}"
    assert not set(keys) & PER_BUILD, "CodeBucket/CodeKey are per build, not per environment"
    assert all(isinstance(e["ParameterValue"], str) for e in entries)
    # docs/infrastructure.md turns the files into `deploy --parameter-overrides K=V ...`.
    assert not [e for e in entries if " " in e["ParameterValue"]]
    problems = [p for e in entries for p in _violations(e["ParameterKey"], e["ParameterValue"])]
    assert problems == []
    without_default = {n for n, spec in PARAMETERS.items() if "Default" not in spec}
    assert without_default - set(keys) == PER_BUILD
    values = {e["ParameterKey"]: e["ParameterValue"] for e in entries}
    assert values["Environment"] == path.stem
    # The template's Rules, which CloudFormation enforces when the change set is made.
    at_deploy = (
        {"AlarmEmail": "ops@example.com", "CodeVersion": "v1"} if path.stem == "prod" else {}
    )
    assert Resolver(load(TEMPLATE), values | at_deploy).rule_failures() == []
    if path.stem == "prod":
        assert "AlarmEmail" not in values, "prod's alarm address comes from the pipeline"
        assert Resolver(load(TEMPLATE), values).rule_failures() != []
