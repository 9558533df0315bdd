#!/usr/bin/env python3
"""Upload a packaged build to the artifact bucket under its content-addressed key.

    python scripts/publish_artifact.py --manifest dist/<zip>.manifest.json --bucket my-artifacts

Puts the zip at the manifest's `code_key` (resizer/<sha256>.zip) and the manifest beside it
(resizer/<sha256>.manifest.json), and the build's template.yaml at the manifest's
`template_key` (templates/<sha256>.yaml; scripts/artifact_keys.py): deploys send
CloudFormation its URL, not its body. The key is the hash of the bytes, so an upload is
idempotent: if the object is there with the same SHA-256 it is left alone, and a key can
never hold two different builds. Object metadata records version, build id and git sha;
with bucket versioning on, every deploy is traceable and a rollback is a redeploy of an
older key. S3 checks the SHA-256 on arrival (ChecksumSHA256).

With --signing-profile (the bootstrap's SigningProfileName, CodeSigning=true), AWS Signer
signs that object version into resizer/signed/<job id>.zip, and a record of the signed zip
(key, version, SHA-256) goes to resizer/<sha256>.signed.json: what a deploy with code
signing names and verifies (scripts/stack_parameters.py --code-signing-config).

Honours AWS_ENDPOINT_URL like any boto3 program, so it runs against the local emulator.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
from artifact_keys import TEMPLATE_PREFIX, template_key
from botocore.exceptions import ClientError


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def put_once(
    s3: Any, bucket: str, key: str, data: bytes, *, content_type: str, metadata: dict[str, str]
) -> None:
    """Put ``data`` at its content-addressed ``key`` unless the same bytes are there
    (``metadata["sha256-b64"]`` is their checksum, which S3 verifies on the upload)."""
    checksum = metadata["sha256-b64"]
    if already_there(s3, bucket, key, checksum):
        print(f"s3://{bucket}/{key} already holds these bytes (same sha256): not uploaded again")
        return
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentType=content_type,
        ChecksumSHA256=checksum,
        Metadata=metadata,
    )
    print(f"uploaded s3://{bucket}/{key} ({len(data)} bytes)")


def already_there(s3: Any, bucket: str, key: str, sha256_b64: str) -> bool:
    try:
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    stored = head.get("ChecksumSHA256") or head.get("Metadata", {}).get("sha256-b64")
    if stored != sha256_b64:
        raise SystemExit(
            f"s3://{bucket}/{key} exists with other content (sha256 {stored!r}): the key is "
            "content-addressed, so this means tampering or a hash collision; investigate"
        )
    return True


def publish(manifest_path: Path, bucket: str, s3: Any = None) -> str:
    s3 = s3 or boto3.client("s3")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("host_build"):
        raise SystemExit("refusing to publish a --host build: it is for tests only")
    if manifest.get("dirty"):
        raise SystemExit("refusing to publish a build of uncommitted sources: commit, rebuild")
    zip_path = manifest_path.parent / manifest["zip"]
    data = zip_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != manifest["sha256"]:
        raise SystemExit(f"{zip_path} does not match its manifest's sha256: rebuild it")
    key = str(manifest["code_key"])
    checksum = b64_sha256(data)
    metadata = {
        "version": str(manifest["version"]),
        "build-id": str(manifest["build_id"]),
        "git-sha": str(manifest["git_sha"]),
        "runtime": str(manifest["runtime"]),
        "arch": str(manifest["arch"]),
        "sha256-b64": checksum,
    }
    put_once(s3, bucket, key, data, content_type="application/zip", metadata=metadata)
    manifest_key = key.removesuffix(".zip") + ".manifest.json"
    s3.put_object(
        Bucket=bucket,
        Key=manifest_key,
        Body=manifest_path.read_bytes(),
        ContentType="application/json",
        Metadata=metadata,
    )
    print(f"uploaded s3://{bucket}/{manifest_key}")
    publish_template(manifest_path.parent / "template.yaml", manifest, bucket, s3)
    return key


def publish_template(path: Path, manifest: dict[str, Any], bucket: str, s3: Any) -> str:
    """Put the build's template at its content-addressed key (once); return the key."""
    if not path.is_file() or "template_key" not in manifest:
        raise SystemExit(f"{path} or the manifest's template_key is missing: rebuild the package")
    data = path.read_bytes()
    key = template_key(hashlib.sha256(data).hexdigest())
    if key != manifest["template_key"] or not key.startswith(TEMPLATE_PREFIX):
        raise SystemExit(f"{path} does not match its manifest's template_key: rebuild it")
    metadata = {"git-sha": str(manifest["git_sha"]), "sha256-b64": b64_sha256(data)}
    put_once(s3, bucket, key, data, content_type="application/x-yaml", metadata=metadata)
    return key


