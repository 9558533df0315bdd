"""``resizer events``: a temporary EventBridge rule and queue show a stack's events.

Events are put on the local stack's bus by hand here, shaped as the issue specifies;
the function's own events are watched end to end in the demo and handler tests.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from e2e import wait_for
from typer.testing import CliRunner

from resizer.errors import ConfigurationError
from resizer_tools.cli.app import app
from resizer_tools.local.stack import LocalStack
from resizer_tools.ops.aws import Aws, StackResources
from resizer_tools.ops.events import event_bus, receive, watching

pytestmark = pytest.mark.integration


def _put(aws: Aws, detail_type: str, detail: dict[str, object], source: str = "resizer") -> None:
    response = aws.events.put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "EventBusName": "default",
            }
        ]
    )
    assert response["FailedEntryCount"] == 0


def _three_events(aws: Aws, bucket: str) -> None:
    manifest = {
        "version": 1,
        "source": {"bucket": bucket, "key": "a/b.jpg", "etag": "e", "width": 4, "height": 3},
        "config": "abc",
        "renditions": [
            {"name": "large", "key": "large/a/b.jpg", "format": "JPEG", "width": 4, "height": 3}
        ],
    }
    _put(aws, "Renditions Ready", manifest)
    _put(aws, "Renditions Removed", {"bucket": bucket, "key": "gone.jpg"})
    _put(
        aws,
        "Rendition Failed",
        {"bucket": bucket, "key": "bad.jpg", "error_type": "CorruptImageError", "reason": "r"},
    )


def _leftovers(aws: Aws) -> tuple[list[str], list[str]]:
    rules = [r["Name"] for r in aws.events.list_rules(NamePrefix="resizer-events-")["Rules"]]
    queues = aws.sqs.list_queues(QueueNamePrefix="resizer-events-").get("QueueUrls", [])
    return rules, queues


def test_a_watch_sees_this_stacks_events_and_leaves_nothing_behind(
    aws: Aws, resources: StackResources
) -> None:
    got = []
    with watching(aws, resources, "default") as watch:
        rules, queues = _leftovers(aws)
        assert rules == [watch.rule]
        assert queues == [watch.queue_url]
        policy = json.loads(
            aws.sqs.get_queue_attributes(QueueUrl=watch.queue_url, AttributeNames=["Policy"])[
                "Attributes"
            ]["Policy"]
        )
        assert policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == watch.rule_arn
        _put(aws, "Renditions Ready", {"source": {"bucket": "another-stack", "key": "x.jpg"}})
        _put(aws, "Something Else", {"bucket": resources.source_bucket, "key": "x"}, "not-resizer")
        _three_events(aws, resources.source_bucket)
        deadline = time.monotonic() + 15
        while len(got) < 3 and time.monotonic() < deadline:
            got.extend(receive(aws, watch, wait_seconds=1))
        # Nothing more: the other stack's and the other source's events were not shown.
        got.extend(receive(aws, watch, wait_seconds=1))
    assert [(e.detail_type, e.key) for e in got] == [
        ("Renditions Ready", "a/b.jpg"),
        ("Renditions Removed", "gone.jpg"),
        ("Rendition Failed", "bad.jpg"),
    ]
    assert got[0].detail["renditions"][0]["key"] == "large/a/b.jpg"
    assert got[2].detail["error_type"] == "CorruptImageError"
    assert _leftovers(aws) == ([], [])


def test_a_watch_that_fails_still_removes_its_rule_and_queue(
    aws: Aws, resources: StackResources
) -> None:
    during = []

    def crash() -> None:
        with watching(aws, resources, "default"):
            during.append(_leftovers(aws))
            raise RuntimeError("the watcher crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        crash()
    assert during[0] != ([], [])
    assert _leftovers(aws) == ([], [])


def test_the_bus_is_the_stacks_event_bus_parameter(aws: Aws) -> None:
    template = {
        "Parameters": {"EventBusName": {"Type": "String", "Default": "default"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    }
    for name, value in (("bus-custom", "custom"), ("bus-off", "")):
        aws.cloudformation.create_stack(
            StackName=name,
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "EventBusName", "ParameterValue": value}],
        )
    assert event_bus(aws, "bus-custom") == "custom"
    with pytest.raises(ConfigurationError, match="EventBusName is empty"):
        event_bus(aws, "bus-off")


def test_resizer_events_prints_the_events_and_cleans_up(
    local_stack: LocalStack, aws: Aws, resources: StackResources
) -> None:
    def targeted() -> bool:
        rules = _leftovers(aws)[0]
        return bool(rules) and bool(aws.events.list_targets_by_rule(Rule=rules[0])["Targets"])

    def publish_once_watching() -> None:
        # Once the rule has its target: an event put before that is routed nowhere.
        wait_for(targeted, what="the temporary rule and its target")
        _three_events(aws, resources.source_bucket)

    publisher = threading.Thread(target=publish_once_watching)
    publisher.start()
    result = CliRunner().invoke(
        app,
        [
            "events",
            "--endpoint",
            local_stack.endpoint_url,
            "--stack-name",
            resources.stack_name,
            "--count",
            "3",
            "--seconds",
            "30",
            "--json",
        ],
    )
    publisher.join()
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line["detail-type"] for line in lines] == [
        "Renditions Ready",
        "Renditions Removed",
        "Rendition Failed",
    ]
    assert all(line["source"] == "resizer" for line in lines)
    assert _leftovers(aws) == ([], [])


def test_resizer_events_names_a_stack_without_events(
    local_stack: LocalStack, resources: StackResources
) -> None:
    result = CliRunner().invoke(
        app,
        ["events", "--endpoint", local_stack.endpoint_url, "--stack-name", "no-such-stack"],
    )
    assert result.exit_code == 2
    assert "no-such-stack" in result.output
