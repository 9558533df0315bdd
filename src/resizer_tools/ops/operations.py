"""What the CLI does to a deployed stack (local or on AWS): upload, status, backfill, DLQ.

Kept apart from the command-line parsing so that the demo and the tests call the
very same code.
"""

from __future__ import annotations

import json
import mimetypes
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resizer.events import created_record, notification_body
from resizer_tools.ops.aws import Aws, StackResources

if TYPE_CHECKING:
    from mypy_boto3_sqs.literals import QueueAttributeFilterType
    from mypy_boto3_sqs.type_defs import ChangeMessageVisibilityBatchRequestEntryTypeDef

__all__ = [
    "DeadLetter",
    "Status",
    "backfill",
    "dead_letters",
    "files_to_upload",
    "redrive",
    "status",
    "upload_file",
]

_BATCH = 10  # SQS SendMessageBatch / DeleteMessageBatch maximum


@dataclass(frozen=True)
class Status:
    queued: int
    in_flight: int
    delayed: int
    dead_letters: int
    dead_letters_in_flight: int
    source_objects: int
    renditions: Counter[str]


def status(aws: Aws, stack: StackResources) -> Status:
    names: list[QueueAttributeFilterType] = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    queue = aws.sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=names)
    dlq = aws.sqs.get_queue_attributes(QueueUrl=stack.dead_letter_queue_url, AttributeNames=names)
    q, d = queue["Attributes"], dlq["Attributes"]
    renditions: Counter[str] = Counter(
        key.split("/", 1)[0] for key, _size in _objects(aws, stack.destination_bucket) if "/" in key
    )
    return Status(
        queued=int(q.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(q.get("ApproximateNumberOfMessagesNotVisible", 0)),
        delayed=int(q.get("ApproximateNumberOfMessagesDelayed", 0)),
        dead_letters=int(d.get("ApproximateNumberOfMessages", 0)),
        dead_letters_in_flight=int(d.get("ApproximateNumberOfMessagesNotVisible", 0)),
        source_objects=sum(1 for _ in _objects(aws, stack.source_bucket)),
        renditions=renditions,
    )


def _objects(aws: Aws, bucket: str, prefix: str = "") -> Iterator[tuple[str, int]]:
    for page in aws.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"], item.get("Size", 0)


def files_to_upload(paths: list[Path]) -> list[tuple[Path, str]]:
    """(file, key) for files and, recursively, directories (keys relative to the directory)."""
    found: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                (f, f.relative_to(path).as_posix())
                for f in sorted(path.rglob("*"))
                if f.is_file() and not f.name.startswith(".")
            )
        elif path.is_file():
            found.append((path, path.name))
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    return found


