"""The scripts the deploy stages run: stack parameters, artifact upload, smoke test.

In-memory fakes where the behaviour is ours (the smoke test's polling and clean-up),
moto where S3's own behaviour matters (checksums on upload).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any

import artifact_keys  # scripts/, on pytest's pythonpath
import boto3
import publish_artifact  # scripts/, on pytest's pythonpath
import pytest
import smoke_test  # scripts/, on pytest's pythonpath
import stack_parameters  # scripts/, on pytest's pythonpath
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from resizer import config, layout

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def packaged(tmp_path: Path) -> Path:
    """A tiny stand-in for `make package` output: zip + manifest + template."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("resizer/handler.py", "def lambda_handler(event, context): ...\n")
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    (tmp_path / "resizer.zip").write_bytes(data)
    template = b'{"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}\n'
    (tmp_path / "template.yaml").write_bytes(template)
    manifest = {
        "zip": "resizer.zip",
        "sha256": digest,
        "code_key": f"resizer/{digest}.zip",
        "version": "0.1.0+b7.g0123456789ab",
        "build_id": "7",
        "git_sha": "0123456789ab",
        "runtime": "python3.13",
        "arch": "arm64",
        "host_build": False,
        "template_key": artifact_keys.template_key(hashlib.sha256(template).hexdigest()),
    }
    path = tmp_path / "resizer.manifest.json"
    path.write_text(json.dumps(manifest))
    return path


# ---------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    "content",
    [
        [{"ParameterKey": "Environment", "ParameterValue": "dev"}],
        {"Environment": "dev"},
        {"Parameters": {"Environment": "dev"}},
    ],
)
def test_stack_parameters_add_the_builds_code_and_target(
    packaged: Path, tmp_path: Path, content: Any
) -> None:
    env_file = tmp_path / "dev.json"
    env_file.write_text(json.dumps(content))
    out = tmp_path / "out.json"
    args = ["--manifest", str(tmp_path), "--parameters", str(env_file)]
    assert stack_parameters.main([*args, "--code-bucket", "artifacts", "--out", str(out)]) == 0
    written = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(out.read_text())}
    manifest = json.loads(packaged.read_text())
    assert written == {
        "Environment": "dev",
        "CodeBucket": "artifacts",
        "CodeKey": manifest["code_key"],
        "Runtime": "python3.13",
        "Architecture": "arm64",
    }


def test_stack_parameters_override_a_runtime_the_zip_was_not_built_for(packaged: Path) -> None:
    manifest = json.loads(packaged.read_text())
    base = {"Runtime": "python3.12", "Architecture": "x86_64", "MemorySize": "1024"}
    params = stack_parameters.build_parameters(manifest, base, "artifacts")
    assert params["Runtime"] == "python3.13"
    assert params["Architecture"] == "arm64"
    assert params["MemorySize"] == "1024"


def test_host_builds_are_never_deployed(packaged: Path) -> None:
    manifest = json.loads(packaged.read_text()) | {"host_build": True}
    with pytest.raises(SystemExit, match="--host"):
        stack_parameters.build_parameters(manifest, {}, "artifacts")


def test_the_repos_parameter_files_are_readable() -> None:
    for path in sorted((ROOT / "infra" / "parameters").glob("*.json")):
        params = stack_parameters.load_parameters(path)
        assert "CodeKey" not in params, f"{path.name}: the code key belongs to the build"


# ---------------------------------------------------------------------------- publish


