"""What the CLI does to a deployed stack (local or on AWS): upload, status, backfill.

The dead-letter queue has a module of its own (:mod:`resizer_tools.ops.dead_letters`).

Kept apart from the command-line parsing so that the demo and the tests call the
very same code.
"""

from __future__ import annotations

import mimetypes
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from resizer import layout
from resizer.errors import ConfigurationError
from resizer.notifications import created_record, notification_body
from resizer_tools.errors import OperationFailedError
from resizer_tools.ops.aws import Aws, StackResources
from resizer_tools.ops.dead_letters import DeadLetter, failed_by
from resizer_tools.ops.files import DEFAULT_EXCLUDES, files_to_upload

if TYPE_CHECKING:
    from mypy_boto3_sqs.literals import QueueAttributeFilterType

__all__ = [
    "DEFAULT_EXCLUDES",
    "Status",
    "backfill",
    "files_to_upload",
    "require_source_bucket",
    "source_bucket_exists",
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
    # Objects per rendition name, every format (resizer.layout); manifests and others aside.
    renditions: Counter[str] = Counter(
        place.rendition
        for key, _size in _objects(aws, stack.destination_bucket)
        if (place := layout.parse(key)) is not None
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


#: How S3 says a bucket does not exist (HeadBucket answers a bare 404).
_NO_BUCKET = {"404", "NoSuchBucket", "NotFound"}


def source_bucket_exists(aws: Aws, stack: StackResources) -> bool:
    """Whether the stack's source bucket exists (with ExistingSourceBucket, the stack
    reads a bucket it does not create)."""
    try:
        aws.s3.head_bucket(Bucket=stack.source_bucket)
    except ClientError as error:
        if str(error.response.get("Error", {}).get("Code")) in _NO_BUCKET:
            return False
        raise
    return True


def require_source_bucket(aws: Aws, stack: StackResources) -> None:
    """A :class:`ConfigurationError` naming the fix when the source bucket is missing."""
    if not source_bucket_exists(aws, stack):
        raise ConfigurationError(
            f"the source bucket s3://{stack.source_bucket} does not exist: a stack deployed "
            "with ExistingSourceBucket reads a bucket it does not create; create it and "
            "turn on its EventBridge delivery first (docs/infrastructure.md, "
            '"Bring your own source bucket")'
        )


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


def backfill(
    aws: Aws,
    stack: StackResources,
    prefix: str = "",
    on_skip: Callable[[DeadLetter], None] | None = None,
) -> int:
    """Enqueue every source object under ``prefix`` as an S3 ObjectCreated notification.

    For sizes changed after the images were uploaded, or a bucket adopted with images
    already in it. Renditions already current are skipped by the function. A source
    already on the dead-letter queue with the same ETag, dead-lettered by the version
    ``live`` runs, is not enqueued (it would only be dead-lettered again): ``on_skip``
    is told each one (:func:`_already_dead_lettered`).
    """
    sent = 0
    batch: list[str] = []
    dead_lettered = _already_dead_lettered(aws, stack)

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
            raise OperationFailedError(
                f"SQS refused {len(failed)} message(s) ({sent} enqueued so far): "
                f"{failed[0].get('Message')}; run the backfill again "
                "(renditions already current are skipped)"
            )
        sent += len(batch)
        batch.clear()

    for page in aws.s3.get_paginator("list_objects_v2").paginate(
        Bucket=stack.source_bucket, Prefix=prefix
    ):
        for item in page.get("Contents", []):
            if _skip_dead_lettered(dead_lettered, item, on_skip):
                continue
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


#: The alias the event source mapping invokes (infra/template.yaml's LiveAlias).
LIVE_ALIAS = "live"


def _already_dead_lettered(aws: Aws, stack: StackResources) -> dict[tuple[str, str], DeadLetter]:
    """(key, ETag) -> dead letter, for the sources the version ``live`` runs has
    dead-lettered; empty when the stack's function has no ``live`` alias."""
    try:
        version = aws.lambda_.get_alias(FunctionName=stack.function_name, Name=LIVE_ALIAS)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return {}
        raise
    letters = failed_by(aws, stack, str(version["FunctionVersion"]))
    return {(letter.source_key, letter.source_etag): letter for letter in letters}


def _skip_dead_lettered(
    dead_lettered: dict[tuple[str, str], DeadLetter],
    item: Mapping[str, object],
    on_skip: Callable[[DeadLetter], None] | None,
) -> bool:
    """Whether the listed object is one of ``dead_lettered`` (same key, same ETag)."""
    letter = dead_lettered.get((str(item["Key"]), str(item.get("ETag", "")).strip('"')))
    if letter is not None and on_skip is not None:
        on_skip(letter)
    return letter is not None
