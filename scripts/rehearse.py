#!/usr/bin/env python3
"""Rehearse the whole first deploy against the embedded emulator: ``make rehearse``.

No AWS account and no Azure DevOps: the embedded emulator (moto, in this process, on
127.0.0.1) stands in for the account, and each step runs the command
docs/first-deploy.md gives the operator, with the real AWS CLI (``.tools/bin/aws``):

 1. the bootstrap stack (a made-up Azure DevOps organisation GUID)
 2. the deploy-roles stack of dev (its function permissions boundary)
 3. ``make package`` (skipped with ``--zip``)
 4. an artifact bucket, then ``resizer preflight``
 5. ``REVIEW=1 scripts/aws_cli_deploy.sh dev``: the change set, not executed, of the
    template sent by URL from the artifact bucket (``templates/<sha256>.yaml``; moto's
    CloudFormation reads it from moto's S3); ``resizer preflight`` then says the change
    set is pending
 6. ``scripts/aws_cli_deploy.sh dev`` again: the stack is created
 7. the pipeline's smoke test (``scripts/smoke_test.py --stack-name``)
 8. a stack update that changes ``Renditions``: a new version, ``live`` moved
 9. ``resizer backfill``: the existing photo's renditions re-made to the new config
10. the smoke test again
11. the stack deleted: what the template retains (buckets, log group, keys) stays

The emulator cannot run Lambda code: between steps 6 and 11 the local poller plays the
stack's event source mapping, invoking ``resizer.handler`` from ``src/`` with the
environment of the version ``live`` points to (what ``resizer local up`` does). Each
step prints its commands; the run ends with ``rehearsal passed`` or exits 1 naming the
step that failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from resizer_tools.local.deploy import adopt  # noqa: E402
from resizer_tools.local.emulator import Emulator  # noqa: E402
from resizer_tools.local.mapping import MappingConfig  # noqa: E402
from resizer_tools.local.poller import Poller  # noqa: E402
from resizer_tools.local.template import Template  # noqa: E402
from resizer_tools.ops.aws import Aws  # noqa: E402

#: Made up: the rehearsal never talks to Azure DevOps.
ORGANISATION_GUID = "00000000-0000-4000-8000-00000000a5e1"
ORGANISATION, PROJECT = "rehearsal-org", "resizer"
ENV, STACK, REGION = "dev", "resizer-dev", "us-east-1"
ARTIFACT_BUCKET = "rehearsal-artifacts"
BOUNDARY = f"resizer-{ENV}-function-boundary"  # what deploy-roles.yaml creates
#: The update of step 8: another box, two formats, an unbounded side.
NEW_RENDITIONS = "thumbnails=200x200:cover:format=webp+avif,w800=800x:format=original+webp"
PHOTO = ROOT / "examples" / "photos" / "Wine_by_Jakkub_Mede.jpg"


class Failed(Exception):
    """A step did not do what the first deploy needs."""


class Rehearsal:
    def __init__(self, endpoint: str, zip_path: Path | None) -> None:
        self.endpoint = endpoint
        self.zip_path = zip_path
        self.aws = Aws(endpoint, REGION)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "rehearsal",
            "AWS_SECRET_ACCESS_KEY": "rehearsal",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "PATH": f"{ROOT / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT / "src"),
            "PYTHONWARNINGS": "ignore",  # moto's "not supported" notes reach the CLI's stderr
        }
        self.step_number = 0
        self.poller: Poller | None = None

    # ------------------------------------------------------------------ helpers
    def step(self, title: str) -> None:
        self.step_number += 1
        print(f"\n== step {self.step_number}: {title}", flush=True)

    def run(
        self, command: Sequence[str], *, extra: Mapping[str, str] | None = None, quiet: bool = False
    ) -> str:
        shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in (extra or {}).items())
        print(f"$ {shown + ' ' if shown else ''}{shlex.join(command)}", flush=True)
        done = subprocess.run(
            list(command),
            cwd=ROOT,
            env={**self.env, **(extra or {})},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if not quiet or done.returncode:
            for line in (done.stdout + done.stderr).splitlines():
                print(f"    {line}")
        if done.returncode:
            raise Failed(f"{command[0]} exited {done.returncode}")
        return done.stdout

    def outputs(self, stack: str) -> dict[str, str]:
        described = self.aws.cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}

    def status(self, stack: str) -> str:
        return str(
            self.aws.cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        )

    def check(self, ok: bool, what: str) -> None:
        print(f"  {'ok' if ok else 'FAILED'}: {what}", flush=True)
        if not ok:
            raise Failed(what)

    def live(self) -> dict[str, Any]:
        function = self.outputs(STACK)["FunctionName"]
        return dict(
            self.aws.lambda_.get_function_configuration(FunctionName=function, Qualifier="live")
        )

    # ------------------------------------------------------------------ steps
    def bootstrap(self) -> None:
        self.step(f"bootstrap stack (made-up organisation GUID {ORGANISATION_GUID})")
        self.run(
            ["aws", "cloudformation", "deploy", "--stack-name", "resizer-bootstrap",
             "--template-file", "infra/bootstrap.yaml", "--no-fail-on-empty-changeset",
             "--capabilities", "CAPABILITY_NAMED_IAM", "--parameter-overrides",
             f"AzureDevOpsOrganizationId={ORGANISATION_GUID}",
             f"AzureDevOpsOrganization={ORGANISATION}", f"AzureDevOpsProject={PROJECT}",
             "CodeSigning=false"],
            quiet=True,
        )  # fmt: skip
        outputs = self.outputs("resizer-bootstrap")
        self.check(
            outputs.get("OidcProviderArn", "").endswith(ORGANISATION_GUID),
            f"OIDC provider {outputs.get('OidcProviderArn')}",
        )
        self.check(bool(outputs.get("ArtifactBucketName")), "artifact bucket of the pipeline")
        self.bootstrap_outputs = outputs

    def deploy_roles(self) -> None:
        self.step(f"deploy-roles stack of {ENV}")
        outputs = self.bootstrap_outputs
        self.run(
            ["aws", "cloudformation", "deploy", "--stack-name", f"resizer-roles-{ENV}",
             "--template-file", "infra/deploy-roles.yaml", "--capabilities",
             "CAPABILITY_NAMED_IAM", "--parameter-overrides", f"Environment={ENV}",
             f"ServiceConnection=aws-resizer-{ENV}",
             f"ArtifactBucketName={outputs['ArtifactBucketName']}",
             f"OidcProviderArn={outputs['OidcProviderArn']}",
             f"AzureDevOpsOrganization={ORGANISATION}", f"AzureDevOpsProject={PROJECT}",
             "SmokeTest=true"],
            quiet=True,
        )  # fmt: skip
        roles = self.outputs(f"resizer-roles-{ENV}")
        self.check(roles.get("FunctionPermissionsBoundary", "").endswith(BOUNDARY), BOUNDARY)

    def package(self) -> None:
        self.step("make package")
        if self.zip_path is None:
            self.run(["make", "package"], quiet=True)
            self.zip_path = max((ROOT / "dist").glob("*.zip"), key=lambda p: p.stat().st_mtime)
        else:
            print(f"  (--zip given: {self.zip_path})")
        self.check(self.zip_path.is_file(), f"build {self.zip_path.name}")

    def preflight(self) -> None:
        self.step("artifact bucket, then resizer preflight")
        self.run(["aws", "s3", "mb", f"s3://{ARTIFACT_BUCKET}"])
        self.run(
            ["aws", "s3api", "put-bucket-versioning", "--bucket", ARTIFACT_BUCKET,
             "--versioning-configuration", "Status=Enabled"]
        )  # fmt: skip
        self.run(self.preflight_command(), extra={"ARTIFACT_BUCKET": ARTIFACT_BUCKET})

    def preflight_command(self) -> list[str]:
        return [
            str(Path(sys.executable).parent / "resizer"), "preflight", "--env", ENV,
            "--region", REGION, "--zip", str(self.zip_path),
            "--parameter", f"FunctionPermissionsBoundary={BOUNDARY}",
        ]  # fmt: skip

    def deploy_command(self, *overrides: str) -> list[str]:
        return [
            "bash", "scripts/aws_cli_deploy.sh", "--region", REGION, ENV, str(self.zip_path),
            f"FunctionPermissionsBoundary={BOUNDARY}", *overrides,
        ]  # fmt: skip

    def review(self) -> None:
        self.step(f"REVIEW=1 scripts/aws_cli_deploy.sh {ENV}: the change set, not executed")
        extra = {"ARTIFACT_BUCKET": ARTIFACT_BUCKET, "REVIEW": "1"}
        out = self.run(self.deploy_command(), extra=extra, quiet=True)
        print("    " + out.strip().splitlines()[-1])
        self.check(self.status(STACK) == "REVIEW_IN_PROGRESS", f"{STACK} is REVIEW_IN_PROGRESS")
        import artifact_keys  # noqa: PLC0415 (scripts/: the template's key)

        body = (ROOT / "infra" / "template.yaml").read_bytes()
        key = artifact_keys.template_key(hashlib.sha256(body).hexdigest())
        stored = self.aws.s3.get_object(Bucket=ARTIFACT_BUCKET, Key=key)["Body"].read()
        self.check(stored == body, f"the template went by URL: s3://{ARTIFACT_BUCKET}/{key}")
        out = self.run(
            [*self.preflight_command(), "--json"], extra={"ARTIFACT_BUCKET": ARTIFACT_BUCKET},
            quiet=True,
        )  # fmt: skip
        (stack_row,) = [row for row in json.loads(out) if row["name"] == "stack"]
        print(f"    preflight: {stack_row['detail']}")
        self.check("pending" in stack_row["detail"], "preflight names the pending change set")

    def execute(self) -> None:
        self.step(f"scripts/aws_cli_deploy.sh {ENV} again: the stack is created")
        self.run(self.deploy_command(), extra={"ARTIFACT_BUCKET": ARTIFACT_BUCKET}, quiet=True)
        self.check(self.status(STACK) == "CREATE_COMPLETE", f"{STACK} is CREATE_COMPLETE")
        self.version_before = str(self.live()["Version"])
        print(f"  live -> version {self.version_before}")
        self.start_poller()

    def start_poller(self) -> None:
        template = Template.load(ROOT / "infra" / "template.yaml")
        deployment = adopt(self.aws, template, STACK)
        print(
            "  the emulator runs no Lambda code: the local poller plays the event source "
            f"mapping (switched off in the emulator: {', '.join(deployment.mapping_uuids)}); "
            f"applied what its CloudFormation ignores: {', '.join(deployment.applied)}"
        )
        config = MappingConfig.discover(self.aws, self.aws.stack(STACK))
        self.poller = Poller(
            self.aws,
            config,
            on_version=lambda moved: print(
                f"  poller: live moved to version {moved.function_version}", flush=True
            ),
        )
        self.poller.start()

    def smoke(self, label: str) -> None:
        self.step(f"the pipeline's smoke test ({label})")
        self.run([sys.executable, "scripts/smoke_test.py", "--stack-name", STACK,
                  "--timeout", "120", "--poll", "0.5"])  # fmt: skip

    def update(self) -> None:
        self.step("a stack update that changes Renditions")
        outputs = self.outputs(STACK)
        self.run(
            [
                "aws",
                "s3",
                "cp",
                str(PHOTO),
                f"s3://{outputs['SourceBucketName']}/existing/photo.jpg",
            ]
        )
        self.wait_for_manifest(outputs, "existing/photo.jpg", lambda m: True)
        self.run(
            self.deploy_command(f"Renditions={NEW_RENDITIONS}"),
            extra={"ARTIFACT_BUCKET": ARTIFACT_BUCKET},
            quiet=True,
        )
        self.check(self.status(STACK) == "UPDATE_COMPLETE", f"{STACK} is UPDATE_COMPLETE")
        live = self.live()
        self.check(
            str(live["Version"]) != self.version_before,
            f"live moved: version {self.version_before} -> {live['Version']}",
        )
        renditions = live["Environment"]["Variables"]["RENDITIONS"]
        self.check(renditions == NEW_RENDITIONS, f"live runs RENDITIONS={renditions}")

    def backfill(self) -> None:
        self.step("resizer backfill: the existing photo's renditions re-made")
        outputs = self.outputs(STACK)
        self.run([str(Path(sys.executable).parent / "resizer"), "backfill", "--stack-name", STACK])
        names = {item.split("=", 1)[0] for item in NEW_RENDITIONS.split(",")}
        manifest = self.wait_for_manifest(
            outputs,
            "existing/photo.jpg",
            lambda m: {e.get("name") for e in m.get("renditions", [])} == names,
        )
        for entry in manifest["renditions"]:
            print(f"    {entry['key']}: {entry['format']} {entry['width']}x{entry['height']}")

    def wait_for_manifest(
        self, outputs: Mapping[str, str], source_key: str, done: Any, timeout: float = 120
    ) -> dict[str, Any]:
        import smoke_test  # noqa: PLC0415 (scripts/: the function's manifest key)

        key = smoke_test.manifest_key(source_key)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            manifest = smoke_test.read_manifest(self.aws.s3, outputs["DestinationBucketName"], key)
            if manifest is not None and done(manifest):
                print(f"  ok: {key} lists {len(manifest.get('renditions', []))} objects")
                return manifest
            time.sleep(0.5)
        raise Failed(f"{key} did not show the expected renditions within {timeout:.0f} s")

    def delete(self) -> None:
        self.step("stack deletion: what the template retains stays")
        if self.poller is not None:
            self.poller.stop()
            self.poller = None
        outputs = self.outputs(STACK)
        self.run(["aws", "cloudformation", "delete-stack", "--stack-name", STACK])
        self.run(["aws", "cloudformation", "wait", "stack-delete-complete", "--stack-name", STACK])
        buckets = {b["Name"] for b in self.aws.s3.list_buckets()["Buckets"]}
        for name in ("SourceBucketName", "DestinationBucketName"):
            self.check(outputs[name] in buckets, f"{name} {outputs[name]} retained")
        groups = self.aws.logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{STACK}")
        self.check(bool(groups["logGroups"]), f"log group /aws/lambda/{STACK} retained")
        functions = {f["FunctionName"] for f in self.aws.lambda_.list_functions()["Functions"]}
        self.check(outputs["FunctionName"] not in functions, "function deleted")

    def all(self) -> None:
        self.bootstrap()
        self.deploy_roles()
        self.package()
        self.preflight()
        self.review()
        self.execute()
        self.smoke("as deployed")
        self.update()
        self.backfill()
        self.smoke("after the Renditions update")
        self.delete()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--zip", type=Path, help="a build to deploy instead of `make package`")
    args = parser.parse_args(argv)
    started = time.monotonic()
    # moto notes each resource type its CloudFormation skips (alarms, bucket policies):
    # the deletion and the smoke tests show what matters.
    warnings.filterwarnings("ignore", message=r"Tried to parse AWS::", category=UserWarning)
    with Emulator(0) as emulator:
        print(f"embedded emulator at {emulator.endpoint_url} (no AWS account is used)")
        rehearsal = Rehearsal(emulator.endpoint_url, args.zip)
        try:
            rehearsal.all()
        except Failed as error:
            print(f"\nREHEARSAL FAILED at step {rehearsal.step_number}: {error}", file=sys.stderr)
            return 1
        finally:
            if rehearsal.poller is not None:
                rehearsal.poller.stop()
    print(f"\n{rehearsal.step_number} steps in {time.monotonic() - started:.0f} s")
    print("rehearsal passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
