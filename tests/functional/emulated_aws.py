"""The handler against emulated AWS: real boto3 calls to moto's server.

S3 notifications are configured in the emulator, so the SQS messages the handler
sees are the ones moto really produced (URL-encoded keys and all).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from resizer import handler

REGION = "us-east-1"


@dataclass
class LambdaContext:
    """What Lambda passes as ``context`` (the attributes Powertools reads)."""

    remaining_ms: int = 60_000
    function_name: str = "resizer"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:resizer:live"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


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
        """Every message now on a queue, left in flight (as the event source mapping does)."""
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=url or self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)
            wait = 0

    def lambda_event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """SQS messages in the shape Lambda's event source mapping hands them over."""
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": REGION,
                }
                for m in messages
            ]
        }

    def invoke(self, **context: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Receive what is queued, invoke the handler, acknowledge its successes."""
        messages = self.receive()
        response = handler.lambda_handler(self.lambda_event(messages), LambdaContext(**context))
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for m in messages:
            if m["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return response, messages

    def put(self, key: str, data: bytes) -> str:
        return str(self.s3.put_object(Bucket=self.source, Key=key, Body=data)["ETag"].strip('"'))


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

    for client in (runtime.pipeline.storage.s3, runtime.sqs):
        client.meta.events.register("before-parameter-build", record)
