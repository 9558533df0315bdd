"""The poller plays Lambda's SQS event source mapping: format, batching, partial failures.

A fake handler stands in for the function, on plain queues with a 1 s visibility
timeout, so that retries and the queue's own redrive happen within a test.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from e2e import wait_for

from resizer.config import usable_cpus
from resizer_tools.local.emulator import Emulator
from resizer_tools.local.poller import MappingConfig, Poller
from resizer_tools.ops.aws import Aws

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with Emulator() as emulator:
        yield Aws(emulator.endpoint_url)


@pytest.fixture
def queues(aws: Aws, request: pytest.FixtureRequest) -> tuple[str, str, str]:
    """(queue url, queue arn, dead-letter queue url): maxReceiveCount 2, visibility 1 s."""
    name = request.node.name[:60]
    dlq = aws.sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = aws.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    redrive = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": 2}
    url = aws.sqs.create_queue(
        QueueName=name,
        Attributes={"VisibilityTimeout": "1", "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    arn = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, arn["Attributes"]["QueueArn"], dlq


def _config(aws: Aws, url: str, arn: str, **changes: Any) -> MappingConfig:
    config = MappingConfig(
        uuid="test",
        queue_url=url,
        queue_arn=arn,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:fake:live",
        function_name="fake",
        function_version="1",
        handler="unused.handler",
        timeout_s=30,
        memory_mb=512,
        environment={"RESIZER_TEST_VARIABLE": "from the function"},
        batch_size=10,
        batching_window_s=0,
        concurrency=1,
        report_batch_item_failures=True,
        region=aws.region,
    )
    return replace(config, **changes)


class Recorder:
    """A fake handler: records every invocation, answers with ``respond``."""

    def __init__(self, respond: Any = None) -> None:
        self.calls: list[tuple[dict[str, Any], Any, dict[str, str]]] = []
        self.respond = respond
        self.lock = threading.Lock()
        self.active = 0
        self.most_active = 0

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        with self.lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
            self.calls.append((event, context, dict(os.environ)))
        try:
            if callable(self.respond):
                return self.respond(event)
            return self.respond
        finally:
            with self.lock:
                self.active -= 1

    def bodies(self) -> list[str]:
        return [r["body"] for event, _, _ in self.calls for r in event["Records"]]


def _depth(aws: Aws, url: str) -> int:
    attributes = aws.sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_records_and_context_have_lambdas_shape(aws: Aws, queues: tuple[str, str, str]) -> None:
    url, arn, _ = queues
    aws.sqs.send_message(
        QueueUrl=url,
        MessageBody="hello",
        MessageAttributes={
            "Kind": {"DataType": "String", "StringValue": "greeting"},
            "Blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    recorder = Recorder()
    assert "RESIZER_TEST_VARIABLE" not in os.environ
    with Poller(aws, _config(aws, url, arn), handler=recorder):
        wait_for(lambda: recorder.calls, what="an invocation")
        wait_for(lambda: _depth(aws, url) == 0, what="the message to be deleted")
    assert "RESIZER_TEST_VARIABLE" not in os.environ  # restored on stop
    event, context, environment = recorder.calls[0]
    (record,) = event["Records"]
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "md5OfMessageAttributes",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["body"] == "hello"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in record["attributes"]
    assert record["messageAttributes"]["Kind"] == {
        "stringValue": "greeting",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["Blob"]["binaryValue"] == "AAE="
    assert 0 < context.get_remaining_time_in_millis() <= 30_000
    assert context.memory_limit_in_mb == "512"
    assert context.function_name == "fake"
    assert context.invoked_function_arn.endswith(":live")
    assert context.aws_request_id
    assert environment["RESIZER_TEST_VARIABLE"] == "from the function"
    assert environment["AWS_ENDPOINT_URL"] == aws.endpoint_url
    # Every concurrent invocation shares this process: renders at once = this machine's CPUs.
    assert environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert environment["RENDER_CONCURRENCY"] == str(usable_cpus())


def test_partial_batch_deletes_only_the_successes(aws: Aws, queues: tuple[str, str, str]) -> None:
    url, arn, dlq = queues
    for body in ("ok-1", "fails", "ok-2"):
        aws.sqs.send_message(QueueUrl=url, MessageBody=body)

    def respond(event: dict[str, Any]) -> dict[str, Any]:
        failed = [r["messageId"] for r in event["Records"] if r["body"] == "fails"]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    recorder = Recorder(respond)
    with Poller(aws, _config(aws, url, arn), handler=recorder):
        # Failures come back after the visibility timeout; after maxReceiveCount the
        # queue's own redrive policy moves them to the DLQ.
        wait_for(lambda: _depth(aws, dlq) == 1, what="the failing message in the DLQ")
        wait_for(lambda: _depth(aws, url) == 0, what="an empty queue")
    bodies = recorder.bodies()
    assert bodies.count("ok-1") == 1
    assert bodies.count("ok-2") == 1
    assert bodies.count("fails") == 2


def test_a_crashing_invocation_fails_its_whole_batch(
    aws: Aws, queues: tuple[str, str, str]
) -> None:
    url, arn, _ = queues
    for body in ("a", "b"):
        aws.sqs.send_message(QueueUrl=url, MessageBody=body)
    crashed = threading.Event()

    def respond(event: dict[str, Any]) -> None:
        if not crashed.is_set():
            crashed.set()
            raise RuntimeError("the function crashed")

    recorder = Recorder(respond)
    config = _config(aws, url, arn, batching_window_s=1)
    with Poller(aws, config, handler=recorder):
        wait_for(lambda: _depth(aws, url) == 0, what="the retried batch to succeed")
    first_batch = [r["body"] for r in recorder.calls[0][0]["Records"]]
    assert sorted(first_batch) == ["a", "b"]
    assert sorted(recorder.bodies()) == ["a", "a", "b", "b"]


def test_an_invalid_partial_response_fails_the_whole_batch(
    aws: Aws, queues: tuple[str, str, str]
) -> None:
    url, arn, _ = queues
    aws.sqs.send_message(QueueUrl=url, MessageBody="x")
    answers = iter([{"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}, None])
    recorder = Recorder(lambda event: next(answers))
    with Poller(aws, _config(aws, url, arn), handler=recorder):
        wait_for(lambda: _depth(aws, url) == 0, what="the retry to succeed")
    assert recorder.bodies() == ["x", "x"]


def test_batch_size_window_and_concurrency_come_from_the_mapping(
    aws: Aws, queues: tuple[str, str, str]
) -> None:
    url, arn, _ = queues
    # No retries here: a batch still in flight after the fixture's 1 s (a loaded machine)
    # would be received again by another thread and counted twice.
    aws.sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "60"})
    for n in range(6):
        aws.sqs.send_message(QueueUrl=url, MessageBody=str(n))

    def overlapping(event: dict[str, Any]) -> None:
        # Until a second invocation runs beside this one (a fixed sleep could end first
        # on a loaded machine); a poller that invoked one at a time never gets there.
        deadline = time.monotonic() + 10
        while recorder.most_active < 2 and time.monotonic() < deadline:
            time.sleep(0.01)

    recorder = Recorder(overlapping)
    config = _config(aws, url, arn, batch_size=2, batching_window_s=1, concurrency=3)
    with Poller(aws, config, handler=recorder):
        wait_for(lambda: _depth(aws, url) == 0, what="all messages processed")
    sizes = [len(event["Records"]) for event, _, _ in recorder.calls]
    assert max(sizes) <= 2
    assert sum(sizes) == 6
    assert 2 <= recorder.most_active <= 3


def _function_with_alias(aws: Aws, name: str) -> str:
    """A moto function (never run: the poller calls the fake) with ``live`` on version 1."""
    import io
    import zipfile

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam = aws.session.client("iam", endpoint_url=aws.endpoint_url)
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("unused.py", "")
    aws.lambda_.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="unused.handler",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": {"GENERATION": "1"}},
    )
    version = aws.lambda_.publish_version(FunctionName=name)["Version"]
    return aws.lambda_.create_alias(FunctionName=name, Name="live", FunctionVersion=version)[
        "AliasArn"
    ]


def test_a_moved_alias_is_followed_between_invocations_never_during_one(
    aws: Aws, queues: tuple[str, str, str]
) -> None:
    url, arn, _ = queues
    alias_arn = _function_with_alias(aws, "followed")
    started = threading.Event()
    seen: list[tuple[str, str]] = []  # GENERATION at the start and at the end of each call

    def slow(event: dict[str, Any]) -> None:
        at_start = os.environ["GENERATION"]
        started.set()
        time.sleep(1.5)
        seen.append((at_start, os.environ["GENERATION"]))

    config = _config(
        aws,
        url,
        arn,
        function_arn=alias_arn,
        function_name="followed",
        alias="live",
        environment={"GENERATION": "1"},
    )
    moved: list[str] = []
    poller = Poller(
        aws,
        config,
        handler=Recorder(slow),
        follow_seconds=0.1,
        on_version=lambda c: moved.append(c.function_version),
    )
    with poller:
        aws.sqs.send_message(QueueUrl=url, MessageBody="during the switch")
        wait_for(started.is_set, what="the first invocation")
        aws.lambda_.update_function_configuration(
            FunctionName="followed", Environment={"Variables": {"GENERATION": "2"}}
        )
        version = aws.lambda_.publish_version(FunctionName="followed")["Version"]
        aws.lambda_.update_alias(FunctionName="followed", Name="live", FunctionVersion=version)
        wait_for(lambda: moved, what="the poller to follow the alias")
        aws.sqs.send_message(QueueUrl=url, MessageBody="after the switch")
        wait_for(lambda: len(seen) == 2, what="both invocations")
    # The switch waited for the invocation in flight; the next one ran the new version.
    assert seen == [("1", "1"), ("2", "2")]
    assert moved == [version]
    assert poller.config.function_version == version
    assert "GENERATION" not in os.environ  # restored on stop
