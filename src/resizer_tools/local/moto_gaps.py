"""What moto's CloudFormation cannot do, and what the local deploy does instead.

Applied by :func:`resizer_tools.local.deploy.deploy`.

Each gap (re-checked on moto 5.2), then what the local stack does about it:

- No ``AWS::SQS::QueuePolicy``, ``AWS::Lambda::Alias`` or ``AWS::IAM::OIDCProvider``;
  no version replacement; a failing resource breaks the API's answer.
  -> Taught to the emulator's CloudFormation itself
  (:mod:`resizer_tools.local.moto_cloudformation`), so the AWS CLI's change sets
  (``scripts/aws_cli_deploy.sh``) execute there too.
- Resource types the emulator has not at all (CloudFront, alarms...).
  -> Deployed without them (and what refers to them), reported (:data:`NOT_EMULATED`).
- A bucket policy's ``Deny`` is enforced without its ``Condition``: the
  deny-insecure-transport policies would refuse every plain-HTTP local request.
  -> Bucket policies are left out and reported (:data:`NOT_EMULATED`).
- Alarms, SNS subscriptions and topic policies do nothing locally.
  -> Left out and reported.
- ``Number`` parameters are looked up in ``Mappings`` as ints (KeyError).
  -> ``FindInMap`` is evaluated before the deploy.
- A bucket's ``NotificationConfiguration``, ``PublicAccessBlockConfiguration`` and
  ``VersioningConfiguration`` are ignored.
  -> Applied here with the S3 API (:func:`configure_bucket`), the notification last.
- An event source mapping is run by the emulator itself, which cannot run the function
  (no Docker) and so sends every message to the dead-letter queue.
  -> Every mapping is created or switched to disabled before the notification exists;
  the local poller plays it.
- No ``ObjectRemoved:DeleteMarkerCreated`` when an object of a versioned bucket is
  deleted. -> The local stack deploys with ``SourceVersioning=false``
  (:data:`LOCAL_PARAMETERS`).
- An event source mapping on an alias records the version the alias pointed to, not
  the alias. -> The poller finds the alias back (the one alias on that version, or
  the function's only alias once it moved) and follows it
  (:mod:`resizer_tools.local.mapping`).
- ``Fn::GetAtt`` of a few types cannot be read from the stack.
  -> Read from the service APIs (:func:`attribute`).
- A function's ``Environment.Variables`` keep the types moto's CloudFormation parsed
  them to (a ``Number`` parameter becomes an int), and ``GetFunctionConfiguration``
  returns them so; AWS always returns strings, and botocore refuses an int when what
  was read is written back (``update-function-configuration``).
  -> Stored as strings, as Lambda stores them (:func:`install_string_environment`,
  installed when the emulator starts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from resizer_tools.local.template import Resolver, UnresolvableError
from resizer_tools.ops.aws import Aws

if TYPE_CHECKING:
    from resizer_tools.local.deploy import Deployment

# Parameters for the local stack; everything else keeps the template's defaults.
LOCAL_PARAMETERS: Mapping[str, str] = {
    "Environment": "local",
    # moto sends no ObjectRemoved:DeleteMarkerCreated when an object of a versioned
    # bucket is deleted (it does send ObjectRemoved:Delete when unversioned): with
    # versioning on, deleting a source would never remove its renditions locally.
    "SourceVersioning": "false",
}


def emulator_supports(resource_type: str) -> bool:
    from moto.cloudformation.parsing import (  # noqa: PLC0415 (moto: local stack only)
        resource_class_from_type,
    )

    logging.getLogger("moto.cloudformation.parsing").setLevel(logging.ERROR)
    return resource_class_from_type(resource_type) is not None


def install_string_environment() -> None:
    """Make moto keep every Lambda environment value as a string (idempotent).

    Lambda's API: ``Environment.Variables`` is a map of String to String
    (https://docs.aws.amazon.com/lambda/latest/api/API_EnvironmentResponse.html,
    https://docs.aws.amazon.com/lambda/latest/api/API_Environment.html); CloudFormation
    passes a ``Number`` parameter on as the string given. moto's function model holds
    the map in ``environment_vars``, set at creation and by every update (API or
    CloudFormation) and copied into each published version: one property covers them all.
    """
    from moto.awslambda.models import LambdaFunction  # noqa: PLC0415 (local stack only)

    if isinstance(getattr(LambdaFunction, "environment_vars", None), property):
        return

    def get(self: Any) -> dict[str, str]:
        return self.__dict__.setdefault("_string_environment", {})  # type: ignore[no-any-return]

    def put(self: Any, variables: Mapping[str, Any] | None) -> None:
        self.__dict__["_string_environment"] = {
            str(name): lambda_string(value) for name, value in (variables or {}).items()
        }

    LambdaFunction.environment_vars = property(get, put)


def lambda_string(value: Any) -> str:
    """An environment value as Lambda holds it (CloudFormation's spelling of booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _queue_attribute(aws: Aws, physical_id: str, name: str) -> str | None:
    if name == "Arn":
        attrs = aws.sqs.get_queue_attributes(QueueUrl=physical_id, AttributeNames=["QueueArn"])
        return attrs["Attributes"]["QueueArn"]
    if name == "QueueName":
        return physical_id.rsplit("/", 1)[-1]
    if name == "QueueUrl":
        return physical_id
    return None


def attribute(aws: Aws, resource_type: str, physical_id: str, name: str) -> str:
    if resource_type == "AWS::SQS::Queue":
        value = _queue_attribute(aws, physical_id, name)
        if value is not None:
            return value
    if resource_type == "AWS::S3::Bucket" and name == "Arn":
        return f"arn:aws:s3:::{physical_id}"
    if resource_type == "AWS::Lambda::Function" and name == "Arn":
        return aws.lambda_.get_function(FunctionName=physical_id)["Configuration"]["FunctionArn"]
    if resource_type in ("AWS::Lambda::Alias", "AWS::SNS::Topic") and name in ("AliasArn", "Arn"):
        return physical_id
    if resource_type == "AWS::Events::Rule" and name == "Arn":  # ExistingSourceBucket's rule
        return aws.events.describe_rule(Name=physical_id)["Arn"]
    raise UnresolvableError(f"the local stack cannot read {resource_type}.{name}")


# Types the local deploy creates itself (none today: moto_cloudformation's
# install_stack_gaps taught the emulator's CloudFormation the ones it lacked).
CREATORS: Mapping[str, Callable[[Aws, dict[str, Any], Deployment], str]] = {}

# Types left out on purpose, with the reason shown by `resizer local up`.
NOT_EMULATED: Mapping[str, str] = {
    # moto enforces a bucket policy's Deny but ignores its Condition: the template's
    # DenyInsecureTransport (aws:SecureTransport=false) would refuse every request.
    "AWS::S3::BucketPolicy": "the emulator ignores its conditions and would deny all",
    "AWS::CloudWatch::Alarm": "no metrics locally",
    "AWS::SNS::Subscription": "no e-mail locally",
    "AWS::SNS::TopicPolicy": "no alarms locally",
    # The optional CDN (Cdn=true): no CloudFront locally; read the renditions from the
    # destination bucket at <endpoint>/<bucket>/<rendition>/<key> instead.
    "AWS::CloudFront::Distribution": "no CDN locally: read the destination bucket directly",
    "AWS::CloudFront::OriginAccessControl": "no CDN locally",
    "AWS::CloudFront::CachePolicy": "no CDN locally",
}


def configure_bucket(
    aws: Aws,
    resolver: Resolver,
    logical_id: str,
    resource: Mapping[str, Any],
    deployment: Deployment,
) -> None:
    bucket = resolver.physical_ids[logical_id]
    raw = resource.get("Properties") or {}
    if "PublicAccessBlockConfiguration" in raw:
        block = resolver.resolve(raw["PublicAccessBlockConfiguration"])
        aws.s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={k: _bool(v) for k, v in block.items()},  # type: ignore[arg-type]
        )
        deployment.applied.append(f"{logical_id}.PublicAccessBlockConfiguration")
    if "VersioningConfiguration" in raw:
        status = resolver.resolve(raw["VersioningConfiguration"]).get("Status", "Suspended")
        aws.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
        deployment.applied.append(f"{logical_id}.VersioningConfiguration")
    if "NotificationConfiguration" in raw:
        notification = resolver.resolve(raw["NotificationConfiguration"])
        aws.s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration=_notification(notification)
        )
        deployment.applied.append(f"{logical_id}.NotificationConfiguration")


def _notification(cfn: Mapping[str, Any]) -> Any:
    """CloudFormation's notification shape -> the S3 API's."""
    targets = (
        ("QueueConfigurations", "Queue", "QueueArn"),
        ("TopicConfigurations", "Topic", "TopicArn"),
        ("LambdaConfigurations", "Function", "LambdaFunctionArn"),
    )
    api: dict[str, Any] = {}
    for section, cfn_key, api_key in targets:
        for item in cfn.get(section) or []:
            entry: dict[str, Any] = {api_key: item[cfn_key], "Events": [item["Event"]]}
            rules = ((item.get("Filter") or {}).get("S3Key") or {}).get("Rules")
            if rules:
                entry["Filter"] = {"Key": {"FilterRules": rules}}
            api.setdefault(section, []).append(entry)
    if cfn.get("EventBridgeConfiguration") is not None:
        api["EventBridgeConfiguration"] = {}
    return api


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"
