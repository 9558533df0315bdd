"""The function role: parliament finds nothing, and it grants exactly docs/CONTRACTS.md.

The contract lists, per resource, the calls the handler (and its SQS event
source mapping) makes. The role must allow each of them on exactly that
resource, and nothing else: no extra action, no wider resource, no ``*``.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest
from cfn_template import load
from role_policy import ROLE, RolePolicy, allowed, required

CONTRACTS = Path(__file__).resolve().parents[2] / "docs" / "CONTRACTS.md"

# The contract's resource labels -> (logical id, whether the actions act on objects).
# S3 object actions need the object ARN (bucket/*), ListBucket the bucket ARN.
LABELS = {
    "source bucket": "SourceBucket",
    "destination bucket": "DestinationBucket",
    "queue": "Queue",
    "dead-letter queue": "DeadLetterQueue",
    "KMS key of the queues": "QueueKey",
    "its log group": "LogGroup",
    # A parameter, not a resource: the bus is the account's (default) or the user's own.
    "event bus": "EventBus",
    # A parameter too (s3://bucket/key of the WATERMARK PNG): no grant when it is empty.
    "watermark object": "Watermark",
}


def contract() -> dict[str, set[str]]:
    """{logical id: actions} from the contract's "AWS calls the handler makes"."""
    text = CONTRACTS.read_text(encoding="utf-8")
    section = text.split("## AWS calls the handler makes", 1)[1].split("\n## ", 1)[0]
    calls: dict[str, set[str]] = {}
    for line in section.splitlines():
        match = re.match(r"^- (?P<label>[^:(]+?)\s*(\([^)]*\))?:\s*(?P<rest>.*)$", line)
        if not match:
            continue
        label = match["label"].strip()
        assert label in LABELS, f"CONTRACTS.md names a resource this test does not map: {label!r}"
        calls[LABELS[label]] = set(re.findall(r"`([a-z0-9]+:[A-Za-z]+)`", match["rest"]))
    assert set(calls) == set(LABELS.values()), "CONTRACTS.md lost a resource"
    return calls


def _resource(policy: RolePolicy, logical_id: str, action: str) -> str:
    if logical_id == "Watermark":
        return "arn:aws:s3:::" + policy.resolver.parameters["Watermark"].removeprefix("s3://")
    if logical_id == "EventBus":
        bus = policy.resolver.parameters["EventBusName"]
        return f"arn:aws:events:{policy.resolver.region}:{policy.resolver.account}:event-bus/{bus}"
    on_objects = action.startswith("s3:") and action != "s3:ListBucket"
    return policy.arn(logical_id, "/*" if on_objects else "")


def expected_grants(policy: RolePolicy) -> set[tuple[str, str]]:
    marked = bool(policy.resolver.parameters.get("Watermark"))
    return {
        (action, _resource(policy, logical_id, action))
        for logical_id, actions in contract().items()
        if marked or logical_id != "Watermark"
        for action in actions
    }


def test_role_grants_exactly_the_contract() -> None:
    policy = RolePolicy.from_template()
    granted = policy.grants()
    expected = expected_grants(policy)
    assert sorted(granted - expected) == [], "granted but not in docs/CONTRACTS.md"
    assert sorted(expected - granted) == [], "in docs/CONTRACTS.md but not granted"


def test_the_event_bus_grant_follows_the_parameter() -> None:
    """PutEvents on the named bus alone; none at all when EventBusName is empty."""
    named = RolePolicy.from_template(parameters={"EventBusName": "images"})
    arn = named.resolver
    bus = f"arn:aws:events:{arn.region}:{arn.account}:event-bus/"
    assert named.allowed("events:PutEvents", bus + "images")
    assert not named.allowed("events:PutEvents", bus + "default")
    off = RolePolicy.from_template(parameters={"EventBusName": ""})
    assert "publish-events" not in off.documents
    assert not any(action.startswith("events:") for action, _ in off.grants())


def test_the_watermark_grant_is_that_object_alone() -> None:
    """GetObject on the WATERMARK object, nothing else of its bucket; no grant when empty."""
    policy = RolePolicy.from_template(parameters={"Watermark": "s3://brand-assets/marks/logo.png"})
    assert policy.grants() == expected_grants(policy)
    assert policy.allowed("s3:GetObject", "arn:aws:s3:::brand-assets/marks/logo.png")
    assert not policy.allowed("s3:GetObject", "arn:aws:s3:::brand-assets/marks/other.png")
    assert not policy.allowed("s3:PutObject", "arn:aws:s3:::brand-assets/marks/logo.png")
    assert _parliament_findings(dict(policy.documents["read-watermark"])) == []
    off = RolePolicy.from_template()
    assert "read-watermark" not in off.documents


def test_no_wildcard_action_or_resource() -> None:
    for action, resource in RolePolicy.from_template().grants():
        assert "*" not in action, action
        # The only wildcards: "every object of this bucket" and "every stream of
        # this log group" (what GetAtt LogGroup.Arn returns).
        assert resource.count("*") <= 1, resource
        assert resource.endswith(("/*", ":*")) or "*" not in resource, resource


