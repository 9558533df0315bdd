"""azure-pipelines.yml against the official schema, the AWS Toolkit manifests and this repo.

Azure DevOps reads every YAML scalar as a string and converts it where a field wants a
boolean or a number, so the file is loaded with yaml.BaseLoader (all strings) and the
validator accepts "true"/"false" as booleans and digit strings as integers, as the
service does. The stock schema knows only in-box tasks; the AWS Toolkit tasks are added
from their manifests, the way Azure DevOps builds an organisation's schema from its
installed extensions (ci/azure-schema/SOURCE.md).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
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


# ---------------------------------------------------------------------------- schema


def test_pipeline_validates_against_the_official_schema() -> None:
    assert schema_errors(load_pipeline()) == []


BROKEN = {
    "misspelled stage key": ("    dependsOn: Validate\n", "    dependOn: Validate\n", 1),
    "unknown in-box task input": ("testResultsFormat: JUnit", "testResultFormat: JUnit", 1),
    "in-box enum value": ("testResultsFormat: JUnit", "testResultsFormat: JUnit5", 1),
    "toolkit input misspelled": ("useChangeSet: true", "useChangeset: true", 0),
    "toolkit enum value": ("captureStackOutputs: asVariables", "captureStackOutputs: asVars", 0),
    "toolkit boolean": ("autoExecuteChangeSet: true", "autoExecuteChangeSet: maybe", 0),
    "unknown task": ("task: PublishPipelineArtifact@1", "task: PublishPipelineArtefact@1", 1),
    "missing required coverage input": ("summaryFileLocation: coverage.xml", "pathToSources: x", 1),
    "toolkit required input": ("stackName: resizer-dev", "stackname: resizer-dev", 1),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_copy_fails_the_schema(case: str) -> None:
    """Proves the validation can fail: each edit breaks one rule the schema enforces."""
    old, new, count = BROKEN[case]
    text = PIPELINE.read_text()
    assert old in text, f"fixture out of date: {old!r} not in the pipeline"
    broken = text.replace(old, new, count or -1)
    assert schema_errors(load_pipeline(broken)), f"{case}: broken pipeline passed the schema"


def test_the_schema_is_the_vendored_one_and_not_trivial() -> None:
    full = schema()
    assert full["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(full)
    assert len(full["definitions"]["task"]["anyOf"]) > 250
    assert (SCHEMA_DIR / "SOURCE.md").read_text().count("MIT") >= 2


# ---------------------------------------------------------------------------- toolkit


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


def test_aws_toolkit_steps_match_their_manifests() -> None:
    found = toolkit_steps(load_pipeline())
    assert {s["task"] for _, s in found} >= {
        full_name("CloudFormationCreateOrUpdateStack"),
        full_name("AWSShellScript"),
    }
    problems = [f"{w} {s['task']}: {p}" for w, s in found for p in toolkit_problems(s)]
    assert problems == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"useChangeSet": "false"}, "'changeSetName' is ignored"),
        ({"templateSource": "s3"}, "'templateFile' is ignored"),
        ({"onFailure": "rollback"}, "not one of"),
        ({"captureAsSecuredVars": "nope"}, "not a boolean"),
        ({"stackname": "x"}, "unknown input 'stackname'"),
    ],
)
def test_toolkit_checks_can_fail(edit: dict[str, str], expected: str) -> None:
    _, step = next(x for x in toolkit_steps(load_pipeline()) if "CloudFormation" in x[1]["task"])
    broken = copy.deepcopy(step)
    broken["inputs"].update(edit)
    assert any(expected in p for p in toolkit_problems(broken)), toolkit_problems(broken)


def test_required_toolkit_input_missing_is_caught() -> None:
    _, step = next(x for x in toolkit_steps(load_pipeline()) if "AWSShellScript" in x[1]["task"])
    broken = copy.deepcopy(step)
    broken["inputs"]["scriptType"] = "filePath"  # makes filePath (no default) required
    problems = toolkit_problems(broken)
    assert "required input 'filePath' missing" in problems
    assert any(p.startswith("'inlineScript' is ignored") for p in problems)


def test_dev_deploys_through_its_service_role_by_change_set() -> None:
    stacks = [s for _, s in toolkit_steps(load_pipeline()) if "CloudFormation" in s["task"]]
    assert [s["inputs"]["stackName"] for s in stacks] == ["resizer-dev"]
    (inputs,) = [s["inputs"] for s in stacks]
    assert inputs["useChangeSet"] == "true"
    assert inputs["captureStackOutputs"] == "asVariables"
    assert inputs["awsCredentials"] == "${{ variables.awsConnectionDev }}"
    assert inputs["roleARN"] == "$(cloudFormationRoleDev)"
    # The deploy role may not write to the artifact bucket: no template upload.
    assert "s3BucketName" not in inputs


def test_marketplace_tasks_are_named_by_full_reference() -> None:
    short = {m["name"] for m in manifests().values()}
    named = [s.get("task", "") for _, s in steps(load_pipeline())]
    assert [t for t in named if t.split("@")[0] in short] == []
    assert sum(t.startswith(f"{TOOLKIT_PREFIX}.") for t in named) >= 6
    broken = PIPELINE.read_text().replace(full_name("AWSShellScript"), "AWSShellScript@1")
    assert schema_errors(load_pipeline(broken)), "a short marketplace name passed the schema"


# ---------------------------------------------------------------------------- flow


def test_pull_requests_stop_after_package() -> None:
    pipeline = load_pipeline()
    names = [s["stage"] for s in pipeline["stages"]]
    assert names == [
        "Validate",
        "Test",
        "Package",
        "DeployDev",
        "SmokeDev",
        "PlanProd",
        "DeployProd",
    ]
    guard = next(v for v in pipeline["variables"] if v.get("name") == "isMainPush")["value"]
    assert "'PullRequest'" in guard
    assert "refs/heads/main" in guard
    for stage in pipeline["stages"][3:]:
        assert "eq(variables.isMainPush, 'True')" in stage["condition"], stage["stage"]
    # Inside Package, only the upload touches AWS, and only for main.
    package = next(s for s in pipeline["stages"] if s["stage"] == "Package")
    aws_steps = [s for s in package["jobs"][0]["steps"] if "awsCredentials" in s.get("inputs", {})]
    assert aws_steps
    assert all("isMainPush" in s["condition"] for s in aws_steps)


def test_prod_deploys_through_an_environment_after_the_smoke_test() -> None:
    stages = {s["stage"]: s for s in load_pipeline()["stages"]}
    assert stages["SmokeDev"]["dependsOn"] == "DeployDev"
    assert stages["PlanProd"]["dependsOn"] == "SmokeDev"
    assert stages["DeployProd"]["dependsOn"] == "PlanProd"
    prod_job = stages["DeployProd"]["jobs"][0]
    assert prod_job["environment"] == "resizer-prod"
    assert "runOnce" in prod_job["strategy"]


def test_prod_change_set_exists_and_is_shown_before_the_approval() -> None:
    """Plan prod (no environment, so no approval) creates and shows the change set; the
    approval gates Deploy prod, which executes that change set by name and id only."""
    pipeline = load_pipeline()
    stages = {s["stage"]: s for s in pipeline["stages"]}
    (plan,) = stages["PlanProd"]["jobs"]
    assert "environment" not in plan
    (create,) = [s for s in plan["steps"] if s.get("name") == "changeset"]
    script = create["inputs"]["inlineScript"]
    assert "scripts/change_set.py" in script
    assert " create " in script
    assert '--role-arn "$CLOUDFORMATION_ROLE"' in script
    assert "--summary" in script
    assert create["env"]["CLOUDFORMATION_ROLE"] == "$(cloudFormationRoleProd)"
    (deploy,) = stages["DeployProd"]["jobs"]
    hooks = deploy["strategy"]["runOnce"]["deploy"]["steps"]
    (run,) = [s for s in hooks if "change_set.py" in s.get("inputs", {}).get("inlineScript", "")]
    assert 'execute --expect-id "$CHANGE_SET_ID"' in run["inputs"]["inlineScript"]
    assert run["env"] == {"CHANGE_SET_NAME": "$(changeSetName)", "CHANGE_SET_ID": "$(changeSetId)"}
    for variable in ("changeSetName", "changeSetId"):
        assert deploy["variables"][variable] == (
            f"$[ stageDependencies.PlanProd.plan.outputs['changeset.{variable}'] ]"
        )
    # Nothing in prod deploys without the change set: no toolkit deploy of resizer-prod.
    assert "resizer-prod" not in json.dumps(
        [s for _, s in toolkit_steps(pipeline) if "CloudFormation" in s["task"]]
    )
    # A change set with nothing in it asks for no approval.
    condition = stages["DeployProd"]["condition"]
    assert "dependencies.PlanProd.outputs['plan.changeset.hasChanges'], 'true'" in condition


def test_smoke_stage_reads_the_outputs_the_deploy_publishes() -> None:
    pipeline = load_pipeline()
    stages = {s["stage"]: s for s in pipeline["stages"]}
    deploy = stages["DeployDev"]["jobs"][0]
    hook_steps = deploy["strategy"]["runOnce"]["deploy"]["steps"]
    publisher = next(s for s in hook_steps if s.get("name") == "stack")
    smoke_vars = stages["SmokeDev"]["jobs"][0]["variables"]
    for value in smoke_vars.values():
        ref = re.search(r"stageDependencies\.(\w+)\.(\w+)\.outputs\['(\w+)\.(\w+)\.(\w+)'\]", value)
        assert ref, value
        stage, job, job_again, step, var = ref.groups()
        assert (stage, job, job_again, step) == ("DeployDev", deploy["deployment"], job, "stack")
        assert var in publisher["bash"]


def test_test_stage_publishes_junit_and_cobertura() -> None:
    test_steps = [s for w, s in steps(load_pipeline()) if w.startswith("Test/")]
    tasks = {s.get("task"): s.get("inputs", {}) for s in test_steps}
    assert tasks["PublishTestResults@2"]["testResultsFormat"] == "JUnit"
    assert tasks["PublishTestResults@2"]["testResultsFiles"] == "junit.xml"
    assert tasks["PublishCodeCoverageResults@2"]["summaryFileLocation"] == "coverage.xml"
    recipe = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "--junitxml=junit.xml" in recipe
    assert "--cov-report=xml" in recipe


# ---------------------------------------------------------------------------- repo


def make_targets_named() -> set[str]:
    found = set()
    for _, command in commands(load_pipeline()):
        found.update(re.findall(r"(?:^|[;&|]\s*|\s)make\s+([a-z][\w-]*)", command))
    return found


def test_every_make_target_the_pipeline_runs_exists() -> None:
    targets = make_targets_named()
    assert targets >= {
        "lint",
        "typecheck",
        "cfn-lint",
        "checkov",
        "test",
        "package",
        "deploy-tools",
    }
    for target in sorted(targets):
        dry = subprocess.run(
            ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert dry.returncode == 0, f"make {target}: {dry.stderr}"
        for path in re.findall(r"\b((?:scripts|bench|infra)/[\w./-]+\.\w+)", dry.stdout):
            assert (ROOT / path).is_file(), f"make {target} runs {path}, which does not exist"


def test_every_script_and_file_the_pipeline_names_exists() -> None:
    text = PIPELINE.read_text()
    scripts = set(re.findall(r"\b(scripts/[\w./-]+\.(?:py|sh))", text))
    assert scripts >= {"scripts/stack_parameters.py", "scripts/publish_artifact.py"}
    for path in sorted(scripts):
        assert (ROOT / path).is_file(), path
    for env in re.findall(r"package/parameters/(\w+)\.json", text):
        assert (ROOT / "infra" / "parameters" / f"{env}.json").is_file(), f"no parameters for {env}"
    assert (ROOT / "infra" / "template.yaml").is_file()
    for lock in re.findall(r"\b(requirements/[\w.-]+\.lock)", text):
        assert (ROOT / lock).is_file(), lock


def test_vendored_files_are_unmodified_copies() -> None:
    """SOURCE.md lists the sha256 of every vendored file; edits must go through it."""
    listed = re.findall(r"^([0-9a-f]{64})  (\S+)$", (SCHEMA_DIR / "SOURCE.md").read_text(), re.M)
    assert len(listed) == 1 + len(manifests())
    for digest, name in listed:
        assert hashlib.sha256((SCHEMA_DIR / name).read_bytes()).hexdigest() == digest, name


def test_inline_aws_shell_scripts_run_from_the_checkout() -> None:
    """AWSShellScript starts in the script's folder, the agent's temp dir for inline ones;
    the scripts call .venv/bin/python and make, which live in the checkout."""
    shells = [s for _, s in toolkit_steps(load_pipeline()) if "AWSShellScript" in s["task"]]
    assert shells
    for step in shells:
        assert step["inputs"]["disableAutoCwd"] == "true"
        assert step["inputs"]["workingDirectory"] == "$(System.DefaultWorkingDirectory)"


# Azure DevOps macro syntax, $(name): expanded into the script text before bash runs it.
MACRO = re.compile(r"\$\([A-Za-z_][\w.]*\)")


def test_pipeline_variables_reach_scripts_only_through_env() -> None:
    """A variable spliced into inline bash is code injection waiting for a quote."""
    spliced = [(where, MACRO.findall(command)) for where, command in commands(load_pipeline())]
    assert [s for s in spliced if s[1]] == []


def test_a_spliced_variable_is_caught() -> None:
    broken = PIPELINE.read_text().replace(
        '--bucket "$ARTIFACT_BUCKET"', '--bucket "$(artifactBucket)"'
    )
    spliced = [MACRO.findall(command) for _, command in commands(load_pipeline(broken))]
    assert ["$(artifactBucket)"] in spliced


def test_prod_gets_its_alarm_email_from_the_variable_group() -> None:
    plan = [s for w, s in steps(load_pipeline()) if w.startswith("PlanProd/")]
    (parameters,) = [
        s for s in plan if "stack_parameters.py" in s.get("inputs", {}).get("inlineScript", "")
    ]
    assert '--set "AlarmEmail=$ALARM_EMAIL"' in parameters["inputs"]["inlineScript"]
    assert parameters["env"]["ALARM_EMAIL"] == "$(alarmEmail)"


# ------------------------------------------------------------------ credentials


def aws_steps(pipeline: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(w, s) for w, s in steps(pipeline) if "awsCredentials" in s.get("inputs", {})]


def test_no_step_with_aws_credentials_runs_in_a_pull_request_or_branch_build() -> None:
    pipeline = load_pipeline()
    guard = next(v for v in pipeline["variables"] if v.get("name") == "isMainPush")["value"]
    assert guard == (
        "${{ and(eq(variables['Build.SourceBranch'], 'refs/heads/main'), "
        "ne(variables['Build.Reason'], 'PullRequest')) }}"
    )
    stages = {s["stage"]: s for s in pipeline["stages"]}
    found = aws_steps(pipeline)
    assert len(found) >= 6
    for where, step in found:
        stage = stages[where.split("/")[0]]
        guarded = "eq(variables.isMainPush, 'True')"
        assert guarded in stage.get("condition", "") or guarded in step.get("condition", ""), where


def unpinned_credential_steps(pipeline: dict[str, Any]) -> list[str]:
    """Steps holding AWS credentials that run anything but the hash-pinned interpreter:
    pip, make (which installs), another interpreter, or no `make deploy-tools` before."""
    ordered = list(steps(pipeline))
    found = []
    for index, (where, step) in enumerate(ordered):
        if "awsCredentials" not in step.get("inputs", {}):
            continue
        script = step["inputs"].get("inlineScript", "")
        if "AWSShellScript" in step["task"] and (
            not script.startswith(".deploy/bin/python scripts/")
            or "pip" in script
            or re.search(r"\bmake\b", script)
        ):
            found.append(f"{where}: {script[:60]}")
        earlier = [s for w, s in ordered[:index] if w == where]
        if not any(s.get("script") == "make deploy-tools" for s in earlier):
            found.append(f"{where}: no hashed install before it")
    return found


def test_steps_with_aws_credentials_run_only_hash_pinned_code() -> None:
    assert unpinned_credential_steps(load_pipeline()) == []
    recipe = subprocess.run(
        ["make", "-n", "-B", "deploy-tools"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "--require-hashes --no-deps -r requirements/deploy.lock" in recipe


def test_an_unhashed_install_with_credentials_is_caught() -> None:
    text = PIPELINE.read_text().replace(
        ".deploy/bin/python scripts/smoke_test.py", "make smoke SMOKE_ARGS=x && .venv/bin/python"
    )
    assert [p for p in unpinned_credential_steps(load_pipeline(text)) if "SmokeDev" in p]


def test_the_deploy_lock_pins_what_the_tests_ran_every_file_hashed() -> None:
    """One truth: the versions of requirements/dev.lock (what the tests ran), and where
    requirements/lambda.lock pins the same package, the same hashes."""

    def entries(path: Path) -> dict[str, str]:
        text = path.read_text()
        found = re.findall(
            r"^([a-z0-9_.-]+)==(\S+) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}.*\n)+)", text, re.M
        )
        return {name: f"{version} {' '.join(hashes.split())}" for name, version, hashes in found}

    deploy = entries(ROOT / "requirements" / "deploy.lock")
    assert set(deploy) == {
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "python-dateutil",
        "six",
        "urllib3",
    }
    dev = dict(
        line.split("==", 1)
        for line in (ROOT / "requirements" / "dev.lock").read_text().splitlines()
        if "==" in line
    )
    assert {n: deploy[n].split()[0] for n in deploy} == {n: dev[n] for n in deploy}
    lam = entries(ROOT / "requirements" / "lambda.lock")
    assert {n: deploy[n] for n in deploy if n in lam} == {n: lam[n] for n in deploy if n in lam}
    lines = [
        line
        for line in (ROOT / "requirements" / "deploy.lock").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert all(line.endswith("\\") or "--hash=sha256:" in line for line in lines)


def test_every_deploy_verifies_the_code_before_the_change_set() -> None:
    pipeline = load_pipeline()
    calls = [
        (w, s["inputs"]["inlineScript"])
        for w, s in aws_steps(pipeline)
        if "stack_parameters.py" in s["inputs"].get("inlineScript", "")
    ]
    assert {w.split("/")[0] for w, _ in calls} == {"DeployDev", "PlanProd"}
    assert all("--verify" in script for _, script in calls)


def test_the_deploy_lock_installs_with_its_hashes() -> None:
    """pip itself checks every hash (a dry run downloads and verifies, installs nothing)."""
    run = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"),
            *("--require-hashes", "--no-deps", "-r", str(ROOT / "requirements" / "deploy.lock")),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Would install" in run.stdout
    assert "boto3-1.44.8" in run.stdout


def test_code_signing_runs_from_the_variable_group_when_switched_on() -> None:
    found = {w.split("/")[0]: s for w, s in aws_steps(load_pipeline())}
    publish = found["Package"]
    assert '--signing-profile "$SIGNING_PROFILE"' in publish["inputs"]["inlineScript"]
    assert publish["env"]["SIGNING_PROFILE"] == "$(signingProfile)"
    for _, step in aws_steps(load_pipeline()):
        script = step["inputs"].get("inlineScript", "")
        if "stack_parameters.py" in script:
            assert '--code-signing-config "$CODE_SIGNING_CONFIG"' in script
            assert step["env"]["CODE_SIGNING_CONFIG"] == "$(codeSigningConfigArn)"
