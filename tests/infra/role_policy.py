"""What the function's IAM role allows, read from infra/template.yaml.

The role's inline policies are resolved for sample names (or for the names you
give) and evaluated the way IAM does for these simple statements: an action and
a resource are allowed when an ``Allow`` statement matches both (``*`` and ``?``
wildcards) and no ``Deny`` does. Statements with conditions are refused rather
than guessed at. Reusable outside tests/infra, e.g. to check the calls the
handler really makes::

    # tests/infra is on pytest's pythonpath (pyproject.toml)
    from role_policy import RolePolicy
    policy = RolePolicy.from_template(
        names={"SourceBucket": "my-src", "Queue": queue_url}, region="us-east-1"
    )
    assert policy.allowed("s3:GetObject", "arn:aws:s3:::my-src/photo.jpg")

``names`` maps logical ids to what ``Ref`` returns (bucket names, queue URLs, the
KMS key id, the log group name); unnamed resources get sample names, see
:mod:`cfn_template`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from cfn_template import ACCOUNT, REGION, TEMPLATE, Resolver, load

ROLE = "FunctionRole"


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    sid: str = ""

    def matches(self, action: str, resource: str) -> bool:
        return any(fnmatchcase(action.lower(), a.lower()) for a in self.actions) and any(
            fnmatchcase(resource, r) for r in self.resources
        )


@dataclass(frozen=True)
class RolePolicy:
    """The role's resolved policy documents, by policy name."""

    documents: Mapping[str, Mapping[str, Any]]
    resolver: Resolver

    @classmethod
    def from_template(
        cls,
        path: Path = TEMPLATE,
        names: Mapping[str, str] | None = None,
        parameters: Mapping[str, str] | None = None,
        *,
        region: str = REGION,
        account: str = ACCOUNT,
    ) -> RolePolicy:
        resolver = Resolver(load(path), parameters, names, region=region, account=account)
        role = resolver.resources[ROLE]["Properties"]
        documents = {
            str(policy["PolicyName"]): resolver.resolve(policy["PolicyDocument"])
            for policy in role.get("Policies", [])
        }
        # Inline policies of their own (AWS::IAM::RolePolicy on this role), when their
        # Condition holds for these parameters.
        for resource in resolver.resources.values():
            properties = resource.get("Properties") or {}
            if resource["Type"] != "AWS::IAM::RolePolicy" or properties.get("RoleName") != {
                "Ref": ROLE
            }:
                continue
            if "Condition" in resource and not resolver.condition(str(resource["Condition"])):
                continue
            documents[str(properties["PolicyName"])] = resolver.resolve(
                properties["PolicyDocument"]
            )
        return cls(documents, resolver)

    def statements(self) -> Iterator[Statement]:
        for name, document in self.documents.items():
            for raw in document["Statement"]:
                unsupported = set(raw) - {"Sid", "Effect", "Action", "Resource"}
                if unsupported:
                    raise NotImplementedError(
                        f"{name}/{raw.get('Sid')}: {sorted(unsupported)} not evaluated here"
                    )
                yield Statement(
                    raw["Effect"],
                    tuple(_listed(raw["Action"])),
                    tuple(_listed(raw["Resource"])),
                    str(raw.get("Sid", "")),
                )

    def grants(self) -> set[tuple[str, str]]:
        """Every (action, resource pattern) pair an Allow statement names."""
        return {
            (action, resource)
            for statement in self.statements()
            if statement.effect == "Allow"
            for action in statement.actions
            for resource in statement.resources
        }

    def allowed(self, action: str, resource_arn: str) -> bool:
        statements = list(self.statements())
        if any(s.effect == "Deny" and s.matches(action, resource_arn) for s in statements):
            return False
        return any(s.effect == "Allow" and s.matches(action, resource_arn) for s in statements)

    def arn(self, logical_id: str, suffix: str = "") -> str:
        """The ARN of a template resource under this policy's names (+ e.g. ``/key``)."""
        return self.resolver.attribute(logical_id, "Arn") + suffix


_SAMPLE: RolePolicy | None = None


def allowed(action: str, resource_arn: str) -> bool:
    """Whether the role, with the sample names, allows ``action`` on ``resource_arn``."""
    global _SAMPLE  # noqa: PLW0603 (parsed once, on first use)
    if _SAMPLE is None:
        _SAMPLE = RolePolicy.from_template()
    return _SAMPLE.allowed(action, resource_arn)


# The IAM action each API operation is authorized as, and on which resource.
# DeleteObjects is authorized per key as s3:DeleteObject; HeadObject as s3:GetObject;
# ListObjects(V2) as s3:ListBucket on the bucket.
_S3_OBJECT = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
}
_S3_BUCKET = {"ListObjects": "s3:ListBucket", "ListObjectsV2": "s3:ListBucket"}
_SQS = {
    "SendMessage": "sqs:SendMessage",
    "SendMessageBatch": "sqs:SendMessage",
    "ReceiveMessage": "sqs:ReceiveMessage",
    "DeleteMessage": "sqs:DeleteMessage",
    "DeleteMessageBatch": "sqs:DeleteMessage",
    "GetQueueAttributes": "sqs:GetQueueAttributes",
    "ChangeMessageVisibility": "sqs:ChangeMessageVisibility",
    "GetQueueUrl": "sqs:GetQueueUrl",
}


def required(
    service: str,
    operation: str,
    params: Mapping[str, Any],
    *,
    region: str = REGION,
    account: str = ACCOUNT,
) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs one API call needs.

    ``service``/``operation``/``params`` are what a botocore ``before-call`` (or
    ``provide-client-params``) hook sees, e.g. ``("s3", "HeadObject", {"Bucket": ..,
    "Key": ..})``. Unknown operations raise ``KeyError``: add them here when the
    handler starts making a new call (and to docs/CONTRACTS.md and the role).
    """
    if service == "s3":
        bucket = params["Bucket"]
        if operation in _S3_OBJECT:
            return [(_S3_OBJECT[operation], f"arn:aws:s3:::{bucket}/{params['Key']}")]
        if operation == "DeleteObjects":
            return [
                ("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{item['Key']}")
                for item in params["Delete"]["Objects"]
            ]
        return [(_S3_BUCKET[operation], f"arn:aws:s3:::{bucket}")]
    if service == "sqs":
        queue = str(params.get("QueueUrl") or params["QueueName"]).rstrip("/").rsplit("/", 1)[-1]
        return [(_SQS[operation], f"arn:aws:sqs:{region}:{account}:{queue}")]
    if service == "events" and operation == "PutEvents":
        return [
            ("events:PutEvents", f"arn:aws:events:{region}:{account}:event-bus/{bus}")
            for bus in {entry.get("EventBusName", "default") for entry in params["Entries"]}
        ]
    raise KeyError(f"{service}:{operation} is not mapped to an IAM action here")
