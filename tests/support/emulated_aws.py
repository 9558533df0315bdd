"""The handler against emulated AWS: real boto3 calls to moto's server.

S3 notifications are configured in the emulator, so the SQS messages the handler
sees are the ones moto really produced (URL-encoded keys and all).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from resizer import handler
from resizer.notifications import created_record, notification_body
from resizer.publish import EventBridgePublisher
from resizer_tools.local.emulator import Emulator
from resizer_tools.local.poller import LambdaContext, to_lambda_record

REGION = "us-east-1"
#: How long :meth:`Stack.receive` holds what it received while it still receives.
RECEIVING_S = 60


def lambda_context(remaining_ms: int = 60_000, memory_limit_in_mb: int = 1024) -> LambdaContext:
    """The context the local poller passes (as the Python runtime does), ``remaining_ms``
    from now."""
    return LambdaContext(
        function_name="resizer",
        function_version="1",
        invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:resizer:live",
        memory_limit_in_mb=str(memory_limit_in_mb),
        aws_request_id=str(uuid.uuid4()),
        log_group_name="/aws/lambda/resizer",
        log_stream_name="tests",
        deadline=time.monotonic() + remaining_ms / 1000,
    )


@dataclass
class Stack:
    """Source and destination buckets, queue and DLQ, wired as the template wires them."""

    s3: Any
    sqs: Any
    source: str
    destination: str
    queue_url: str
    dlq_url: str
    queue_arn: str

    def receive(self, url: str | None = None, wait: int = 1) -> list[dict[str, Any]]:
        """Every message now on a queue, each once, left in flight for the queue's
        visibility timeout from now (as the event source mapping leaves a batch).

        While the batches come in, each is held for :data:`RECEIVING_S`: with the test
        queue's 1 s timeout, a slow machine would otherwise get the first batch back
        beside the later ones (twice, its receive count raised towards the redrive).
        """
        url = url or self.queue_url
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=wait,
                VisibilityTimeout=RECEIVING_S,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            messages.extend(batch)
            wait = 0
        if messages:
            timeout = self.sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["VisibilityTimeout"]
            )["Attributes"]["VisibilityTimeout"]
            for start in range(0, len(messages), 10):
                entries = [
                    {
                        "Id": str(n),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": int(timeout),
                    }
                    for n, m in enumerate(messages[start : start + 10])
                ]
                failed = self.sqs.change_message_visibility_batch(
                    QueueUrl=url, Entries=entries
                ).get("Failed", [])
                assert failed == [], failed
        return messages

    def lambda_event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """SQS messages in the shape Lambda's event source mapping hands them over."""
        return {"Records": [to_lambda_record(m, self.queue_arn, REGION) for m in messages]}

    def invoke(self, **context: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Receive what is queued, invoke the handler, acknowledge its successes, and
        give its failures back to the queue at once, as the visibility timeout does later:
        the next invoke receives them however fast the machine (moto's long poll looks
        again only after a whole second, so waiting for the 1 s timeout could miss them)."""
        messages = self.receive()
        response = handler.lambda_handler(self.lambda_event(messages), lambda_context(**context))
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for m in messages:
            receipt = {"QueueUrl": self.queue_url, "ReceiptHandle": m["ReceiptHandle"]}
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(**receipt, VisibilityTimeout=0)
            else:
                self.sqs.delete_message(**receipt)
        return response, messages

    def put(self, key: str, data: bytes) -> str:
        return str(self.s3.put_object(Bucket=self.source, Key=key, Body=data)["ETag"].strip('"'))

    def manifest(self, key: str) -> dict[str, Any]:
        """The manifest of source ``key``, read from the destination bucket (the literal
        key layout README.md documents, not the code's)."""
        body = self.s3.get_object(Bucket=self.destination, Key=f"manifests/{key}.json")["Body"]
        loaded: dict[str, Any] = json.loads(body.read())
        return loaded

    def redeliver(self, key: str) -> None:
        """What ``resizer backfill`` sends: an ObjectCreated notification for the key."""
        record = created_record(self.source, key)
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=notification_body([record]))


class StreamedBody:
    """The raw body of a canned botocore response."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


@dataclass(frozen=True)
class Call:
    """One AWS API call the handler made: service, operation and its parameters."""

    service: str
    operation: str
    params: dict[str, Any]


#: Every call the handler's clients made during this test session.
CALLS: list[Call] = []


def record_calls(runtime: handler.Runtime) -> None:
    """Record every API call of the handler's own boto3 clients (botocore event hooks)."""

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        CALLS.append(Call(model.service_model.service_name, model.name, dict(params)))

    clients = [runtime.pipeline.storage.s3, runtime.sqs]
    if isinstance(runtime.publisher, EventBridgePublisher) and runtime.publisher.client:
        clients.append(runtime.publisher.client)
    for client in clients:
        client.meta.events.register("before-parameter-build", record)


@contextmanager
def moto_server() -> Iterator[str]:
    """The local stack's emulator (moto's server) on a free port of 127.0.0.1; its endpoint."""
    with Emulator() as emulator:
        yield emulator.endpoint_url


def build_stack(
    mp: pytest.MonkeyPatch,
    endpoint: str,
    *,
    max_receive: int = 3,
    visibility: int = 1,
    keep_test_event: bool = False,
) -> Stack:
    """Buckets, queue (+ DLQ, redrive) and the S3 notification, wired as the template does.

    Sets the handler's environment (endpoint, dummy credentials, DESTINATION_BUCKET,
    DEAD_LETTER_QUEUE_URL) on ``mp`` and builds a fresh handler runtime whose AWS calls
    are recorded in :data:`CALLS`. Names are '<kind>-<hex>' (the least-privilege test
    maps the kind to the template's resource).
    """
    mp.setenv("AWS_ENDPOINT_URL", endpoint)
    mp.setenv("AWS_ACCESS_KEY_ID", "testing")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    mp.setenv("AWS_DEFAULT_REGION", REGION)
    mp.delenv("AWS_PROFILE", raising=False)
    n = uuid.uuid4().hex[:10]
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
    source, destination = f"source-{n}", f"destination-{n}"
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=destination)
    dlq_url = sqs.create_queue(QueueName=f"dlq-{n}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=f"queue-{n}",
        Attributes={
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": (
                f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_receive}"}}'
            ),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=source,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}
            ]
        },
    )
    if not keep_test_event:
        # Drop the s3:TestEvent moto sends when the notification is configured.
        sqs.purge_queue(QueueUrl=queue_url)
    mp.setenv("DESTINATION_BUCKET", destination)
    mp.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
    handler.runtime.cache_clear()
    record_calls(handler.runtime())
    return Stack(s3, sqs, source, destination, queue_url, dlq_url, queue_arn)