@pytest.fixture
def s3() -> Any:
    with mock_aws():
        client = boto3.client(
            "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        client.create_bucket(Bucket="artifacts")
        yield client


def test_publish_uploads_under_the_content_hash_once(packaged: Path, s3: Any) -> None:
    key = publish_artifact.publish(packaged, "artifacts", s3=s3)
    manifest = json.loads(packaged.read_text())
    assert key == f"resizer/{manifest['sha256']}.zip"
    body = s3.get_object(Bucket="artifacts", Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == manifest["sha256"]
    head = s3.head_object(Bucket="artifacts", Key=key)
    assert head["Metadata"]["git-sha"] == "0123456789ab"
    assert s3.head_object(Bucket="artifacts", Key=key.replace(".zip", ".manifest.json"))
    first = s3.head_object(Bucket="artifacts", Key=key)["LastModified"]
    assert publish_artifact.publish(packaged, "artifacts", s3=s3) == key  # idempotent
    assert s3.head_object(Bucket="artifacts", Key=key)["LastModified"] == first


def test_publish_refuses_a_key_holding_other_bytes(packaged: Path, s3: Any) -> None:
    manifest = json.loads(packaged.read_text())
    s3.put_object(Bucket="artifacts", Key=manifest["code_key"], Body=b"something else")
    with pytest.raises(SystemExit, match="other content"):
        publish_artifact.publish(packaged, "artifacts", s3=s3)


def test_publish_refuses_a_zip_that_does_not_match_its_manifest(packaged: Path, s3: Any) -> None:
    (packaged.parent / "resizer.zip").write_bytes(b"tampered")
    with pytest.raises(SystemExit, match="does not match"):
        publish_artifact.publish(packaged, "artifacts", s3=s3)


def test_publish_puts_the_template_under_its_hash_once(packaged: Path, s3: Any) -> None:
    manifest = json.loads(packaged.read_text())
    publish_artifact.publish(packaged, "artifacts", s3=s3)
    key = manifest["template_key"]
    body = (packaged.parent / "template.yaml").read_bytes()
    assert key == f"templates/{hashlib.sha256(body).hexdigest()}.yaml"
    assert s3.get_object(Bucket="artifacts", Key=key)["Body"].read() == body
    first = s3.head_object(Bucket="artifacts", Key=key)["LastModified"]
    publish_artifact.publish(packaged, "artifacts", s3=s3)  # idempotent
    assert s3.head_object(Bucket="artifacts", Key=key)["LastModified"] == first


def test_publish_refuses_a_template_that_does_not_match_its_manifest(
    packaged: Path, s3: Any
) -> None:
    (packaged.parent / "template.yaml").write_text("edited after the build\n")
    with pytest.raises(SystemExit, match="template_key"):
        publish_artifact.publish(packaged, "artifacts", s3=s3)
    (packaged.parent / "template.yaml").unlink()
    with pytest.raises(SystemExit, match="missing: rebuild"):
        publish_artifact.publish(packaged, "artifacts", s3=s3)


def test_the_template_url_is_the_objects_virtual_hosted_url() -> None:
    """TemplateURL takes the object's S3 URL; the virtual-hosted form names the region
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html)."""
    key = artifact_keys.template_key("ab" * 32)
    assert key == f"templates/{'ab' * 32}.yaml"
    assert artifact_keys.template_url("my-artifacts", "eu-west-1", key) == (
        f"https://my-artifacts.s3.eu-west-1.amazonaws.com/templates/{'ab' * 32}.yaml"
    )
    assert artifact_keys.code_key("ab" * 32) == f"resizer/{'ab' * 32}.zip"


# ---------------------------------------------------------------------------- smoke test


class FakeS3:
    """The few S3 calls the smoke test makes; `on_upload` plays the deployed function."""

    def __init__(self, on_upload: Any = None) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.on_upload = on_upload

    def put_object(self, Bucket: str, Key: str, Body: bytes, **kw: Any) -> None:
        self.objects[(Bucket, Key)] = {"Body": Body, "Metadata": {}, **kw}
        if self.on_upload and Bucket == "src":
            self.on_upload(self, Key)

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if (Bucket, Key) not in self.objects:
            raise ClientError({"Error": {"Code": "404"}}, "HeadObject")
        return {k: v for k, v in self.objects[(Bucket, Key)].items() if k != "Body"}

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if (Bucket, Key) not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)]["Body"])}

    def delete_object(self, Bucket: str, Key: str) -> None:
        self.objects.pop((Bucket, Key), None)