def test_role_has_no_other_policies() -> None:
    document = load()
    role = document["Resources"][ROLE]["Properties"]
    assert "ManagedPolicyArns" not in role
    # The boundary comes from deploy-roles.yaml (tests/infra/test_deploy_roles.py).
    assert set(role["PermissionsBoundary"]["Fn::If"][:1]) == {"HasPermissionsBoundary"}
    attached = [
        logical_id
        for logical_id, resource in document["Resources"].items()
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
    ]
    assert attached == []
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]


def test_allowed_evaluates_actions_on_their_resources() -> None:
    policy = RolePolicy.from_template()
    source = policy.arn("SourceBucket", "/photos/cat.jpg")
    rendition = policy.arn("DestinationBucket", "/thumbnails/photos/cat.jpg")
    assert allowed("s3:GetObject", source)
    assert allowed("s3:ListBucket", policy.arn("SourceBucket"))
    assert allowed("s3:PutObject", rendition)
    assert allowed("s3:DeleteObject", rendition)
    assert allowed("sqs:SendMessage", policy.arn("DeadLetterQueue"))
    assert allowed("logs:PutLogEvents", policy.arn("LogGroup").removesuffix("*") + "log-stream:x")
    # ... and not elsewhere: the source is read-only, the queue is not written to.
    assert not allowed("s3:PutObject", source)
    assert not allowed("s3:DeleteObject", source)
    assert not allowed("s3:GetObject", "arn:aws:s3:::some-other-bucket/photos/cat.jpg")
    assert not allowed("s3:ListBucket", policy.arn("SourceBucket", "/*"))
    assert not allowed("sqs:SendMessage", policy.arn("Queue"))
    assert not allowed("sqs:ReceiveMessage", policy.arn("DeadLetterQueue"))
    assert not allowed("logs:CreateLogGroup", policy.arn("LogGroup"))
    assert not allowed("kms:Decrypt", policy.arn("OperationsKey"))


def test_allowed_takes_real_names() -> None:
    policy = RolePolicy.from_template(
        names={
            "SourceBucket": "my-source",
            "Queue": "http://127.0.0.1:5000/123456789012/my-queue",
        }
    )
    assert policy.allowed("s3:GetObject", "arn:aws:s3:::my-source/a.jpg")
    assert policy.allowed("sqs:DeleteMessage", "arn:aws:sqs:eu-west-1:123456789012:my-queue")
    assert not policy.allowed("s3:GetObject", "arn:aws:s3:::resizer-dev-source/a.jpg")


def _parliament_findings(document: dict[str, object]) -> list[str]:
    with warnings.catch_warnings():
        # parliament opens its data files without closing them (ResourceWarning at import).
        warnings.simplefilter("ignore", ResourceWarning)
        from parliament import analyze_policy_string

        analyzed = analyze_policy_string(json.dumps(document))
    return [f"{f.issue}: {f.detail} {f.location}" for f in analyzed.findings]


POLICIES = ["read-source", "write-renditions", "consume-queue", "write-logs", "publish-events"]


@pytest.mark.parametrize("name", POLICIES)
def test_parliament_finds_nothing(name: str) -> None:
    policy = RolePolicy.from_template()
    assert set(policy.documents) == set(POLICIES)
    assert _parliament_findings(dict(policy.documents[name])) == []


def test_parliament_would_find_a_mistake() -> None:
    """The linter is really looking: a bucket ARN for GetObject is a finding."""
    bad = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"}],
    }
    assert _parliament_findings(bad) != []


def test_the_handlers_calls_are_allowed_on_the_stacks_resources() -> None:
    """What storage.py and handler.py call, as the lead's recording will see it."""
    policy = RolePolicy.from_template()
    source = policy.resolver.ref("SourceBucket")
    destination = policy.resolver.ref("DestinationBucket")
    dlq_url = policy.resolver.ref("DeadLetterQueue")
    calls = [
        ("s3", "HeadObject", {"Bucket": source, "Key": "a b/photo.jpg"}),
        ("s3", "GetObject", {"Bucket": source, "Key": "a b/photo.jpg"}),
        ("s3", "HeadObject", {"Bucket": destination, "Key": "medium/a b/photo.jpg"}),
        ("s3", "PutObject", {"Bucket": destination, "Key": "medium/a b/photo.jpg"}),
        (
            "s3",
            "DeleteObjects",
            {"Bucket": destination, "Delete": {"Objects": [{"Key": "large/x.jpg"}]}},
        ),
        ("s3", "ListObjectsV2", {"Bucket": source}),
        ("sqs", "SendMessage", {"QueueUrl": dlq_url, "MessageBody": "{}"}),
    ]
    for service, operation, params in calls:
        for action, resource in required(service, operation, params):
            assert policy.allowed(action, resource), (service, operation, params)
    # ... and what it must not do.
    for service, operation, params in [
        ("s3", "PutObject", {"Bucket": source, "Key": "x.jpg"}),
        ("s3", "DeleteObjects", {"Bucket": source, "Delete": {"Objects": [{"Key": "x"}]}}),
        ("sqs", "GetQueueUrl", {"QueueName": "anything"}),
        ("sqs", "SendMessage", {"QueueUrl": policy.resolver.ref("Queue")}),
    ]:
        assert not all(policy.allowed(a, r) for a, r in required(service, operation, params))
    with pytest.raises(KeyError):
        required("s3", "PutBucketPolicy", {"Bucket": source})
