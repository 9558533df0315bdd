#!/usr/bin/env python3
"""Write the parameters file for one environment's stack deploy of one packaged build.

    python scripts/stack_parameters.py --manifest dist/<zip>.manifest.json \
        --parameters infra/parameters/dev.json --code-bucket my-artifacts --out params.json

Starts from infra/parameters/<env>.json and sets what belongs to the build, not to the
environment: CodeBucket, CodeKey (the content-addressed key of the zip), and Runtime and
Architecture from the manifest, so the function always runs the Python and CPU the zip was
built for. Writes the list-of-{ParameterKey, ParameterValue} form that both the AWS Toolkit
task (templateParametersFile) and `aws cloudformation create-change-set` read.

`--verify` (needs boto3 and read access to the artifact bucket) downloads the object the
deploy will name, checks its SHA-256 against the manifest right there, and pins
CodeVersion to that object version: the function deploys exactly the bytes that were
checked, whatever happens to the key afterwards. It also checks the build's template at
its `template_key` (templates/<sha256>.yaml, put there by scripts/publish_artifact.py)
holds the bytes its key names, and prints the TemplateURL the deploy sends CloudFormation
(in Azure Pipelines also as the job variable `templateUrl`): the template goes by URL,
never as a body, whose 51,200-byte limit it outgrows. Without --verify, the script needs
only the standard library.

`--code-signing-config ARN` (with --verify) deploys the build's signed zip instead:
the record scripts/publish_artifact.py --signing-profile wrote names its key and
version, whose SHA-256 is checked the same way; CodeSigningConfigArn is set, and Lambda
then checks the signature itself.

`--set Key=Value` adds what the repository does not hold (prod's AlarmEmail, from the
pipeline's variable group). Accepted inputs: that same list, a plain {"Key": "value"}
object, or CodePipeline's template configuration {"Parameters": {...}}. Standard library
only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from artifact_keys import template_key, template_url  # sibling scripts: scripts/ is on sys.path
from publish_artifact import (
    find_manifest,
    pipeline_value,
    signed_record_key,
)


def load_parameters(path: Path) -> dict[str, str]:
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and isinstance(data.get("Parameters"), dict):
        data = data["Parameters"]
    if isinstance(data, dict):
        return {str(k): str(v) for k, v in data.items()}
    if isinstance(data, list) and all(isinstance(p, dict) and "ParameterKey" in p for p in data):
        return {str(p["ParameterKey"]): str(p["ParameterValue"]) for p in data}
    raise SystemExit(
        f"{path}: expected a list of {{ParameterKey, ParameterValue}} or a key/value object"
    )


def parse_settings(items: list[str]) -> dict[str, str]:
    """``--set Key=Value`` items (the value may be empty, e.g. ``AlarmEmail=``)."""
    settings = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise SystemExit(f"--set {item!r}: expected Key=Value")
        settings[key] = value
    return settings


def signed_code(s3: Any, bucket: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """What to deploy with code signing: the signed zip's key and SHA-256, from its record."""
    record_key = signed_record_key(str(manifest["code_key"]))
    try:
        record = json.loads(s3.get_object(Bucket=bucket, Key=record_key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        raise SystemExit(
            f"s3://{bucket}/{record_key} is missing: publish with --signing-profile"
        ) from None
    return {"code_key": record["code_key"], "sha256": record["sha256"]}


def verify_code(s3: Any, bucket: str, manifest: dict[str, Any]) -> str:
    """The version id of the code object, after checking its bytes match the manifest."""
    key = str(manifest["code_key"])
    found = s3.get_object(Bucket=bucket, Key=key)
    version = str(found.get("VersionId") or "null")
    if version == "null":
        raise SystemExit(f"s3://{bucket}/{key} has no version id: turn versioning on (bootstrap)")
    digest = hashlib.sha256()
    for chunk in found["Body"].iter_chunks(1 << 20):
        digest.update(chunk)
    if digest.hexdigest() != manifest["sha256"]:
        raise SystemExit(
            f"s3://{bucket}/{key} version {version} has sha256 {digest.hexdigest()}, not the "
            f"build's {manifest['sha256']}: refusing to deploy it"
        )
    print(f"verified s3://{bucket}/{key} version {version}: sha256 {manifest['sha256']}")
    return version


def verify_template(s3: Any, bucket: str, manifest: dict[str, Any]) -> str:
    """The TemplateURL of the build's template, after checking the object holds its bytes."""
    key = str(manifest.get("template_key", ""))
    if not key:
        raise SystemExit("the manifest names no template_key: rebuild with `make package`")
    try:
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        raise SystemExit(f"s3://{bucket}/{key} is missing: publish the build first") from None
    if template_key(hashlib.sha256(data).hexdigest()) != key:
        raise SystemExit(f"s3://{bucket}/{key} holds other bytes than its key names: refusing")
    url = template_url(bucket, str(s3.meta.region_name), key)
    print(f"verified s3://{bucket}/{key}: TemplateURL {url}")
    return url


def build_parameters(
    manifest: dict[str, Any], base: dict[str, str], code_bucket: str
) -> dict[str, str]:
    if manifest.get("host_build"):
        raise SystemExit("refusing to deploy a --host build: run `make package` without --host")
    params = dict(base)
    params.update(
        CodeBucket=code_bucket,
        CodeKey=str(manifest["code_key"]),
        Runtime=str(manifest["runtime"]),
        Architecture=str(manifest["arch"]),
    )
    return params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--manifest", type=Path, required=True, help="a *.manifest.json, or the folder holding one"
    )
    parser.add_argument(
        "--parameters", type=Path, required=True, help="infra/parameters/<env>.json"
    )
    parser.add_argument("--code-bucket", required=True, help="the artifact bucket")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="check the uploaded zip's SHA-256 and pin CodeVersion to that object version",
    )
    parser.add_argument(
        "--code-signing-config",
        default="",
        help="with --verify: deploy the signed zip under this CodeSigningConfig (empty: don't)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter kept out of the repository (e.g. prod's AlarmEmail); repeatable",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.manifest = find_manifest(args.manifest)

    manifest = json.loads(args.manifest.read_text(encoding="utf-8"))
    base = load_parameters(args.parameters) | parse_settings(args.set)
    params = build_parameters(manifest, base, args.code_bucket)
    args.code_signing_config = pipeline_value(args.code_signing_config, "--code-signing-config")
    if args.verify:
        import boto3  # noqa: PLC0415 (only --verify needs it)

        s3 = boto3.client("s3")
        if args.code_signing_config:
            manifest = manifest | signed_code(s3, args.code_bucket, manifest)
            params["CodeKey"] = manifest["code_key"]
            params["CodeSigningConfigArn"] = args.code_signing_config
        params["CodeVersion"] = verify_code(s3, args.code_bucket, manifest)
        url = verify_template(s3, args.code_bucket, manifest)
        if os.environ.get("TF_BUILD"):  # Azure Pipelines: the deploy steps send this URL
            print(f"##vso[task.setvariable variable=templateUrl]{url}")
        else:  # by hand (a rollback, docs/azure-devops.md): change_set.py --template-url
            print(f"TemplateURL: {url}")
    elif args.code_signing_config:
        raise SystemExit("--code-signing-config needs --verify")
    listed = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(params.items())]
    args.out.write_text(json.dumps(listed, indent=2) + "\n", encoding="utf-8")
    for item in listed:
        print(f"{item['ParameterKey']}={item['ParameterValue']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