# The README's grammar: formats, cover, an unbounded side (issue 18 item 2).
RENDITIONS = "thumbnails=200x200:cover:format=webp+avif,large=1600x:format=original+webp"
TARGET = smoke_test.Target("src", "dst", smoke_test.parse_renditions(RENDITIONS))
IMAGE = ROOT / "examples" / "photos" / "Wine_by_Jakkub_Mede.jpg"
TYPES = {"JPEG": "image/jpeg", "WEBP": "image/webp", "AVIF": "image/avif"}


def resizer(outputs: list[tuple[str, str, int, int]], *, missing: str | None = None) -> Any:
    """The deployed function: renditions at keys of its choosing, and their manifest.

    The keys are random: the smoke test must read them from the manifest, never spell them.
    """

    def on_upload(s3: FakeS3, key: str) -> None:
        entries = []
        for name, fmt, width, height in outputs:
            out_key = f"{uuid.uuid4().hex}/{name}"
            entries.append(
                {
                    "name": name,
                    "key": out_key,
                    "format": fmt,
                    "content_type": TYPES[fmt],
                    "width": width,
                    "height": height,
                }
            )
            if name != missing:
                s3.objects[("dst", out_key)] = {"ContentType": TYPES[fmt], "Body": b"x"}
        manifest = json.dumps({"version": 1, "renditions": entries}).encode()
        s3.objects[("dst", smoke_test.manifest_key(key))] = {"Body": manifest}

    return on_upload


EVERY_FORMAT = [
    ("thumbnails", "WEBP", 200, 200),
    ("thumbnails", "AVIF", 200, 200),
    ("large", "JPEG", 1600, 1067),
    ("large", "WEBP", 1600, 1067),
]


def test_smoke_passes_when_every_format_of_every_rendition_arrives_and_cleans_up() -> None:
    s3 = FakeS3(resizer(EVERY_FORMAT))
    assert smoke_test.run(s3, TARGET, IMAGE, timeout=1, poll=0.01) == []
    assert s3.objects == {}  # the photo, every listed object and the manifest


def test_smoke_looks_for_the_manifest_at_least_once_however_long_the_upload_took() -> None:
    """The timeout counts from before the upload: an upload slower than it (a loaded
    machine, a slow link) must not end the wait before the manifest was ever read."""
    s3 = FakeS3(resizer(EVERY_FORMAT))
    assert smoke_test.run(s3, TARGET, IMAGE, timeout=0, poll=0.01) == []
    assert s3.objects == {}


def test_smoke_fails_on_a_missing_format_and_still_cleans_up() -> None:
    s3 = FakeS3(resizer(EVERY_FORMAT[:1] + EVERY_FORMAT[2:]))  # no AVIF thumbnail
    problems = smoke_test.run(s3, TARGET, IMAGE, timeout=0.05, poll=0.01)
    assert problems == [
        "thumbnails: the manifest lists ['WEBP'], the configuration asks for webp+avif"
    ]
    assert s3.objects == {}


def test_smoke_fails_on_a_listed_object_that_does_not_exist() -> None:
    s3 = FakeS3(resizer(EVERY_FORMAT, missing="large"))
    problems = smoke_test.run(s3, TARGET, IMAGE, timeout=0.05, poll=0.01)
    assert len(problems) == 2
    assert all("listed in the manifest but does not exist" in p for p in problems)


def test_smoke_fails_on_a_rendition_larger_than_its_box() -> None:
    outputs = [("thumbnails", "WEBP", 300, 200), *EVERY_FORMAT[1:]]
    problems = smoke_test.run(FakeS3(resizer(outputs)), TARGET, IMAGE, timeout=0.05, poll=0.01)
    assert [p for p in problems if "does not fit" in p] == [
        next(p for p in problems if p.endswith("300x200 does not fit 200x200"))
    ]


def test_smoke_fails_when_nothing_is_deployed() -> None:
    problems = smoke_test.run(FakeS3(), TARGET, IMAGE, timeout=0.05, poll=0.01)
    assert len(problems) == 1
    assert "did not appear" in problems[0]


