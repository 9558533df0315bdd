"""azure-pipelines.yml, the security review's part: what reaches AWS credentials, and how.

PR and branch runs stop before any step with a service connection; those steps run
only the hash-pinned interpreter; variables reach scripts through env: only;
marketplace tasks by full reference; dev through its CloudFormation service role; prod's
change set created and shown before the approval, executed by id after it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from azure_pipeline import (
    PIPELINE,
    ROOT,
    TOOLKIT_PREFIX,
    aws_steps,
    commands,
    full_name,
    load_pipeline,
    manifests,
    schema_errors,
    steps,
    toolkit_steps,
)


def test_dev_deploys_through_its_service_role_by_change_set() -> None:
    stacks = [s for _, s in toolkit_steps(load_pipeline()) if "CloudFormation" in s["task"]]
    assert [s["inputs"]["stackName"] for s in stacks] == ["resizer-dev"]
    (inputs,) = [s["inputs"] for s in stacks]
    assert inputs["useChangeSet"] == "true"
    assert inputs["captureStackOutputs"] == "asVariables"
    assert inputs["awsCredentials"] == "${{ variables.awsConnectionDev }}"
    assert inputs["roleARN"] == "$(cloudFormationRoleDev)"
    # The deploy role may not write to the artifact bucket: no template upload. The
    # template goes by URL (a body may hold 51,200 bytes; it outgrew that), the one the
    # verify step set after checking the bytes the Package stage published.
    assert "s3BucketName" not in inputs
    assert inputs["templateSource"] == "url"
    assert inputs["templateUrl"] == "$(templateUrl)"
    assert "templateFile" not in inputs


def test_marketplace_tasks_are_named_by_full_reference() -> None:
    short = {m["name"] for m in manifests().values()}
    named = [s.get("task", "") for _, s in steps(load_pipeline())]
    assert [t for t in named if t.split("@")[0] in short] == []
    assert sum(t.startswith(f"{TOOLKIT_PREFIX}.") for t in named) >= 6
    broken = PIPELINE.read_text().replace(full_name("AWSShellScript"), "AWSShellScript@1")
    assert schema_errors(load_pipeline(broken)), "a short marketplace name passed the schema"


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
    assert '--template-url "$TEMPLATE_URL"' in script
    assert create["env"]["TEMPLATE_URL"] == "$(templateUrl)"
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


def test_the_template_url_is_set_by_the_verify_step_before_it_is_used() -> None:
    """$(templateUrl) is a job variable: scripts/stack_parameters.py --verify sets it
    after checking the published template's bytes, earlier in the same job, for every
    step that deploys with it (dev's toolkit task, prod's change set)."""
    listed = list(steps(load_pipeline()))
    users = [(i, where) for i, (where, step) in enumerate(listed) if "$(templateUrl)" in str(step)]
    assert len(users) == 2
    for index, where in users:
        before = [
            s.get("inputs", {}).get("inlineScript", "") for w, s in listed[:index] if w == where
        ]
        assert any("stack_parameters.py --verify" in script for script in before), where
