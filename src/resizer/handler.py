"""Lambda entry point: an SQS batch in, a partial batch response out.

Powertools' BatchProcessor keeps the partial-response bookkeeping; the records of
a batch are rendered concurrently in threads (Pillow releases the GIL while it
decodes, resizes and encodes), and the processor collects their results in order.

Failure policy, decided by the error's type:

* permanent (:attr:`ResizerError.permanent`): the record goes to the dead-letter
  queue at once with ``ErrorType`` and ``ErrorReason`` attributes, and the message
  is acknowledged; one WARNING line and a ``PermanentFailures`` metric;
* anything else: the message is reported in ``batchItemFailures`` and SQS retries
  it, redriving it to the DLQ after maxReceiveCount.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.client import BaseClient
from botocore.config import Config
from botocore.session import Session, get_session

from resizer import imaging, publish, watermark
from resizer.config import Settings
from resizer.errors import DeadlineError, MalformedMessageError, ResizerError
from resizer.notifications import ObjectChange, notification_body, parse_record, require_source
from resizer.pipeline import Outcome, Pipeline, Result
from resizer.storage import S3Storage

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

logger = Logger(service="resizer")
metrics = Metrics(namespace="Resizer", service="resizer")
#: The metric each outcome counts (dashboards and alarms name them; README lists them).
_OUTCOME_METRICS = {
    Result.RENDERED: "ObjectsRendered",
    Result.UNCHANGED: "ObjectsUnchanged",
    Result.REMOVED: "ObjectsRemoved",
    Result.KEPT: "ObjectsKept",
    Result.FOLDER: "ObjectsFolder",
}

# Lambda's init phase (this module's import, once per container): malloc tuned for one
# large image after another (resizer.imaging._allocator).
imaging.tune_allocator()

# SQS attribute values are capped at 256 KiB with the body; reasons are short anyway.
_MAX_REASON = 1000


@dataclass(frozen=True)
class Runtime:
    """What one warm Lambda container reuses across invocations."""

    settings: Settings
    pipeline: Pipeline
    executor: ThreadPoolExecutor
    aws: AWS
    publisher: publish.Publisher

    @functools.cached_property
    def sqs(self) -> SQSClient:
        """Made on the first dead letter: most cold starts never send one."""
        return cast("SQSClient", self.aws.client("sqs"))


@dataclass(frozen=True)
class AWS:
    """One botocore session (its loaded models and endpoints shared) and the clients' Config.

    botocore's session rather than boto3's: boto3 and s3transfer cost a cold start about
    40 ms of imports and are not in the zip (scripts/zip_contents.py, docs/tuning.md).
    """

    session: Session
    config: Config

    def client(self, service: str) -> BaseClient:
        return self.session.create_client(service, config=self.config)


@functools.cache
def runtime() -> Runtime:
    settings = Settings.from_env().require_aws()
    # Legacy retry mode: exponential backoff on throttling, 5xx and connection errors,
    # with no retry quota. Standard mode's per-client quota is refunded only by a 2xx,
    # so under sustained S3 throttling a warm container ran out of retries and good
    # images burned through maxReceiveCount (tests/reliability/test_retry_quota.py).
    config = Config(
        retries={"mode": "legacy", "total_max_attempts": 5},
        max_pool_connections=max(10, settings.workers * 4),
    )
    aws = AWS(get_session(), config)
    s3 = cast("S3Client", aws.client("s3"))
    settings = watermark.from_s3(settings, s3)  # WATERMARK, read once per container
    bus = settings.event_bus_name
    events = cast("EventBridgeClient", aws.client("events")) if bus else None
    publisher = publish.EventBridgePublisher(events, bus)
    return Runtime(
        settings=settings,
        pipeline=Pipeline(settings, S3Storage(s3, settings), publisher),
        executor=ThreadPoolExecutor(settings.workers, thread_name_prefix="render"),
        aws=aws,
        publisher=publisher,
    )


def _dead_letter(
    rt: Runtime,
    body: str,
    error: ResizerError,
    record: SQSRecord,
    *,
    key: str,
    bucket: str = "",
    version: str = "",
) -> None:
    """The DLQ message, then the Rendition Failed event (a failure to publish it is
    transient: the record is retried and dead-lettered again, at least once).

    ``FunctionVersion`` names the version (code and configuration) that failed it: a
    backfill does not enqueue again a source dead-lettered with the same ETag by the
    version ``live`` runs (resizer_tools.ops.dead_letters.failed_by)."""
    rt.sqs.send_message(
        QueueUrl=rt.settings.dead_letter_queue_url,
        MessageBody=body,
        MessageAttributes={
            "ErrorType": {"DataType": "String", "StringValue": type(error).__name__},
            "ErrorReason": {"DataType": "String", "StringValue": error.reason[:_MAX_REASON]},
            "SourceKey": {"DataType": "String", "StringValue": key or "-"},
            "SourceMessageId": {"DataType": "String", "StringValue": record.message_id},
            "FunctionVersion": {"DataType": "String", "StringValue": version or "-"},
        },
    )
    logger.warning(
        "permanent failure, sent to the dead-letter queue",
        key=key,
        error_type=type(error).__name__,
        reason=error.reason,
        message_id=record.message_id,
    )
    metrics.add_metric(name="PermanentFailures", unit=MetricUnit.Count, value=1)
    publish.failed(rt.publisher, bucket, key, type(error).__name__, error.reason[:_MAX_REASON])


def _process_message(
    rt: Runtime, record: SQSRecord, context: LambdaContext
) -> list[tuple[ObjectChange, Outcome | ResizerError]]:
    """Run in a worker thread: every object change of one message, each to its end."""
    changes = parse_record(record)

    def check_deadline() -> None:
        left = context.get_remaining_time_in_millis()
        if left < rt.settings.deadline_margin_ms:
            raise DeadlineError(
                f"only {left} ms of the invocation left (DEADLINE_MARGIN_MS="
                f"{rt.settings.deadline_margin_ms}); the record will be retried"
            )

    results: list[tuple[ObjectChange, Outcome | ResizerError]] = []
    transient: Exception | None = None
    for received in changes:
        event = received
        try:
            require_source(event, rt.settings.source_bucket)
            event = _resolved(rt, event)
            results.append((event, rt.pipeline.handle(event, check_deadline)))
        except ResizerError as error:
            if not error.permanent:
                transient = error
                continue
            results.append((event, error))
        except Exception as error:  # anything unexpected is retried
            transient = error
    if transient is not None:
        # Successes are not lost: a retry finds their renditions current and skips them.
        raise transient
    return results


def _resolved(rt: Runtime, event: ObjectChange) -> ObjectChange:
    """The event with the key form that names the object, logged when there was a choice
    (an EventBridge key that URL-decoding would change: the first-deploy check)."""
    resolved, form = rt.pipeline.resolve_key(event)
    if form is not None:
        logger.info(
            "EventBridge key form",
            key=resolved.key,
            key_form=form.value,
            key_as_received=event.key,
        )
    return resolved


def _record_handler(
    futures: dict[str, Future[list[tuple[ObjectChange, Outcome | ResizerError]]]],
    version: str,
) -> Callable[[SQSRecord], None]:
    rt = runtime()

    def handle(record: SQSRecord) -> None:
        try:
            results = futures[record.message_id].result()
        except MalformedMessageError as error:
            _dead_letter(rt, record.body, error, record, key="", version=version)
            return
        except Exception as error:
            logger.error(
                "transient failure, SQS will retry",
                message_id=record.message_id,
                error_type=type(error).__name__,
                reason=str(error),
            )
            metrics.add_metric(name="TransientFailures", unit=MetricUnit.Count, value=1)
            raise
        if not results:
            logger.info("s3:TestEvent acknowledged", message_id=record.message_id)
        for event, result in results:
            if isinstance(result, ResizerError):
                body = notification_body([event.record] if event.record else [])
                _dead_letter(
                    rt, body, result, record, key=event.key, bucket=event.bucket, version=version
                )
                continue
            logger.info(
                result.kind.value,
                key=result.key,
                bytes_in=result.bytes_in,
                bytes_out=result.bytes_out,
                renditions=result.renditions,
                ms=result.ms,
                steps_ms=result.steps,
            )
            metrics.add_metric(name=_OUTCOME_METRICS[result.kind], unit=MetricUnit.Count, value=1)

    return handle


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rt = runtime()
    records = [SQSRecord(raw) for raw in event.get("Records", [])]
    # Start every record at once; the processor below collects them in order.
    futures = {
        record.message_id: rt.executor.submit(_process_message, rt, record, context)
        for record in records
    }
    metrics.add_metric(name="Records", unit=MetricUnit.Count, value=len(records))
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(
        event=event,
        record_handler=_record_handler(futures, context.function_version),
        processor=processor,
        context=context,
    )
    return dict(response)
