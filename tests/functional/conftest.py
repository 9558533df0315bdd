"""Fixtures: moto's server on 127.0.0.1, and a fresh set of buckets and queues per test."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from emulated_aws import REGION, Stack, StreamedBody, record_calls
from moto.server import ThreadedMotoServer

from resizer import handler


@pytest.fixture(scope="session")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def aws_env(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


_names = itertools.count()


@pytest.fixture
def stack(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    n = next(_names)
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    source, destination = f"source-{n}", f"destination-{n}"
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=destination)
    dlq_url = sqs.create_queue(QueueName=f"dlq-{n}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
    queue_url = sqs.create_queue(
        QueueName=f"queue-{n}",
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": (
                f'{{"deadLetterTargetArn":"{dlq_arn["Attributes"]["QueueArn"]}",'
                '"maxReceiveCount":"3"}'
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
    monkeypatch.setenv("DESTINATION_BUCKET", destination)
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
    handler.runtime.cache_clear()
    record_calls(handler.runtime())
    built = Stack(s3, sqs, source, destination, queue_url, dlq_url, queue_arn)
    yield built
    handler.runtime.cache_clear()


@pytest.fixture
def fail_s3_keys() -> Callable[[str], None]:
    """Make the handler's S3 client answer 503 SlowDown for keys containing a marker."""
    markers: list[str] = []

    def slow_down(request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        if any(marker in request.url for marker in markers):
            return AWSResponse(
                request.url,
                503,
                {},
                StreamedBody(b"<Error><Code>SlowDown</Code><Message>Slow down</Message></Error>"),
            )
        return None

    def add(marker: str) -> None:
        if not markers:
            handler.runtime().pipeline.storage.s3.meta.events.register("before-send.s3", slow_down)
        markers.append(marker)

    return add
