"""The dead-letter queue: list, show, delete, purge and redrive, with filters.

SQS has no peek. Every ``ReceiveMessage`` raises a message's
``ApproximateReceiveCount`` (``VisibilityTimeout=0`` does not avoid it) and hides
the message from other consumers until its visibility timeout ends. What this
module does about it:

- a *look* (list, show) receives each message once, with a visibility timeout
  long enough that one scan never sees a message twice, then makes every
  message visible again at once (``ChangeMessageVisibility`` to 0);
- the counter it raises has no effect: the dead-letter queue has no redrive
  policy of its own (a test on the template keeps it so), and a redrive sends a
  fresh message whose count starts at 0. ``receive_count`` therefore includes
  every look, ours too, and is shown as such.

A redrive moves only messages that were on the queue when it started (it scans
before it sends), so a message that fails again is not moved twice in one run.
An ``ObjectCreated`` entry whose source object is gone is never redriven (it
would only come back as ``SourceGoneError``): it stays on the queue, reported,
until ``delete`` (or ``--drop-gone``) removes it.

A backfill asks :func:`failed_by` which sources the version ``live`` runs has already
dead-lettered, with their ETag: enqueued again, they would only fail again and add a
second dead letter each (the function records the version that failed a record in the
``FunctionVersion`` attribute).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from resizer.errors import MalformedMessageError
from resizer.notifications import parse_body
from resizer_tools.errors import OperationFailedError, UsageError
from resizer_tools.ops.aws import Aws, StackResources

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import ChangeMessageVisibilityBatchRequestEntryTypeDef

__all__ = [
    "DeadLetter",
    "Filter",
    "RedriveResult",
    "dead_letters",
    "delete",
    "failed_by",
    "find",
    "purge",
    "redrive",
]

_BATCH = 10  # SQS ReceiveMessage / SendMessageBatch / DeleteMessageBatch maximum
_HIDE_S = 60  # long enough for one scan; every message is made visible again after it
RETRIES_EXHAUSTED = "RetriesExhausted"


@dataclass(frozen=True)
class DeadLetter:
    """One message on the dead-letter queue, with why it is there."""

    message_id: str
    source_bucket: str
    source_key: str
    event_name: str
    error_type: str
    reason: str
    sent_timestamp_ms: int
    receive_count: int
    body: str
    #: The source's ETag in the dead-lettered event ("" when it names none).
    source_etag: str = ""
    #: The function version that dead-lettered it ("" when retries ran out, or older).
    function_version: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Filter:
    """Which dead letters an operation applies to; empty fields match everything."""

    error_types: tuple[str, ...] = ()
    key_prefix: str = ""
    message_ids: tuple[str, ...] = ()

    def matches(self, letter: DeadLetter) -> bool:
        return (
            (not self.error_types or letter.error_type in self.error_types)
            and letter.source_key.startswith(self.key_prefix)
            and (not self.message_ids or letter.message_id in self.message_ids)
        )


@dataclass
class _Seen:
    letter: DeadLetter
    receipt_handle: str


@dataclass
class _Scan:
    """Messages received from the DLQ and kept hidden until :meth:`release`."""

    aws: Aws
    url: str
    seen: dict[str, _Seen] = field(default_factory=dict)

    def run(self, most: int | None) -> None:
        """Receive distinct messages until the queue shows no new one (or ``most`` seen)."""
        while most is None or len(self.seen) < most:
            messages = self.aws.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=_BATCH,
                VisibilityTimeout=_HIDE_S,
                WaitTimeSeconds=1,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in messages if m["MessageId"] not in self.seen]
            for message in fresh:
                self.seen[message["MessageId"]] = _Seen(
                    _dead_letter(dict(message)), message["ReceiptHandle"]
                )
            if not fresh:
                return

    def forget(self, message_ids: list[str]) -> None:
        for message_id in message_ids:
            self.seen.pop(message_id, None)

    def release(self) -> None:
        """Make every message still held visible again at once."""
        entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
            {"Id": str(n), "ReceiptHandle": held.receipt_handle, "VisibilityTimeout": 0}
            for n, held in enumerate(self.seen.values())
        ]
        for start in range(0, len(entries), _BATCH):
            self.aws.sqs.change_message_visibility_batch(
                QueueUrl=self.url, Entries=entries[start : start + _BATCH]
            )
        self.seen.clear()


@contextlib.contextmanager
def _scanning(aws: Aws, stack: StackResources, most: int | None = None) -> Iterator[_Scan]:
    scan = _Scan(aws, stack.dead_letter_queue_url)
    try:
        scan.run(most)
        yield scan
    finally:
        scan.release()


def dead_letters(
    aws: Aws, stack: StackResources, limit: int = 100, where: Filter | None = None
) -> list[DeadLetter]:
    """Up to ``limit`` dead letters matching ``where``, oldest first; all left on the queue.

    Without a filter the scan stops after ``limit`` messages; with one it looks at
    every message on the queue (each is hidden for at most the scan).
    """
    where = where or Filter()
    with _scanning(aws, stack, None if where != Filter() else limit) as scan:
        found = [held.letter for held in scan.seen.values() if where.matches(held.letter)]
    found.sort(key=lambda letter: letter.sent_timestamp_ms)
    return found[:limit]


def find(aws: Aws, stack: StackResources, message_id: str) -> DeadLetter:
    """The dead letter with this message id (left on the queue)."""
    letters = dead_letters(aws, stack, limit=1, where=Filter(message_ids=(message_id,)))
    if not letters:
        raise UsageError(
            f"no message {message_id!r} on the dead-letter queue; "
            "`resizer dlq list` shows the ids (it may be in flight: try again in a minute)"
        )
    return letters[0]


def delete(aws: Aws, stack: StackResources, where: Filter) -> list[DeadLetter]:
    """Delete the dead letters matching ``where``; the rest stay. Returns the deleted."""
    with _scanning(aws, stack) as scan:
        doomed = [held for held in scan.seen.values() if where.matches(held.letter)]
        _delete_batch(aws, stack.dead_letter_queue_url, doomed)
        scan.forget([held.letter.message_id for held in doomed])
    return [held.letter for held in doomed]


def purge(aws: Aws, stack: StackResources) -> None:
    """Delete every message on the dead-letter queue (SQS allows one purge a minute)."""
    try:
        aws.sqs.purge_queue(QueueUrl=stack.dead_letter_queue_url)
    except ClientError as error:
        if "PurgeQueueInProgress" not in str(error.response.get("Error", {}).get("Code")):
            raise
        raise OperationFailedError(
            "a purge of the dead-letter queue is already under way (SQS allows one a "
            "minute); wait a minute and check with `resizer dlq list`"
        ) from None


@dataclass(frozen=True)
class RedriveResult:
    moved: list[DeadLetter]
    source_gone: list[DeadLetter]  # left on the queue, or deleted with drop_gone
    dropped: bool


def redrive(
    aws: Aws,
    stack: StackResources,
    limit: int | None = None,
    where: Filter | None = None,
    *,
    drop_gone: bool = False,
) -> RedriveResult:
    """Move matching dead letters back to the main queue (the body only; reasons dropped).

    Each is deleted from the DLQ only after the main queue accepted it. Created
    events whose source object is gone are not moved (they would fail again): they
    stay, or are deleted with ``drop_gone``.
    """
    where = where or Filter()
    moved: list[_Seen] = []
    with _scanning(aws, stack) as scan:
        chosen = [held for held in scan.seen.values() if where.matches(held.letter)]
        gone = [held for held in chosen if _source_gone(aws, held.letter)]
        todo = [held for held in chosen if held not in gone][:limit]
        for start in range(0, len(todo), _BATCH):
            batch = todo[start : start + _BATCH]
            sent = aws.sqs.send_message_batch(
                QueueUrl=stack.queue_url,
                Entries=[{"Id": str(n), "MessageBody": h.letter.body} for n, h in enumerate(batch)],
            )
            accepted = {int(entry["Id"]) for entry in sent.get("Successful", [])}
            done = [held for n, held in enumerate(batch) if n in accepted]
            _delete_batch(aws, stack.dead_letter_queue_url, done)
            scan.forget([held.letter.message_id for held in done])
            moved.extend(done)
            if len(done) < len(batch):
                raise OperationFailedError(
                    f"the main queue refused {len(batch) - len(done)} message(s) "
                    f"({len(moved)} moved so far); they stay on the dead-letter queue: "
                    "run `resizer dlq redrive` again"
                )
        if drop_gone:
            _delete_batch(aws, stack.dead_letter_queue_url, gone)
            scan.forget([held.letter.message_id for held in gone])
    return RedriveResult(
        moved=[held.letter for held in moved],
        source_gone=[held.letter for held in gone],
        dropped=drop_gone,
    )


def _delete_batch(aws: Aws, url: str, held: list[_Seen]) -> None:
    for start in range(0, len(held), _BATCH):
        batch = held[start : start + _BATCH]
        response = aws.sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": h.receipt_handle} for n, h in enumerate(batch)
            ],
        )
        if response.get("Failed"):
            raise OperationFailedError(
                f"SQS did not delete {len(response['Failed'])} message(s): "
                f"{response['Failed'][0].get('Message')}; run the command again"
            )


def _source_gone(aws: Aws, letter: DeadLetter) -> bool:
    """Whether a created event's source object is missing (a removal is always redriven)."""
    if not letter.event_name.startswith("ObjectCreated:") or not letter.source_bucket:
        return False
    try:
        aws.s3.head_object(Bucket=letter.source_bucket, Key=letter.source_key)
    except ClientError as error:
        return str(error.response.get("Error", {}).get("Code")) in {"404", "NoSuchKey", "NotFound"}
    return False


