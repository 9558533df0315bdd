"""Bring your own source bucket (ExistingSourceBucket): an EventBridge rule, no bucket.

Static checks resolve the template with the parameter set and unset (as the CDN's
tests do with Cdn=true); cfn-lint runs on the template as is, checkov also on a copy
with the parameter's default set (test_checkov.py OPTIONAL). The last test deploys
into the emulator with an existing bucket: moto's S3 emits EventBridge events when the
bucket's EventBridgeConfiguration is on and moto's EventBridge routes them by the
rule's pattern to the queue, so the event the handler renders is one the emulator
produced. What the emulator cannot show is listed in docs/infrastructure.md.
"""

from __future__ import annotations

import json
import time
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cfn_template import TEMPLATE, Resolver, load
from emulated_aws import Stack, lambda_context, moto_server
from images import jpeg
from role_policy import RolePolicy

from resizer import handler
from resizer_tools.local.deploy import deploy
from resizer_tools.local.template import Template
from resizer_tools.ops.aws import Aws

DOCUMENT = load()
BUCKET = "acme-uploads"
BYOB = {"ExistingSourceBucket": BUCKET}


def _resolved(logical_id: str, **parameters: str) -> Any:
    resolver = Resolver(DOCUMENT, parameters)
    return resolver.resolve(DOCUMENT["Resources"][logical_id]["Properties"])


def _created(**parameters: str) -> set[str]:
    resolver = Resolver(DOCUMENT, parameters)
    return {
        logical_id
        for logical_id, resource in DOCUMENT["Resources"].items()
        if "Condition" not in resource or resolver.condition(resource["Condition"])
    }


def test_default_creates_the_bucket_and_no_rule() -> None:
    assert DOCUMENT["Parameters"]["ExistingSourceBucket"]["Default"] == ""
    created = _created()
    assert {"SourceBucket", "SourceBucketPolicy"} <= created
    assert "SourceEventsRule" not in created


def test_existing_bucket_replaces_the_bucket_with_a_rule() -> None:
    assert _created() - _created(**BYOB) == {"SourceBucket", "SourceBucketPolicy"}
    assert _created(**BYOB) - _created() == {"SourceEventsRule", "BucketVersion"}


def test_the_rule_matches_s3_events_of_that_bucket_only_and_targets_the_queue() -> None:
    rule = _resolved("SourceEventsRule", **BYOB)
    assert rule["EventBusName"] == "default"
    assert rule["State"] == "ENABLED"
    assert rule["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created", "Object Deleted"],
        "detail": {"bucket": {"name": [BUCKET]}},
    }
    queue_arn = Resolver(DOCUMENT, BYOB).attribute("Queue", "Arn")
    assert [t["Arn"] for t in rule["Targets"]] == [queue_arn]


def test_queue_policy_lets_only_the_rule_send() -> None:
    resolver = Resolver(DOCUMENT, BYOB)
    (statement,) = _resolved("QueuePolicy", **BYOB)["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == resolver.attribute("Queue", "Arn")
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": resolver.attribute("SourceEventsRule", "Arn")}
    }
    # Unset: S3 sends, as before.
    (default,) = _resolved("QueuePolicy")["PolicyDocument"]["Statement"]
    assert default["Principal"] == {"Service": "s3.amazonaws.com"}


def test_queue_key_lets_the_sender_encrypt() -> None:
    def sender(**parameters: str) -> Any:
        statements = _resolved("QueueKey", **parameters)["KeyPolicy"]["Statement"]
        (statement,) = [s for s in statements if s["Sid"] == "S3SendsNotifications"]
        return statement["Principal"]["Service"]

    assert sender() == "s3.amazonaws.com"
    assert sender(**BYOB) == "events.amazonaws.com"


def test_function_role_grants_the_same_calls_on_the_existing_bucket() -> None:
    """Least privilege both ways: with the parameter, the created bucket's grants move to
    the existing bucket, nothing else changes."""
    created = RolePolicy.from_template()
    existing = RolePolicy.from_template(parameters=BYOB)
    source_arn = created.arn("SourceBucket")
    moved = {
        (action, resource.replace(source_arn, f"arn:aws:s3:::{BUCKET}"))
        for action, resource in created.grants()
    }
    assert existing.grants() == moved
    assert existing.allowed("s3:GetObject", f"arn:aws:s3:::{BUCKET}/a b.jpg")
    assert existing.allowed("s3:ListBucket", f"arn:aws:s3:::{BUCKET}")
    assert not existing.allowed("s3:PutObject", f"arn:aws:s3:::{BUCKET}/a.jpg")
    assert not existing.allowed("s3:GetObject", f"{source_arn}/a.jpg")


def test_environment_and_output_name_the_existing_bucket() -> None:
    for parameters, expected in (({}, Resolver(DOCUMENT).ref("SourceBucket")), (BYOB, BUCKET)):
        resolver = Resolver(DOCUMENT, parameters)
        function = resolver.resolve(DOCUMENT["Resources"]["Function"]["Properties"])
        assert function["Environment"]["Variables"]["SOURCE_BUCKET"] == expected
        assert resolver.resolve(DOCUMENT["Outputs"]["SourceBucketName"]["Value"]) == expected