def test_smoke_parses_renditions_with_the_functions_grammar() -> None:
    assert smoke_test.parse_renditions is config.parse_renditions
    (thumbnails,) = smoke_test.parse_renditions("thumbnails=200x200:cover:format=webp+avif")
    assert (thumbnails.fit, thumbnails.formats) == ("cover", ("webp", "avif"))


def test_smoke_imports_without_pillow() -> None:
    # The pipeline runs it with .deploy/bin/python: boto3 and nothing else.
    code = (
        "import sys; sys.modules['PIL'] = None; sys.path.insert(0, 'scripts'); "
        "import smoke_test; print(len(smoke_test.parse_renditions('a=1x1:format=webp+avif')), "
        "smoke_test.manifest_key('a.jpg'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    count, key = done.stdout.split()
    assert count == "1"
    assert key == layout.manifest_key("a.jpg")


def test_smoke_reads_the_live_alias_configuration_from_the_stack() -> None:
    class Fake:
        def describe_stacks(self, StackName: str) -> dict[str, Any]:
            outputs = {"SourceBucketName": "s", "DestinationBucketName": "d", "FunctionName": "f"}
            items = [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]
            return {"Stacks": [{"StackName": StackName, "Outputs": items}]}

        def get_function_configuration(
            self, FunctionName: str, Qualifier: str = "$LATEST"
        ) -> dict[str, Any]:
            # $LATEST may run ahead of what the queue invokes (the live alias).
            value = {"live": "small=64x64:format=webp+avif", "$LATEST": "other=1x1"}[Qualifier]
            return {"Environment": {"Variables": {"RENDITIONS": value}}}

    args = smoke_test.argparse.Namespace(
        stack_name="resizer-dev",
        source_bucket=None,
        destination_bucket=None,
        function_name=None,
        renditions=None,
        dead_letter_queue_url=None,
    )
    target = smoke_test.resolve_target(args, lambda _service: Fake())
    expected = config.parse_renditions("small=64x64:format=webp+avif")
    assert target == smoke_test.Target("s", "d", expected, None)


@pytest.mark.parametrize("flag", ["host_build", "dirty"])
def test_publish_refuses_host_and_dirty_builds(packaged: Path, s3: Any, flag: str) -> None:
    packaged.write_text(json.dumps(json.loads(packaged.read_text()) | {flag: True}))
    with pytest.raises(SystemExit, match="refusing"):
        publish_artifact.publish(packaged, "artifacts", s3=s3)


def test_stack_parameters_take_settings_kept_out_of_the_repository(
    packaged: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.json"
    args = ["--manifest", str(packaged), "--parameters", str(ROOT / "infra/parameters/prod.json")]
    args += ["--code-bucket", "artifacts", "--out", str(out), "--set", "AlarmEmail=ops@example.com"]
    assert stack_parameters.main(args) == 0
    written = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(out.read_text())}
    assert written["AlarmEmail"] == "ops@example.com"
    assert written["Environment"] == "prod"
    with pytest.raises(SystemExit, match="Key=Value"):
        stack_parameters.parse_settings(["AlarmEmail"])
    assert stack_parameters.parse_settings(["AlarmEmail="]) == {"AlarmEmail": ""}


# ---------------------------------------------------------------------------- verify


@pytest.fixture
def versioned(s3: Any) -> Any:
    s3.put_bucket_versioning(Bucket="artifacts", VersioningConfiguration={"Status": "Enabled"})
    return s3


def test_verify_pins_the_version_whose_bytes_match(packaged: Path, versioned: Any) -> None:
    manifest = json.loads(packaged.read_text())
    key = publish_artifact.publish(packaged, "artifacts", s3=versioned)
    version = versioned.head_object(Bucket="artifacts", Key=key)["VersionId"]
    assert stack_parameters.verify_code(versioned, "artifacts", manifest) == version


def test_verify_refuses_other_bytes_under_the_key(packaged: Path, versioned: Any) -> None:
    manifest = json.loads(packaged.read_text())
    publish_artifact.publish(packaged, "artifacts", s3=versioned)
    # Someone with write access overwrote the key: a new version with other bytes.
    versioned.put_object(Bucket="artifacts", Key=manifest["code_key"], Body=b"not the build")
    with pytest.raises(SystemExit, match="refusing to deploy"):
        stack_parameters.verify_code(versioned, "artifacts", manifest)


def test_verify_refuses_an_unversioned_bucket(packaged: Path, s3: Any) -> None:
    manifest = json.loads(packaged.read_text())
    publish_artifact.publish(packaged, "artifacts", s3=s3)
    with pytest.raises(SystemExit, match="no version id"):
        stack_parameters.verify_code(s3, "artifacts", manifest)


def test_verify_gives_the_url_of_the_checked_template(packaged: Path, versioned: Any) -> None:
    manifest = json.loads(packaged.read_text())
    publish_artifact.publish(packaged, "artifacts", s3=versioned)
    url = stack_parameters.verify_template(versioned, "artifacts", manifest)
    assert url == artifact_keys.template_url("artifacts", "us-east-1", manifest["template_key"])


def test_verify_refuses_a_template_missing_or_other_bytes_under_its_key(
    packaged: Path, versioned: Any
) -> None:
    manifest = json.loads(packaged.read_text())
    with pytest.raises(SystemExit, match="is missing: publish"):
        stack_parameters.verify_template(versioned, "artifacts", manifest)
    versioned.put_object(Bucket="artifacts", Key=manifest["template_key"], Body=b"{}")
    with pytest.raises(SystemExit, match="other bytes"):
        stack_parameters.verify_template(versioned, "artifacts", manifest)
    with pytest.raises(SystemExit, match="no template_key"):
        stack_parameters.verify_template(versioned, "artifacts", manifest | {"template_key": ""})


@pytest.mark.parametrize(
    ("tf_build", "expected"),
    [
        ("True", "##vso[task.setvariable variable=templateUrl]{url}"),
        # docs/azure-devops.md's rollback by hand passes this URL to change_set.py create.
        (None, "TemplateURL: {url}\n"),
    ],
    ids=["pipeline variable", "by hand"],
)
def test_verify_gives_the_template_url(
    packaged: Path, versioned: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, tf_build: str | None, expected: str,
) -> None:  # fmt: skip
    manifest = json.loads(packaged.read_text())
    publish_artifact.publish(packaged, "artifacts", s3=versioned)
    monkeypatch.setattr(boto3, "client", lambda service, **_: versioned)
    if tf_build:
        monkeypatch.setenv("TF_BUILD", tf_build)
    else:
        monkeypatch.delenv("TF_BUILD", raising=False)
    capsys.readouterr()
    args = ["--manifest", str(packaged), "--parameters", str(ROOT / "infra/parameters/prod.json")]
    args += ["--code-bucket", "artifacts", "--verify", "--out", str(tmp_path / "params.json")]
    assert stack_parameters.main(args) == 0
    url = artifact_keys.template_url("artifacts", "us-east-1", manifest["template_key"])
    out = capsys.readouterr().out
    assert expected.format(url=url) in out
    assert ("##vso[" in out) == bool(tf_build)


# ---------------------------------------------------------------------------- code signing

SIGNED_KEY = "resizer/signed/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0.zip"


def stubbed_signer(bucket: str, key: str, version: str) -> tuple[Any, Stubber]:
    """AWS Signer, stubbed: botocore checks every request and answer against the API model."""
    signer = boto3.client(
        "signer", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(signer)
    job = SIGNED_KEY.rsplit("/", 1)[1].removesuffix(".zip")
    stub.add_response(
        "start_signing_job",
        {"jobId": job},
        {
            "source": {"s3": {"bucketName": bucket, "key": key, "version": version}},
            "destination": {"s3": {"bucketName": bucket, "prefix": "resizer/signed/"}},
            "profileName": "resizer_profile",
        },
    )
    done = {"jobId": job, "status": "Succeeded"}
    signed = done | {"signedObject": {"s3": {"bucketName": bucket, "key": SIGNED_KEY}}}
    stub.add_response("describe_signing_job", done, {"jobId": job})  # the waiter
    stub.add_response("describe_signing_job", signed, {"jobId": job})
    stub.activate()
    return signer, stub


def test_signing_records_the_signed_zip_and_deploys_check_it(
    packaged: Path, versioned: Any, tmp_path: Path
) -> None:
    manifest = json.loads(packaged.read_text())
    key = publish_artifact.publish(packaged, "artifacts", s3=versioned)
    version = versioned.head_object(Bucket="artifacts", Key=key)["VersionId"]
    signer, stub = stubbed_signer("artifacts", key, version)
    # What Signer writes: the zip with its signature (other bytes than the build's).
    versioned.put_object(Bucket="artifacts", Key=SIGNED_KEY, Body=b"signed zip bytes")

    record = publish_artifact.sign(versioned, signer, "artifacts", key, "resizer_profile")

    stub.assert_no_pending_responses()
    assert record["code_key"] == SIGNED_KEY
    assert record["sha256"] == hashlib.sha256(b"signed zip bytes").hexdigest()
    assert record["source_version"] == version
    stored = versioned.get_object(Bucket="artifacts", Key=key.replace(".zip", ".signed.json"))
    assert json.loads(stored["Body"].read()) == record
    # The deploy names the signed zip's key and verifies its bytes against the record.
    signed = manifest | stack_parameters.signed_code(versioned, "artifacts", manifest)
    assert signed["code_key"] == SIGNED_KEY
    assert stack_parameters.verify_code(versioned, "artifacts", signed) == record["code_version"]
    versioned.put_object(Bucket="artifacts", Key=SIGNED_KEY, Body=b"re-signed by someone else")
    with pytest.raises(SystemExit, match="refusing to deploy"):
        stack_parameters.verify_code(versioned, "artifacts", signed)


def test_a_signed_deploy_without_a_signing_record_is_refused(
    packaged: Path, versioned: Any
) -> None:
    manifest = json.loads(packaged.read_text())
    publish_artifact.publish(packaged, "artifacts", s3=versioned)
    with pytest.raises(SystemExit, match="publish with --signing-profile"):
        stack_parameters.signed_code(versioned, "artifacts", manifest)


def test_stack_parameters_cli_deploys_the_signed_zip_under_the_config(
    packaged: Path, versioned: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    key = publish_artifact.publish(packaged, "artifacts", s3=versioned)
    version = versioned.head_object(Bucket="artifacts", Key=key)["VersionId"]
    signer, _ = stubbed_signer("artifacts", key, version)
    versioned.put_object(Bucket="artifacts", Key=SIGNED_KEY, Body=b"signed zip bytes")
    record = publish_artifact.sign(versioned, signer, "artifacts", key, "resizer_profile")
    config = "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0"
    out = tmp_path / "out.json"
    args = ["--manifest", str(packaged), "--parameters", str(ROOT / "infra/parameters/dev.json")]
    args += ["--code-bucket", "artifacts", "--out", str(out), "--verify"]
    assert stack_parameters.main([*args, "--code-signing-config", config]) == 0
    written = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(out.read_text())}
    assert written["CodeKey"] == SIGNED_KEY
    assert written["CodeVersion"] == record["code_version"]
    assert written["CodeSigningConfigArn"] == config
    assert stack_parameters.main(args) == 0  # unsigned: the build's own zip, pinned
    written = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(out.read_text())}
    assert written["CodeKey"] == key
    assert "CodeSigningConfigArn" not in written


def test_an_undefined_pipeline_variable_is_not_taken_for_a_value() -> None:
    assert publish_artifact.pipeline_value("", "--signing-profile") == ""
    assert publish_artifact.pipeline_value("resizer_x", "--signing-profile") == "resizer_x"
    with pytest.raises(SystemExit, match="not defined"):
        publish_artifact.pipeline_value("$(signingProfile)", "--signing-profile")
