"""azure-pipelines.yml, loaded and walked as Azure DevOps reads it (for tests/pipeline).

Azure DevOps reads every YAML scalar as a string and converts it where a field wants a
boolean or a number, so the file is loaded with yaml.BaseLoader (all strings) and the
validator accepts "true"/"false" as booleans and digit strings as integers, as the
service does. The stock schema knows only in-box tasks; the AWS Toolkit tasks are added
from their manifests, the way Azure DevOps builds an organisation's schema from its
installed extensions (ci/azure-schema/SOURCE.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "azure-pipelines.yml"
SCHEMA_DIR = ROOT / "ci" / "azure-schema"
MANIFEST_DIR = SCHEMA_DIR / "aws-toolkit-tasks"
TOOLKIT_MAJOR = 1  # the manifests carry no version; every toolkit task is @1
# Marketplace tasks are named by their full reference, <publisher>.<extension>.<contribution>
# .<task>: a short name could be taken over by an in-box or another extension's task.
TOOLKIT_PREFIX = "AmazonWebServices.aws-vsts-tools"


def full_name(task: str) -> str:
    return f"{TOOLKIT_PREFIX}.{task}.{task}@{TOOLKIT_MAJOR}"


TRUE_FALSE = {"true", "false", "True", "False"}


# ---------------------------------------------------------------------------- loading


def load_pipeline(text: str | None = None) -> dict[str, Any]:
    data = yaml.load(text if text is not None else PIPELINE.read_text(), Loader=yaml.BaseLoader)
    assert isinstance(data, dict)
    return data


@cache
def manifests() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(MANIFEST_DIR.glob("*.task.json")):
        manifest = json.loads(path.read_text())
        found[full_name(manifest["name"])] = manifest
    return found


def manifest_branch(manifest: dict[str, Any]) -> dict[str, Any]:
    """A schema branch for a marketplace task, shaped like the schema's in-box ones."""
    properties: dict[str, Any] = {}
    required = []
    for item in manifest["inputs"]:
        kind = item["type"]
        editable = str(item.get("properties", {}).get("EditableOptions", "")).lower() == "true"
        if kind == "boolean":
            prop: dict[str, Any] = {"type": "boolean"}
        elif kind in ("pickList", "radio") and item.get("options") and not editable:
            prop = {"enum": list(item["options"])}
        else:
            prop = {"type": "string"}
        properties[item["name"]] = prop
        if item.get("required") and not item.get("visibleRule") and not item.get("defaultValue"):
            required.append(item["name"])
    return {
        "properties": {
            "task": {"pattern": f"^{re.escape(full_name(manifest['name']))}$"},
            "inputs": {
                "properties": properties,
                "additionalProperties": False,
                "required": required,
            },
        },
        "firstProperty": ["task"],
        "required": ["task", "inputs"] if required else ["task"],
    }


@cache
def schema() -> dict[str, Any]:
    full = json.loads((SCHEMA_DIR / "service-schema.json").read_text())
    branches = full["definitions"]["task"]["anyOf"]
    branches.extend(json.loads((SCHEMA_DIR / "supplement.json").read_text())["tasks"])
    branches.extend(manifest_branch(m) for m in manifests().values())
    # The task name itself is checked against a second list, of names only.
    names = full["definitions"]["task"]["properties"]["task"]["anyOf"]
    names.extend({"enum": [name]} for name in manifests())
    return full


def is_bool(_checker: object, value: object) -> bool:
    return isinstance(value, bool) or (isinstance(value, str) and value in TRUE_FALSE)


