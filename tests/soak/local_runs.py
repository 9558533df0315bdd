"""Bursts through the local stack: generate, upload at once, wait for the drain, verify.

The soaks are marked ``slow``: ``make test`` leaves them out, ``make soak`` runs the
full sizes (``RESIZER_SOAK=1``); ``pytest tests/soak -m slow`` runs small ones (see
docs/reliability.md). Figures go to ``$RESIZER_REPORT_DIR/<name>.json`` when set.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from PIL import Image

from resizer.config import Settings
from resizer_tools.local.stack import LocalStack
from resizer_tools.ops.aws import Aws, StackResources

SOAK = os.environ.get("RESIZER_SOAK") == "1"
TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"
#: The queue's visibility timeout in the fault runs: the function's shortest Timeout.
VISIBILITY_S = 30
#: The default RENDITIONS (config.py): rendition name -> box.
BOXES = {r.name: r.box for r in Settings().renditions}


def sized(variable: str, soak: int, quick: int) -> int:
    """How many images a run takes: ``$variable`` when set, else ``soak`` in ``make soak``
    (``RESIZER_SOAK=1``), else ``quick``."""
    return int(os.environ.get(variable) or (soak if SOAK else quick))


def soak_stack(prefix: str, parameters: dict[str, str], *, poller: bool = True) -> LocalStack:
    """The local stack of the real template under a fresh name (``prefix-xxxxxx``)."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    return LocalStack(TEMPLATE, stack_name=name, parameters=parameters, poller=poller)


def fault_stack(prefix: str) -> LocalStack:
    """The stack the fault runs drive with ``resizer local worker`` (no in-process
    poller), deployed with the shortest function timeout the template allows, so that
    :func:`shorten_visibility` can bring the queue's visibility timeout down to it."""
    return soak_stack(prefix, {"MaximumConcurrency": "4", "Timeout": "30"}, poller=False)


def shorten_visibility(aws: Aws, stack: StackResources) -> None:
    """The queue's visibility timeout down to :data:`VISIBILITY_S` (the template derives
    6 x Timeout; AWS requires at least the function timeout), so that the messages a
    killed worker held come back within the run."""
    aws.sqs.set_queue_attributes(
        QueueUrl=stack.queue_url, Attributes={"VisibilityTimeout": str(VISIBILITY_S)}
    )


def worker_command(endpoint: str, stack_name: str) -> list[str]:
    """``resizer local worker`` against the emulator at ``endpoint``, as a child process."""
    entry_point = "from resizer_tools.cli import main; main()"
    worker = ["local", "worker", "--endpoint", endpoint, "--stack-name", stack_name]
    return [sys.executable, "-c", entry_point, *worker]


def worker_environment(s3_endpoint: str) -> dict[str, str]:
    """This process's environment for a worker whose S3 requests go to ``s3_endpoint``
    (the fault proxy), every other service to the emulator named on its command line."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE"))
    }
    environment.update(
        AWS_ENDPOINT_URL_S3=s3_endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        PYTHONUNBUFFERED="1",
    )
    return environment


@dataclass(frozen=True)
class Upload:
    key: str
    data: bytes
    size: tuple[int, int]


def photos(count: int, prefix: str) -> list[Upload]:
    """``count`` distinct JPEGs: each size is unique to its index, so a rendition made
    from the wrong source has the wrong dimensions as well as the wrong ETag."""
    uploads = []
    for n in range(count):
        size = (600 + (n * 37) % 1400, 400 + (n * 53) % 1300)
        image = Image.linear_gradient("L").resize(size).convert("RGB")
        image.paste((n % 256, 90, 200), (0, 0, size[0] // 3, size[1] // 3))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80)
        uploads.append(Upload(f"{prefix}/{n:05d} photo.jpg", buffer.getvalue(), size))
    return uploads


def upload_all(aws: Aws, bucket: str, uploads: list[Upload]) -> dict[str, str]:
    """Everything at once (8 client threads); key -> ETag."""

    def put(upload: Upload) -> tuple[str, str]:
        response = aws.s3.put_object(Bucket=bucket, Key=upload.key, Body=upload.data)
        return upload.key, response["ETag"].strip('"')

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(put, uploads))


def count_keys(aws: Aws, bucket: str, prefix: str) -> int:
    total = 0
    for page in aws.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        total += page.get("KeyCount", 0)
    return total


def queue_depth(aws: Aws, url: str) -> int:
    attributes = aws.sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def wait_drained(aws: Aws, stack: StackResources, prefix: str, count: int, timeout: float) -> float:
    """Seconds until every rendition exists and the queue is empty (bounded).

    Polls the queue's depth (cheap) and lists the destination only once the queue
    looks empty: listing thousands of keys several times a second would steal the
    emulator's time from the run being measured."""
    started = time.monotonic()
    wanted = count * len(BOXES)
    done = 0
    while True:
        if queue_depth(aws, stack.queue_url) == 0:
            done = sum(
                count_keys(aws, stack.destination_bucket, f"{name}/{prefix}/") for name in BOXES
            )
            if done >= wanted:
                return time.monotonic() - started
            if queue_depth(aws, stack.dead_letter_queue_url):
                # Nothing left to process and something dead-lettered: no use waiting.
                return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(
                f"not drained after {timeout} s: {done}/{wanted} renditions, "
                f"{queue_depth(aws, stack.queue_url)} message(s) on the queue"
            )
        time.sleep(0.5)


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    scale = min(1.0, box[0] / size[0], box[1] / size[1])
    return max(1, int(size[0] * scale + 0.5)), max(1, int(size[1] * scale + 0.5))


def wrong_renditions(
    aws: Aws, stack: StackResources, uploads: list[Upload], etags: dict[str, str]
) -> list[str]:
    """Every rendition checked against its own source: key, ETag and size."""

    def check(upload: Upload) -> list[str]:
        problems = []
        for name, box in BOXES.items():
            head = aws.s3.head_object(Bucket=stack.destination_bucket, Key=f"{name}/{upload.key}")
            metadata = head["Metadata"]
            expected = fit(upload.size, box)
            if unquote(metadata.get("source-key", "")) != upload.key:
                problems.append(f"{name}/{upload.key}: source-key {metadata.get('source-key')}")
            if metadata.get("source-etag") != etags[upload.key]:
                problems.append(f"{name}/{upload.key}: source-etag {metadata.get('source-etag')}")
            if (int(metadata["width"]), int(metadata["height"])) != expected:
                problems.append(f"{name}/{upload.key}: {metadata['width']}x{metadata['height']}")
            if head["ContentType"] != "image/jpeg":
                problems.append(f"{name}/{upload.key}: {head['ContentType']}")
        return problems

    with ThreadPoolExecutor(8) as pool:
        return [p for problems in pool.map(check, uploads) for p in problems]


def dead_letter_count(aws: Aws, stack: StackResources) -> int:
    return queue_depth(aws, stack.dead_letter_queue_url)


def report(name: str, figures: dict[str, Any]) -> None:
    print(f"\n{name}: {json.dumps(figures)}")
    folder = os.environ.get("RESIZER_REPORT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        Path(folder, f"{name}.json").write_text(json.dumps(figures, indent=1))


__all__ = ["SOAK", "Upload", "asdict"]
