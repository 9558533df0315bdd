"""Least privilege cannot drift from the code.

Every AWS call the handler made in these functional tests (recorded with botocore
event hooks) must be allowed by the function role in infra/template.yaml, and the
role must allow nothing that neither the code nor the Lambda service needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from cfn_template import ACCOUNT, REGION  # tests/infra, on pytest's pythonpath
from emulated_aws import CALLS, Call, Stack
from PIL import Image
from role_policy import RolePolicy, required

from resizer.notifications import created_record, notification_body

NAMES = {
    "SourceBucket": "source",
    "DestinationBucket": "destination",
    "DeadLetterQueue": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/dlq",
}

#: Grants the handler's code never uses itself: Lambda uses them on its behalf.
SERVICE_GRANTS = {
    # The event source mapping polls the queue with the function's role.
    ("sqs:ReceiveMessage", "Queue"),
    ("sqs:DeleteMessage", "Queue"),
    ("sqs:GetQueueAttributes", "Queue"),
    # SQS calls KMS with the caller's credentials: decrypt on receive, data key on send.
    ("kms:Decrypt", "QueueKey"),
    ("kms:GenerateDataKey", "QueueKey"),
    # Lambda writes the function's logs (and its EMF metrics) with the role.
    ("logs:CreateLogStream", "LogGroup"),
    ("logs:PutLogEvents", "LogGroup"),
}


def _template_name(name: str) -> str:
    """Test resources are named '<kind>-<n>' (see conftest); the policy knows '<kind>'."""
    return name.rstrip("/").rsplit("/", 1)[-1].split("-", 1)[0]


def needs(call: Call) -> Iterator[tuple[str, str]]:
    """The IAM (action, resource ARN) pairs one API call needs, under the template's names."""
    params = dict(call.params)
    for field in ("Bucket", "QueueUrl"):
        if field in params:
            params[field] = _template_name(params[field])
    yield from required(call.service, call.operation, params)
    if call.operation in {"HeadObject", "GetObject"}:
        # Without ListBucket a missing key answers 403, not 404, and "source gone"
        # (a permanent error) would look like a transient one.
        yield "s3:ListBucket", f"arn:aws:s3:::{params['Bucket']}"


def test_workload_covers_every_code_path(stack: Stack, tmp_path: Path) -> None:
    """Render, duplicate, removal and dead-letter paths, so CALLS holds every kind of call."""
    photo = tmp_path / "p.png"
    Image.new("RGB", (300, 200), "teal").save(photo)
    etag = stack.put("dir/p.png", photo.read_bytes())
    stack.put("bad.jpg", b"not an image")
    stack.invoke()
    stack.sqs.send_message(
        QueueUrl=stack.queue_url,
        MessageBody=notification_body([created_record(stack.source, "dir/p.png", etag=etag)]),
    )
    stack.s3.delete_object(Bucket=stack.source, Key="dir/p.png")
    response, _ = stack.invoke()
    assert response["batchItemFailures"] == []
    operations = {(c.service, c.operation) for c in CALLS}
    assert {("s3", "GetObject"), ("s3", "PutObject"), ("s3", "DeleteObjects")} <= operations
    assert ("sqs", "SendMessage") in operations


def test_every_recorded_call_is_allowed_and_every_grant_is_used() -> None:
    assert CALLS, "run with the other functional tests: no AWS call was recorded"
    policy = RolePolicy.from_template(names=NAMES)
    used: set[tuple[str, str]] = set()
    for call in CALLS:
        for action, arn in needs(call):
            assert policy.allowed(action, arn), f"{call.operation} needs {action} on {arn}"
            used |= {
                (action, resource)
                for statement in policy.statements()
                if statement.effect == "Allow" and statement.matches(action, arn)
                for resource in statement.resources
            }
    service = {(action, policy.arn(logical)) for action, logical in SERVICE_GRANTS}
    unused = {
        (action, resource)
        for action, resource in policy.grants() - used
        if not any(fnmatch_pair(action, resource, s) for s in service)
    }
    assert not unused, f"the role grants what neither the code nor Lambda uses: {sorted(unused)}"


def fnmatch_pair(action: str, resource: str, granted: tuple[str, str]) -> bool:
    return action.lower() == granted[0].lower() and resource.startswith(granted[1])