def is_int(_checker: object, value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (
        isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None
    )


def is_number(checker: object, value: object) -> bool:
    return is_int(checker, value) or isinstance(value, float)


AzureValidator = jsonschema.validators.extend(
    jsonschema.Draft7Validator,
    type_checker=jsonschema.Draft7Validator.TYPE_CHECKER.redefine_many(
        {"boolean": is_bool, "integer": is_int, "number": is_number}
    ),
)


@cache
def validator() -> Any:
    return AzureValidator(schema())


def deepest(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """The failures furthest into the document: anyOf/oneOf errors say little by themselves."""
    leaves, stack = [], [error]
    while stack:
        current = stack.pop()
        stack.extend(current.context or [])
        if not current.context:
            leaves.append(current)
    depth = max(len(e.absolute_path) for e in leaves)
    return [e for e in leaves if len(e.absolute_path) == depth]


def schema_errors(pipeline: dict[str, Any]) -> list[str]:
    found = []
    for error in validator().iter_errors(pipeline):
        leaves = deepest(error)
        where = "/".join(map(str, leaves[0].absolute_path))
        found.append(f"{where}: " + "; ".join(sorted({e.message[:120] for e in leaves})[:3]))
    return found


# ---------------------------------------------------------------------------- walking


def steps(pipeline: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every step with a readable location, including deployment-job lifecycle hooks."""
    for stage in pipeline.get("stages", []):
        for job in stage.get("jobs", []):
            name = f"{stage['stage']}/{job.get('job') or job.get('deployment')}"
            for step in job.get("steps", []):
                yield name, step
            for hooks in job.get("strategy", {}).values():
                for hook_name, hook in hooks.items():
                    for step in hook.get("steps", []):
                        yield f"{name}/{hook_name}", step


def commands(pipeline: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for where, step in steps(pipeline):
        for key in ("script", "bash"):
            if key in step:
                yield where, step[key]
        if "AWSShellScript" in step.get("task", ""):
            yield where, step["inputs"].get("inlineScript", "")


def visible(rule: str | None, values: dict[str, str]) -> bool:
    """Evaluate a task.json visibleRule: `a = x`, `a != x`, joined by && or ||."""
    if not rule:
        return True
    if "||" in rule:
        return any(visible(part, values) for part in rule.split("||"))
    if "&&" in rule:
        return all(visible(part, values) for part in rule.split("&&"))
    match = re.fullmatch(r"\s*(\w+)\s*(!=|=)\s*(\S+)\s*", rule)
    assert match, f"unsupported visibleRule {rule!r}"
    name, op, expected = match.groups()
    actual = values.get(name, "")
    return (actual.lower() == expected.lower()) == (op == "=")


def toolkit_problems(step: dict[str, Any]) -> list[str]:
    manifest = manifests()[step["task"]]
    inputs: dict[str, str] = step.get("inputs", {})
    by_name = {i["name"]: i for i in manifest["inputs"]}
    values = {n: str(i.get("defaultValue") or "") for n, i in by_name.items()} | inputs
    problems = [f"unknown input {n!r}" for n in inputs if n not in by_name]
    for name, item in by_name.items():
        shown = visible(item.get("visibleRule"), values)
        if name in inputs and not shown:
            problems.append(
                f"{name!r} is ignored: its visibleRule {item['visibleRule']!r} is false"
            )
        if item.get("required") and shown and not values.get(name):
            problems.append(f"required input {name!r} missing")
        if name not in inputs:
            continue
        value = inputs[name]
        options = item.get("options") or {}
        editable = str(item.get("properties", {}).get("EditableOptions", "")).lower() == "true"
        if (
            item["type"] in ("pickList", "radio")
            and options
            and not editable
            and value not in options
        ):
            problems.append(f"{name}={value!r} not one of {sorted(options)}")
        if item["type"] == "boolean" and value not in TRUE_FALSE:
            problems.append(f"{name}={value!r} is not a boolean")
        limit = item.get("properties", {}).get("maxLength")
        if limit and len(value) > int(limit):
            problems.append(f"{name} is {len(value)} characters, more than {limit}")
        if item["type"].startswith("connectedService") and "$(" in value:
            problems.append(f"{name} must be known at compile time: use ${{{{ }}}}, not $()")
    return problems


def toolkit_steps(pipeline: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(w, s) for w, s in steps(pipeline) if s.get("task", "") in manifests()]


def aws_steps(pipeline: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every step naming a service connection (awsCredentials), with its location."""
    return [(w, s) for w, s in steps(pipeline) if "awsCredentials" in s.get("inputs", {})]