def _dead_letter(message: dict[str, Any]) -> DeadLetter:
    attributes = message.get("MessageAttributes") or {}

    def text(name: str) -> str:
        return str((attributes.get(name) or {}).get("StringValue", ""))

    system = message.get("Attributes") or {}
    body = message.get("Body", "")
    bucket, key, event_name, etag = _first_object(body)
    version = text("FunctionVersion")
    return DeadLetter(
        message_id=message["MessageId"],
        source_bucket=bucket,
        source_key=text("SourceKey") or key,
        event_name=event_name,
        error_type=text("ErrorType") or RETRIES_EXHAUSTED,
        reason=text("ErrorReason")
        or "failed on every attempt (maxReceiveCount); see the function's log",
        sent_timestamp_ms=int(system.get("SentTimestamp", 0)),
        receive_count=int(system.get("ApproximateReceiveCount", 0)),
        body=body,
        source_etag=etag,
        function_version="" if version == "-" else version,
    )


def _first_object(body: str) -> tuple[str, str, str, str]:
    """(bucket, decoded key, event name, ETag) of the body's first S3 record, or "-"s."""
    try:
        events = parse_body(body)
    except MalformedMessageError:
        events = []
    if not events:
        return "", "-", "", ""
    first = events[0]
    return first.bucket, first.key, first.event_name, first.etag


def failed_by(aws: Aws, stack: StackResources, function_version: str) -> list[DeadLetter]:
    """The created events of the stack's source bucket that ``function_version``
    dead-lettered as permanent failures, naming the source's ETag (all left on the queue).

    Retries run out (no ``FunctionVersion``) and dead letters of another version are
    not among them: a retry, or the other version, may succeed.
    """
    if not function_version:
        return []
    with _scanning(aws, stack) as scan:
        return [
            held.letter
            for held in scan.seen.values()
            if held.letter.function_version == function_version
            and held.letter.source_etag
            and held.letter.event_name.startswith("ObjectCreated:")
            and held.letter.source_bucket == stack.source_bucket
        ]
