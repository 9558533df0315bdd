#!/usr/bin/env python3
"""Smoke-test a deployed resizer: upload one photo, wait for every rendition, clean up.

    python scripts/smoke_test.py --stack-name resizer-dev
    python scripts/smoke_test.py --source-bucket SRC --destination-bucket DST \
        --renditions thumbnails=150x150,medium=800x800,large=1600x1600

With --stack-name, the buckets and the function come from the stack outputs
(SourceBucketName, DestinationBucketName, FunctionName), and the renditions from the
function's RENDITIONS setting, i.e. from what is deployed. Exit status 0 when every
rendition appeared (as an image no larger than its box) within --timeout seconds, 1
otherwise. The uploaded photo and its renditions are deleted either way.

Uses boto3 only, and honours AWS_ENDPOINT_URL, so it runs against the local stack too.
"""

from __future__ import annotations

import argparse
import re
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
DEFAULT_IMAGE = ROOT / "examples" / "photos" / "Wine_by_Jakkub_Mede.jpg"
DEFAULT_RENDITIONS = "thumbnails=150x150,medium=800x800,large=1600x1600"
RENDITION = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)=([1-9][0-9]*)x([1-9][0-9]*)$")


@dataclass(frozen=True)
class Box:
    name: str
    width: int
    height: int


@dataclass(frozen=True)
class Target:
    source_bucket: str
    destination_bucket: str
    boxes: tuple[Box, ...]
    dead_letter_queue_url: str | None = None


def parse_renditions(text: str) -> tuple[Box, ...]:
    boxes = []
    for item in text.split(","):
        match = RENDITION.match(item.strip())
        if not match:
            raise SystemExit(f"bad rendition {item!r}: expected name=WIDTHxHEIGHT")
        boxes.append(Box(match.group(1), int(match.group(2)), int(match.group(3))))
    return tuple(boxes)


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def deployed_renditions(lambda_client: Any, function_name: str) -> str | None:
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


def check_rendition(box: Box, found: dict[str, Any]) -> str | None:
    """A problem with a rendition that arrived, or None when it looks right."""
    content_type = str(found.get("ContentType", ""))
    if not content_type.startswith("image/"):
        return f"{box.name}: Content-Type {content_type!r} is not an image"
    meta = found.get("Metadata", {})
    if "width" in meta and "height" in meta:
        width, height = int(meta["width"]), int(meta["height"])
        if width > box.width or height > box.height:
            return f"{box.name}: {width}x{height} does not fit {box.width}x{box.height}"
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
    """Upload, wait, check, clean up. Returns the problems found (empty: success)."""
    key = f"{prefix}{uuid.uuid4().hex}{image.suffix.lower()}"
    wanted = {box.name: f"{box.name}/{key}" for box in target.boxes}
    arrived: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    started = time.monotonic()
    print(f"uploading s3://{target.source_bucket}/{key} ({image.stat().st_size} bytes)")
    s3.put_object(
        Bucket=target.source_bucket, Key=key, Body=image.read_bytes(), ContentType="image/jpeg"
    )
    try:
        deadline = started + timeout
        while len(arrived) < len(wanted) and time.monotonic() < deadline:
            for box in target.boxes:
                if box.name not in arrived:
                    found = head(s3, target.destination_bucket, wanted[box.name])
                    if found is not None:
                        arrived[box.name] = found
                        print(f"  {wanted[box.name]} after {time.monotonic() - started:.1f} s")
            if len(arrived) < len(wanted):
                time.sleep(poll)
        for box in target.boxes:
            if box.name not in arrived:
                problems.append(
                    f"{box.name}: s3://{target.destination_bucket}/{wanted[box.name]} "
                    f"did not appear within {timeout:.0f} s"
                )
            elif (problem := check_rendition(box, arrived[box.name])) is not None:
                problems.append(problem)
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
        for out_key in wanted.values():
            s3.delete_object(Bucket=target.destination_bucket, Key=out_key)
        print(f"cleaned up {key} and its renditions")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack-name")
    parser.add_argument("--source-bucket")
    parser.add_argument("--destination-bucket")
    parser.add_argument("--function-name")
    parser.add_argument("--dead-letter-queue-url")
    parser.add_argument("--renditions", help=f"default: the function's, else {DEFAULT_RENDITIONS}")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--prefix", default="smoke-test/")
    args = parser.parse_args(argv)

    session = boto3.session.Session()
    target = resolve_target(args, session.client)  # type: ignore[arg-type]
    print(
        f"source {target.source_bucket}, destination {target.destination_bucket}, renditions "
        + ", ".join(f"{b.name}={b.width}x{b.height}" for b in target.boxes)
    )
    problems = run(
        session.client("s3"),
        target,
        args.image,
        args.timeout,
        prefix=args.prefix,
        sqs=session.client("sqs"),
    )
    if problems:
        print("SMOKE TEST FAILED", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print(f"smoke test passed: {len(target.boxes)} renditions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