def test_changing_the_bucket_publishes_a_new_version() -> None:
    """SOURCE_BUCKET is part of the function's configuration: BucketVersion records the
    bucket after CdnVersion's ARN, and the renditions chain starts from BucketVersion."""
    resolver = Resolver(DOCUMENT, BYOB)
    bucket_version = _resolved("BucketVersion", **BYOB)["Description"]
    assert bucket_version == f"{resolver.ref('CdnVersion')} {BUCKET}"
    first_link = DOCUMENT["Resources"]["RenditionsVersion1"]["Properties"]["Description"]
    assert first_link["Fn::Join"][1][0] == {
        "Fn::If": [
            "UseExistingSourceBucket",
            {"Fn::GetAtt": ["BucketVersion", "Version"]},
            {"Fn::GetAtt": ["CdnVersion", "Version"]},
        ]
    }
    assert "BucketVersion" not in _created()
    # The longest ARN of a version and the longest bucket name fit the 256 limit.
    longest_arn = len("arn:aws:lambda:ap-southeast-2:123456789012:function:") + 64 + 1 + 10
    assert longest_arn + 1 + DOCUMENT["Parameters"]["ExistingSourceBucket"]["MaxLength"] <= 256


# --- deployed into the emulator ---------------------------------------------------------


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_server() as endpoint:
        yield Aws(endpoint_url=endpoint)


def _turn_on_eventbridge(aws: Aws, bucket: str) -> None:
    """The documented one-time step: merge EventBridgeConfiguration into what is there."""
    current = aws.s3.get_bucket_notification_configuration(Bucket=bucket)
    current.pop("ResponseMetadata", None)
    aws.s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={**current, "EventBridgeConfiguration": {}},  # type: ignore[typeddict-item]
    )


def _wait_for(receive: Any, seconds: float = 10) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        messages: list[dict[str, Any]] = receive()
        if messages:
            return messages
    return []


def _wait_until_deleted(aws: Aws, stack_name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            stack = aws.cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        except ClientError as error:  # moto forgets a deleted stack's name at once
            if "does not exist" in str(error):
                return
            raise
        if stack["StackStatus"] == "DELETE_COMPLETE":
            return
        time.sleep(0.2)
    pytest.fail(f"{stack_name} not deleted within 30 s")


def test_deployed_with_an_existing_bucket(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    n = uuid.uuid4().hex[:8]
    bucket, other = f"acme-uploads-{n}", f"other-uploads-{n}"
    for name in (bucket, other):
        aws.s3.create_bucket(Bucket=name)
        aws.s3.put_object(Bucket=name, Key="already/there.txt", Body=b"kept")
        _turn_on_eventbridge(aws, name)
    # (moto's GetBucketNotificationConfiguration leaves EventBridgeConfiguration out
    # of its answer; that it is on shows below: the upload's event reaches the queue.)

    stack_name = f"resizer-byob-{n}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deployment = deploy(
            aws, Template.load(TEMPLATE), stack_name, {"ExistingSourceBucket": bucket}
        )
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in aws.cloudformation.list_stack_resources(StackName=stack_name)[
            "StackResourceSummaries"
        ]
    }
    assert "SourceBucket" not in resources
    outputs = deployment.outputs
    assert outputs["SourceBucketName"] == bucket

    # The rule and its SQS target exist; the queue policy names that rule.
    rule = aws.events.describe_rule(Name=resources["SourceEventsRule"])
    assert json.loads(rule["EventPattern"])["detail"] == {"bucket": {"name": [bucket]}}
    queue_url = outputs["QueueUrl"]
    attributes = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    targets = aws.events.list_targets_by_rule(Rule=resources["SourceEventsRule"])["Targets"]
    assert [t["Arn"] for t in targets] == [attributes["QueueArn"]]
    (statement,) = json.loads(attributes["Policy"])["Statement"]
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == rule["Arn"]

    # The handler, configured as the stack configures the function.
    monkeypatch.setenv("AWS_ENDPOINT_URL", str(aws.endpoint_url))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", aws.region)
    monkeypatch.setenv("DESTINATION_BUCKET", outputs["DestinationBucketName"])
    monkeypatch.setenv("SOURCE_BUCKET", outputs["SourceBucketName"])
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", outputs["DeadLetterQueueUrl"])
    handler.runtime.cache_clear()
    stack = Stack(
        aws.s3,
        aws.sqs,
        bucket,
        outputs["DestinationBucketName"],
        queue_url,
        outputs["DeadLetterQueueUrl"],
        attributes["QueueArn"],
    )

    # Another bucket's upload does not match the rule.
    aws.s3.put_object(Bucket=other, Key="not mine.jpg", Body=jpeg())
    assert stack.receive(wait=1) == []

    # An upload to the existing bucket: S3 (the emulator's) -> EventBridge -> the queue.
    key = "holiday/Café at night.jpg"
    aws.s3.put_object(Bucket=bucket, Key=key, Body=jpeg())
    messages = _wait_for(lambda: stack.receive(wait=1))
    assert len(messages) == 1
    envelope = json.loads(messages[0]["Body"])
    assert (envelope["source"], envelope["detail-type"]) == ("aws.s3", "Object Created")
    response = handler.lambda_handler(stack.lambda_event(messages), lambda_context())
    assert response == {"batchItemFailures": []}
    written = aws.s3.list_objects_v2(Bucket=stack.destination).get("Contents", [])
    rendered = sorted(o["Key"] for o in written)
    renditions = [k for k in rendered if not k.startswith("manifests/")]
    assert renditions == [f"{r}/{key}" for r in ("large", "medium", "thumbnails")], rendered
    handler.runtime.cache_clear()

    # Deleting the stack removes the rule and leaves the bucket and its objects alone.
    aws.cloudformation.delete_stack(StackName=stack_name)
    _wait_until_deleted(aws, stack_name)
    with pytest.raises(ClientError) as gone:
        aws.events.describe_rule(Name=resources["SourceEventsRule"])
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    kept = {o["Key"] for o in aws.s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert kept == {"already/there.txt", key}
