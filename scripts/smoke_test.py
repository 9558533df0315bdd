#!/usr/bin/env python3
"""Smoke-test a deployed resizer: upload one photo, wait for every rendition, clean up.

    python scripts/smoke_test.py --stack-name resizer-dev
    python scripts/smoke_test.py --source-bucket SRC --destination-bucket DST \
        --renditions 'thumbnails=200x200:cover:format=webp+avif,large=1600x1600'

With --stack-name, the buckets and the function come from the stack outputs
(SourceBucketName, DestinationBucketName, FunctionName); the renditions are the ones
the queue's invocations run: RENDITIONS of the function's ``live`` alias (the version
the event source mapping invokes), parsed with the function's own grammar
(:func:`resizer.config.parse_renditions`), so every value the README allows works here.

The photo's manifest tells where each rendition went (this script spells no key but
the one the function's layout gives for the manifest). Checked: the manifest lists
every format of every rendition, each listed object exists, is an image of its
Content-Type, and fits its box. Exit status 0 when everything arrived within --timeout
seconds, 1 otherwise. The uploaded photo, its renditions and its manifest are deleted
either way.

Uses boto3 and the function's pure modules (``src/``; no Pillow needed), and honours
AWS_ENDPOINT_URL, so it runs against the local stack and ``make rehearse`` too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))  # the function's grammar and key layout

from resizer.config import Rendition, parse_renditions  # noqa: E402
from resizer.layout import manifest_key  # noqa: E402

DEFAULT_IMAGE = ROOT / "examples" / "photos" / "Wine_by_Jakkub_Mede.jpg"
DEFAULT_RENDITIONS = "thumbnails=150x150,medium=800x800,large=1600x1600"
LIVE_ALIAS = "live"  # what the template's event source mapping invokes


@dataclass(frozen=True)
class Target:
    source_bucket: str
    destination_bucket: str
    renditions: tuple[Rendition, ...]
    dead_letter_queue_url: str | None = None


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def deployed_renditions(lambda_client: Any, function_name: str) -> str | None:
    """RENDITIONS of the version ``live`` points to ($LATEST when there is no alias)."""
    try:
        config = lambda_client.get_function_configuration(
            FunctionName=function_name, Qualifier=LIVE_ALIAS
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        config = lambda_client.get_function_configuration(FunctionName=function_name)
    value = config.get("Environment", {}).get("Variables", {}).get("RENDITIONS")
    return str(value) if value else None


def resolve_target(args: argparse.Namespace, client: Callable[[str], Any]) -> Target:
    outputs: dict[str, str] = {}
    if args.stack_name:
        outputs = stack_outputs(client("cloudformation"), args.stack_name)
    source = args.source_bucket or outputs.get("SourceBucketName")
    destination = args.destination_bucket or outputs.get("DestinationBucketName")
    if not source or not destination:
        raise SystemExit("give --stack-name, or --source-bucket and --destination-bucket")
    renditions = args.renditions
    function = args.function_name or outputs.get("FunctionName")
    if not renditions and function:
        renditions = deployed_renditions(client("lambda"), function)
    return Target(
        source,
        destination,
        parse_renditions(renditions or DEFAULT_RENDITIONS),
        args.dead_letter_queue_url or outputs.get("DeadLetterQueueUrl"),
    )


def head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return dict(s3.head_object(Bucket=bucket, Key=key))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def read_manifest(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    manifest = json.loads(body)
    return manifest if isinstance(manifest, dict) else None


def check_manifest(renditions: tuple[Rendition, ...], manifest: dict[str, Any]) -> list[str]:
    """Every format of every rendition listed (and nothing else), each fitting its box."""
    problems = []
    entries = [e for e in manifest.get("renditions") or [] if isinstance(e, dict)]
    for rendition in renditions:
        listed = [e for e in entries if e.get("name") == rendition.name]
        formats = sorted(str(e.get("format", "")).upper() for e in listed)
        named = [f.upper() for f in rendition.formats if f != "original"]
        missing = [f for f in named if f not in formats]
        if len(listed) != len(rendition.formats) or missing:
            problems.append(
                f"{rendition.name}: the manifest lists {formats or 'nothing'}, "
                f"the configuration asks for {'+'.join(rendition.formats)}"
            )
        for entry in listed:
            width, height = int(entry.get("width", 0)), int(entry.get("height", 0))
            box_w, box_h = rendition.width, rendition.height
            if (box_w and width > box_w) or (box_h and height > box_h):
                problems.append(
                    f"{entry.get('key')}: {width}x{height} does not fit {box_w or ''}x{box_h or ''}"
                )
    names = {r.name for r in renditions}
    problems.extend(
        f"{e.get('key')}: rendition {e.get('name')!r} is not configured"
        for e in entries
        if e.get("name") not in names
    )
    return problems


def check_object(entry: dict[str, Any], found: dict[str, Any] | None, bucket: str) -> str | None:
    """A problem with an object the manifest lists, or None when it looks right."""
    key = entry.get("key")
    if found is None:
        return f"s3://{bucket}/{key} is listed in the manifest but does not exist"
    content_type = str(found.get("ContentType", ""))
    if not content_type.startswith("image/"):
        return f"{key}: Content-Type {content_type!r} is not an image"
    if entry.get("content_type") and content_type != entry["content_type"]:
        return f"{key}: Content-Type {content_type!r}, the manifest says {entry['content_type']!r}"
    return None


def run(
    s3: Any,
    target: Target,
    image: Path,
    timeout: float,
    *,
    prefix: str = "smoke-test/",
    poll: float = 2.0,
    sqs: Any = None,
) -> list[str]:
    """Upload, wait for the manifest, check it and every object it lists, clean up.

    Returns the problems found (empty: success).
    """
    key = f"{prefix}{uuid.uuid4().hex}{image.suffix.lower()}"
    where = manifest_key(key)
    problems: list[str] = []
    manifest: dict[str, Any] | None = None
    started = time.monotonic()
    print(f"uploading s3://{target.source_bucket}/{key} ({image.stat().st_size} bytes)")
    s3.put_object(
        Bucket=target.source_bucket, Key=key, Body=image.read_bytes(), ContentType="image/jpeg"
    )
    try:
        deadline = started + timeout
        while True:  # read at least once, however long the upload took
            manifest = read_manifest(s3, target.destination_bucket, where)
            if manifest is not None and not check_manifest(target.renditions, manifest):
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(poll)
        if manifest is None:
            problems.append(
                f"s3://{target.destination_bucket}/{where} did not appear within {timeout:.0f} s"
            )
        else:
            print(f"  {where} after {time.monotonic() - started:.1f} s")
            problems.extend(check_manifest(target.renditions, manifest))
            for entry in manifest.get("renditions") or []:
                found = head(s3, target.destination_bucket, str(entry.get("key")))
                problem = check_object(entry, found, target.destination_bucket)
                if problem is not None:
                    problems.append(problem)
                elif found is not None:
                    print(
                        f"  {entry['key']}: {entry.get('format')} {entry.get('width')}x"
                        f"{entry.get('height')}, {found.get('ContentLength')} bytes"
                    )
        if problems and sqs is not None and target.dead_letter_queue_url:
            attrs = sqs.get_queue_attributes(
                QueueUrl=target.dead_letter_queue_url,
                AttributeNames=["ApproximateNumberOfMessages"],
            )["Attributes"]
            problems.append(
                f"dead-letter queue holds {attrs.get('ApproximateNumberOfMessages')} message(s): "
                "read the function's logs for the key above"
            )
    finally:
        s3.delete_object(Bucket=target.source_bucket, Key=key)
        listed = [str(e.get("key")) for e in (manifest or {}).get("renditions") or []]
        for out_key in [*listed, where]:
            s3.delete_object(Bucket=target.destination_bucket, Key=out_key)
        print(f"cleaned up {key}, its renditions and its manifest")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--stack-name")
    parser.add_argument("--source-bucket")
    parser.add_argument("--destination-bucket")
    parser.add_argument("--function-name")
    parser.add_argument("--dead-letter-queue-url")
    parser.add_argument(
        "--renditions", help=f"default: the live alias's, else {DEFAULT_RENDITIONS}"
    )
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--prefix", default="smoke-test/")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between checks")
    args = parser.parse_args(argv)

    session = boto3.session.Session()
    target = resolve_target(args, session.client)
    print(
        f"source {target.source_bucket}, destination {target.destination_bucket}, renditions "
        + ", ".join(str(r) for r in target.renditions)
    )
    problems = run(
        session.client("s3"),
        target,
        args.image,
        args.timeout,
        prefix=args.prefix,
        poll=args.poll,
        sqs=session.client("sqs"),
    )
    if problems:
        print("SMOKE TEST FAILED", *problems, sep="\n  ", file=sys.stderr)
        return 1
    formats = sum(len(r.formats) for r in target.renditions)
    print(f"smoke test passed: {len(target.renditions)} renditions, {formats} objects")
    return 0


if __name__ == "__main__":
    sys.exit(main())