SIGNED_PREFIX = "resizer/signed/"


def pipeline_value(value: str, option: str) -> str:
    """``value``, unless it is an Azure Pipelines macro left unexpanded (an undefined variable)."""
    if value.startswith("$("):
        raise SystemExit(
            f"{option} got {value!r}: the pipeline variable is not defined; define it in the "
            "variable group (empty switches code signing off)"
        )
    return value


def signed_record_key(code_key: str) -> str:
    """Where the record of a build's signed zip lives, beside its manifest."""
    return code_key.removesuffix(".zip") + ".signed.json"


def sign(s3: Any, signer: Any, bucket: str, key: str, profile: str) -> dict[str, str]:
    """Sign the current version of ``key`` with ``profile``; record and return the result."""
    version = str(s3.head_object(Bucket=bucket, Key=key)["VersionId"])
    job = signer.start_signing_job(
        source={"s3": {"bucketName": bucket, "key": key, "version": version}},
        destination={"s3": {"bucketName": bucket, "prefix": SIGNED_PREFIX}},
        profileName=profile,
    )["jobId"]
    signer.get_waiter("successful_signing_job").wait(jobId=job, WaiterConfig={"Delay": 5})
    signed_key = str(signer.describe_signing_job(jobId=job)["signedObject"]["s3"]["key"])
    found = s3.get_object(Bucket=bucket, Key=signed_key)
    record = {
        "code_key": signed_key,
        "code_version": str(found["VersionId"]),
        "sha256": hashlib.sha256(found["Body"].read()).hexdigest(),
        "signing_job": str(job),
        "source_version": version,
    }
    s3.put_object(
        Bucket=bucket,
        Key=signed_record_key(key),
        Body=json.dumps(record, indent=2).encode(),
        ContentType="application/json",
    )
    print(f"signed s3://{bucket}/{key} ({version}) -> s3://{bucket}/{signed_key} (job {job})")
    return record


def find_manifest(path: Path) -> Path:
    """The manifest itself, or the only one in a folder (a downloaded pipeline artifact)."""
    if path.is_dir():
        found = sorted(path.glob("*.manifest.json"))
        if len(found) != 1:
            raise SystemExit(f"expected exactly one *.manifest.json in {path}, found {len(found)}")
        return found[0]
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--manifest", type=Path, required=True, help="a *.manifest.json, or the folder holding one"
    )
    parser.add_argument("--bucket", required=True)
    parser.add_argument(
        "--signing-profile", default="", help="sign with this AWS Signer profile (empty: don't)"
    )
    args = parser.parse_args(argv)
    args.manifest = find_manifest(args.manifest)
    key = publish(args.manifest, args.bucket)
    if pipeline_value(args.signing_profile, "--signing-profile"):
        sign(boto3.client("s3"), boto3.client("signer"), args.bucket, key, args.signing_profile)
    if os.environ.get("TF_BUILD"):  # Azure Pipelines: hand the key to later steps
        print(f"##vso[task.setvariable variable=codeKey;isOutput=true]{key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