def upload_file(
    aws: Aws,
    stack: StackResources,
    path: Path,
    key: str,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Upload one file to the source bucket (multipart above 8 MB, as the AWS CLI does)."""
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    aws.s3.upload_file(
        str(path),
        stack.source_bucket,
        key,
        ExtraArgs={"ContentType": content_type},
        Callback=progress,
    )


def backfill(aws: Aws, stack: StackResources, prefix: str = "") -> int:
    """Enqueue every source object under ``prefix`` as an S3 ObjectCreated notification.

    For sizes changed after the images were uploaded, or a bucket adopted with images
    already in it. Renditions already current are skipped by the function.
    """
    sent = 0
    batch: list[str] = []

    def flush() -> None:
        nonlocal sent
        if not batch:
            return
        response = aws.sqs.send_message_batch(
            QueueUrl=stack.queue_url,
            Entries=[{"Id": str(n), "MessageBody": body} for n, body in enumerate(batch)],
        )
        failed = response.get("Failed", [])
        if failed:
            raise RuntimeError(f"SQS refused {len(failed)} message(s): {failed[0].get('Message')}")
        sent += len(batch)
        batch.clear()

    for page in aws.s3.get_paginator("list_objects_v2").paginate(
        Bucket=stack.source_bucket, Prefix=prefix
    ):
        for item in page.get("Contents", []):
            record = created_record(
                stack.source_bucket,
                item["Key"],
                etag=item.get("ETag", "").strip('"'),
                size=item.get("Size", 0),
            )
            batch.append(notification_body([record]))
            if len(batch) == _BATCH:
                flush()
    flush()
    return sent


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    source_key: str
    error_type: str
    reason: str
    sent_timestamp_ms: int
    receive_count: int
    body: str


def dead_letters(aws: Aws, stack: StackResources, limit: int = 100) -> list[DeadLetter]:
    """Look at up to ``limit`` messages on the DLQ without taking them off it.

    Each is received (hidden for a few seconds) and then made visible again at once.
    """
    url = stack.dead_letter_queue_url
    seen: dict[str, tuple[DeadLetter, str]] = {}
    while len(seen) < limit:
        messages = aws.sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(_BATCH, limit - len(seen)),
            VisibilityTimeout=30,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen[message["MessageId"]] = (_dead_letter(dict(message)), message["ReceiptHandle"])
    entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
        {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0}
        for n, (_, handle) in enumerate(seen.values())
    ]
    for start in range(0, len(entries), _BATCH):
        aws.sqs.change_message_visibility_batch(
            QueueUrl=url, Entries=entries[start : start + _BATCH]
        )
    return [letter for letter, _ in seen.values()]


def _dead_letter(message: dict[str, Any]) -> DeadLetter:
    attributes = message.get("MessageAttributes") or {}

    def text(name: str) -> str:
        return str((attributes.get(name) or {}).get("StringValue", ""))

    system = message.get("Attributes") or {}
    body = message.get("Body", "")
    return DeadLetter(
        message_id=message["MessageId"],
        source_key=text("SourceKey") or _key_from_body(body),
        error_type=text("ErrorType") or "RetriesExhausted",
        reason=text("ErrorReason")
        or "failed on every attempt (maxReceiveCount); see the function's log",
        sent_timestamp_ms=int(system.get("SentTimestamp", 0)),
        receive_count=int(system.get("ApproximateReceiveCount", 0)),
        body=body,
    )


def _key_from_body(body: str) -> str:
    try:
        records = json.loads(body).get("Records") or []
        return str(records[0]["s3"]["object"]["key"])
    except (ValueError, LookupError, TypeError, AttributeError):
        return "-"


def redrive(aws: Aws, stack: StackResources, limit: int | None = None) -> int:
    """Move messages from the DLQ back to the main queue (the body only; reasons dropped).

    Each message is deleted from the DLQ only after the main queue accepted it. Moves
    at most the messages there when it starts: one that fails again and comes back
    meanwhile is not moved a second time (no ping-pong).
    """
    waiting = int(
        aws.sqs.get_queue_attributes(
            QueueUrl=stack.dead_letter_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
    )
    limit = waiting if limit is None else min(limit, waiting)
    moved = 0
    while moved < limit:
        count = min(_BATCH, limit - moved)
        messages = aws.sqs.receive_message(
            QueueUrl=stack.dead_letter_queue_url,
            MaxNumberOfMessages=count,
            VisibilityTimeout=60,
            WaitTimeSeconds=1,
        ).get("Messages", [])
        if not messages:
            break
        sent = aws.sqs.send_message_batch(
            QueueUrl=stack.queue_url,
            Entries=[{"Id": str(n), "MessageBody": m["Body"]} for n, m in enumerate(messages)],
        )
        accepted = {int(entry["Id"]) for entry in sent.get("Successful", [])}
        done = [m for n, m in enumerate(messages) if n in accepted]
        if done:
            aws.sqs.delete_message_batch(
                QueueUrl=stack.dead_letter_queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)
                ],
            )
        moved += len(done)
        if len(done) < len(messages):
            raise RuntimeError(
                f"the main queue refused {len(messages) - len(done)} message(s); "
                "they stay on the dead-letter queue"
            )
    return moved
