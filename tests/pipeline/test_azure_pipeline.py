"""azure-pipelines.yml against the official schema, the AWS Toolkit manifests and this repo.

How the file is loaded and validated as Azure DevOps does: tests/support/azure_pipeline.py.
"""

from __future__ import annotations

import copy
import hashlib
import re
import subprocess

import jsonschema
import pytest
from azure_pipeline import (
    PIPELINE,
    ROOT,
    SCHEMA_DIR,
    commands,
    full_name,
    load_pipeline,
    manifests,
    schema,
    schema_errors,
    steps,
    toolkit_problems,
    toolkit_steps,
)

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
        ({"templateSource": "s3"}, "'templateUrl' is ignored"),
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


def test_credentials_outlast_the_longest_deploy() -> None:
    """Issue 18 item 7: the toolkit's role credentials last 15 minutes unless
    ``aws.rolecredential.maxduration`` says otherwise; a CloudFront deploy takes longer."""
    pipeline = load_pipeline()
    variables = {v["name"]: v["value"] for v in pipeline["variables"] if "name" in v}
    seconds = int(variables["aws.rolecredential.maxduration"])
    waits = [
        int(step["inputs"].get("timeoutInMins", 60))  # the task's own default: 60
        for _where, step in toolkit_steps(pipeline)
        if step["task"] == full_name("CloudFormationCreateOrUpdateStack")
    ]
    assert waits
    assert seconds >= 60 * max(waits) + 300  # the wait, plus verifying the build first
    roles = (ROOT / "infra" / "deploy-roles.yaml").read_text(encoding="utf-8")
    (role_limit,) = {int(v) for v in re.findall(r"MaxSessionDuration: (\d+)", roles)}
    assert seconds <= role_limit  # STS refuses a longer session than the role allows
