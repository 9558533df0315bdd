"""Watch a stack's events ("Renditions Ready", "Renditions Removed", "Rendition Failed").

EventBridge keeps no history, so watching means routing the events somewhere while
one watches: :func:`watching` creates a temporary rule on the stack's bus (template
parameter ``EventBusName``) matching ``source: resizer``, with a new SQS queue as its
target (the queue policy lets only that rule send), and removes the target, the rule
and the queue when the watch ends. The same calls work on the local stack (moto's
EventBridge delivers to SQS targets) and on AWS, where they need
``events:PutRule``/``PutTargets``/``RemoveTargets``/``DeleteRule`` and
``sqs:CreateQueue``/``SetQueueAttributes``/``ReceiveMessage``/``DeleteMessage``/
``DeleteQueue``.

A watcher killed outright (``kill -9``) leaves its rule and queue behind: both are
named ``resizer-events-*`` and tagged ``resizer:purpose=events-follow``, and the queue
drops messages after an hour.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from resizer.errors import ConfigurationError
from resizer.publish import SOURCE as EVENT_SOURCE
from resizer_tools.ops.aws import Aws, StackResources

__all__ = ["ResizerEvent", "Watch", "event_bus", "receive", "watching"]

log = logging.getLogger(__name__)

#: The stack parameter naming the bus; the template's default is ``default``.
BUS_PARAMETER = "EventBusName"
_DEFAULT_BUS = "default"
_PREFIX = "resizer-events-"
_TAG = ("resizer:purpose", "events-follow")
_RETENTION_S = 3600


@dataclass(frozen=True)
class Watch:
    """A temporary rule on ``bus`` and the queue it sends to."""

    bus: str
    rule: str
    rule_arn: str
    queue_url: str
    source_bucket: str


@dataclass(frozen=True)
class ResizerEvent:
    """One event, as EventBridge delivered it (``envelope``), with what to show of it."""

    detail_type: str
    time: str
    bucket: str
    key: str
    detail: dict[str, Any]
    envelope: dict[str, Any]


def event_bus(aws: Aws, stack_name: str) -> str:
    """The bus the stack's function publishes to (its ``EventBusName`` parameter)."""
    stack = aws.cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    parameters = {
        p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])
    }
    bus = parameters.get(BUS_PARAMETER, _DEFAULT_BUS)
    if not bus:
        raise ConfigurationError(
            f"stack {stack_name!r} publishes no events ({BUS_PARAMETER} is empty); "
            f"deploy it with {BUS_PARAMETER}=default (or a bus of yours)"
        )
    return bus


@contextmanager
def watching(aws: Aws, stack: StackResources, bus: str) -> Iterator[Watch]:
    """A rule on ``bus`` routing resizer's events to a new queue; removed on exit."""
    name = f"{_PREFIX}{secrets.token_hex(4)}"
    tags = {_TAG[0]: _TAG[1], "resizer:stack": stack.stack_name}
    queue_url = aws.sqs.create_queue(
        QueueName=name,
        Attributes={"MessageRetentionPeriod": str(_RETENTION_S), "SqsManagedSseEnabled": "true"},
        tags=tags,
    )["QueueUrl"]
    rule_arn = ""
    try:
        queue_arn = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        rule_arn = aws.events.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern=json.dumps({"source": [EVENT_SOURCE]}),
            State="ENABLED",
            Description=f"temporary: `resizer events` on stack {stack.stack_name}",
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )["RuleArn"]
        aws.sqs.set_queue_attributes(
            QueueUrl=queue_url, Attributes={"Policy": _queue_policy(queue_arn, rule_arn)}
        )
        aws.events.put_targets(
            Rule=name, EventBusName=bus, Targets=[{"Id": "watcher", "Arn": queue_arn}]
        )
        yield Watch(bus, name, rule_arn, queue_url, stack.source_bucket)
    finally:
        _remove(aws, bus, name, queue_url, rule_created=bool(rule_arn))


def receive(aws: Aws, watch: Watch, wait_seconds: int = 2) -> list[ResizerEvent]:
    """The events that arrived (long-polls ``wait_seconds``), this stack's only; acknowledged."""
    messages = aws.sqs.receive_message(
        QueueUrl=watch.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
    ).get("Messages", [])
    if messages:
        aws.sqs.delete_message_batch(
            QueueUrl=watch.queue_url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)
            ],
        )
    events = [parse_event(m.get("Body", "")) for m in messages]
    return [e for e in events if e is not None and e.bucket == watch.source_bucket]


def parse_event(body: str) -> ResizerEvent | None:
    """An EventBridge envelope -> :class:`ResizerEvent`; None when it is not resizer's."""
    try:
        envelope = json.loads(body)
    except ValueError:
        return None
    if not isinstance(envelope, dict) or envelope.get("source") != EVENT_SOURCE:
        return None
    detail = envelope.get("detail")
    if isinstance(detail, str):  # some deliveries keep Detail as the string PutEvents sent
        try:
            detail = json.loads(detail)
        except ValueError:
            detail = {}
    if not isinstance(detail, dict):
        detail = {}
    # "Renditions Ready" carries the manifest (source.bucket/key); the others bucket/key.
    source = detail.get("source")
    if not isinstance(source, dict):
        source = {}
    return ResizerEvent(
        detail_type=str(envelope.get("detail-type", "")),
        time=str(envelope.get("time", "")),
        bucket=str(detail.get("bucket") or source.get("bucket") or ""),
        key=str(detail.get("key") or source.get("key") or ""),
        detail=detail,
        envelope=envelope,
    )


def _queue_policy(queue_arn: str, rule_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OnlyThisRuleSends",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
    )


def _remove(aws: Aws, bus: str, rule: str, queue_url: str, *, rule_created: bool) -> None:
    """Target, rule, queue: each step tried even when one before it failed."""
    steps: list[tuple[str, Any]] = []
    if rule_created:
        steps += [
            (
                "remove the rule's target",
                lambda: aws.events.remove_targets(Rule=rule, EventBusName=bus, Ids=["watcher"]),
            ),
            ("delete the rule", lambda: aws.events.delete_rule(Name=rule, EventBusName=bus)),
        ]
    steps.append(("delete the queue", lambda: aws.sqs.delete_queue(QueueUrl=queue_url)))
    for what, step in steps:
        try:
            step()
        except (BotoCoreError, ClientError) as error:
            log.warning("could not %s (%s on bus %s, %s): %s", what, rule, bus, queue_url, error)
