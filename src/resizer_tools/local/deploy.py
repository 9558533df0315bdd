"""Deploy the template into the emulator, then apply what the emulator skips.

moto's CloudFormation creates most resources but (DESIGN.md, re-checked on moto 5.2):
- has no ``AWS::SQS::QueuePolicy``, ``AWS::Lambda::Alias``, ``AWS::S3::BucketPolicy``
  (nor alarms or SNS subscriptions, which nothing local needs), and fails the
  stack when a resource *refers* to one of them (the event source mapping on the
  ``live`` alias);
- enforces a bucket policy's ``Deny`` without its ``Condition``, so the template's
  deny-insecure-transport policies would refuse every (plain HTTP) local request:
  bucket policies are left out and reported;
- looks ``Number`` parameters up in ``Mappings`` as ints (KeyError): ``FindInMap``
  is evaluated before the deploy;
- ignores a bucket's ``NotificationConfiguration``, ``PublicAccessBlockConfiguration``
  and ``VersioningConfiguration``;
- runs an event source mapping itself, cannot run the function (no Docker), and so
  sends every message to the dead-letter queue.

So: deploy the template without the resources moto cannot create (and those that
refer to them), create those here from their definitions in the same template,
resolved against the deployed physical ids, create or switch every event source
mapping to disabled *before* the bucket notification exists (nothing can be
enqueued before that), and only then configure the notification.
"""

from __future__ import annotations

import io
import json
import logging
import time
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from resizer.errors import ConfigurationError
from resizer_tools.local.template import (
    Resolver,
    Template,
    UnresolvableError,
    references,
    replace_find_in_map,
)
from resizer_tools.ops.aws import Aws

__all__ = ["LOCAL_PARAMETERS", "Deployment", "deploy"]

log = logging.getLogger(__name__)

# Parameters for the local stack; everything else keeps the template's defaults.
LOCAL_PARAMETERS: Mapping[str, str] = {
    "Environment": "local",
    # moto sends no ObjectRemoved:DeleteMarkerCreated when an object of a versioned
    # bucket is deleted (it does send ObjectRemoved:Delete when unversioned): with
    # versioning on, deleting a source would never remove its renditions locally.
    "SourceVersioning": "false",
}
_PLACEHOLDER_README = (
    "Placeholder code for the local stack: there the local poller calls "
    "resizer.handler.lambda_handler in-process; the emulator never runs this package.\n"
)


@dataclass
class Deployment:
    """What the local deploy did: outputs, the mapping the poller plays, what it skipped."""

    stack_name: str
    outputs: dict[str, str]
    mapping_uuids: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    not_emulated: list[str] = field(default_factory=list)
    seconds: float = 0.0


def deploy(
    aws: Aws,
    template: Template,
    stack_name: str,
    parameters: Mapping[str, str] | None = None,
) -> Deployment:
    started = time.monotonic()
    given = {**LOCAL_PARAMETERS, **(parameters or {})}
    given.setdefault("CodeBucket", f"{stack_name}-code")
    given.setdefault("CodeKey", "placeholder.zip")
    _upload_placeholder(aws, given["CodeBucket"], given["CodeKey"])
    declared = set((template.document.get("Parameters") or {}).keys())
    stack_parameters = {k: v for k, v in given.items() if k in declared}

    deferred = _deferred(template)
    before_deploy = Resolver(
        parameters={**template.parameter_defaults(), **given},
        physical_ids={},
        attribute=_no_attribute,
        conditions=template.document.get("Conditions") or {},
        mappings=template.document.get("Mappings") or {},
    )
    body = _without(template, deferred, before_deploy)
    _create_stack(aws, stack_name, body, stack_parameters)

    deployment = Deployment(stack_name, _outputs(aws, stack_name))
    resolver = _resolver(aws, template, stack_name, {**template.parameter_defaults(), **given})
    # Nothing can reach the queue yet (no notification): make sure the emulator's own
    # mappings are off before that changes.
    deployment.mapping_uuids.extend(_disable_emulator_mappings(aws, resolver, template))
    for logical_id in _in_dependency_order(template, deferred):
        _create_deferred(aws, template, resolver, logical_id, deployment)
    for logical_id, resource in template.of_type("AWS::S3::Bucket"):
        if logical_id not in deferred and _wanted(resolver, resource):
            _configure_bucket(aws, resolver, logical_id, resource, deployment)
    # Outputs that name a resource created here (FunctionAliasArn) are not in the
    # emulator's stack outputs; they are resolved here instead.
    for name, output in (template.document.get("Outputs") or {}).items():
        if name not in deployment.outputs and _wanted(resolver, output):
            deployment.outputs[name] = str(resolver.resolve(output.get("Value")))
    deployment.seconds = time.monotonic() - started
    return deployment


def _upload_placeholder(aws: Aws, bucket: str, key: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", _PLACEHOLDER_README)
    try:
        aws.s3.create_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou",):
            raise
    aws.s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())


def _emulator_supports(resource_type: str) -> bool:
    from moto.cloudformation.parsing import (  # noqa: PLC0415 (moto: local stack only)
        resource_class_from_type,
    )

    logging.getLogger("moto.cloudformation.parsing").setLevel(logging.ERROR)
    return resource_class_from_type(resource_type) is not None


def _deferred(template: Template) -> set[str]:
    """Resources moto cannot create, and those that refer to them (fixpoint)."""
    deferred = {
        logical_id
        for logical_id, resource in template.resources.items()
        if not _emulator_supports(str(resource.get("Type")))
    }
    changed = True
    while changed:
        changed = False
        for logical_id, resource in template.resources.items():
            if logical_id not in deferred and references(resource.get("Properties")) & deferred:
                deferred.add(logical_id)
                changed = True
    return deferred


def _no_attribute(logical_id: str, name: str) -> str:
    raise UnresolvableError(f"{logical_id}.{name} is not known before the deploy")


def _without(template: Template, deferred: set[str], resolver: Resolver) -> str:
    """The template as deployed into the emulator: without ``deferred``, lookups done."""
    document = json.loads(json.dumps(template.document))
    document["Resources"] = replace_find_in_map(document["Resources"], resolver)
    resources = document["Resources"]
    for logical_id in deferred:
        del resources[logical_id]
    for resource in resources.values():
        depends = resource.get("DependsOn")
        if isinstance(depends, str):
            depends = [depends]
        if depends is not None:
            kept = [d for d in depends if d not in deferred]
            if kept:
                resource["DependsOn"] = kept
            else:
                del resource["DependsOn"]
    outputs = document.get("Outputs") or {}
    for name in [n for n, o in outputs.items() if references(o) & deferred]:
        del outputs[name]
    return json.dumps(document)


def _create_stack(aws: Aws, stack_name: str, body: str, parameters: Mapping[str, str]) -> None:
    cfn = aws.cloudformation
    with warnings.catch_warnings():
        # moto warns (in its server thread, same process) about every resource type it
        # skips; pytest would turn that into an error. What is skipped is reported below.
        warnings.filterwarnings("ignore", message=r"Tried to parse AWS::", category=UserWarning)
        cfn.create_stack(
            StackName=stack_name,
            TemplateBody=body,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )
    deadline = time.monotonic() + 60
    while True:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            return
        if not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
            reasons = [
                f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
                for e in cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
                if e.get("ResourceStatusReason")
            ]
            raise ConfigurationError(
                f"stack {stack_name} ended {status}: {'; '.join(reasons) or 'no reason given'}"
            )
        time.sleep(0.2)


def _outputs(aws: Aws, stack_name: str) -> dict[str, str]:
    stack = aws.cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}


def _resolver(aws: Aws, template: Template, stack_name: str, given: dict[str, str]) -> Resolver:
    stack = aws.cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    account = stack["StackId"].split(":")[4]
    pseudo = {
        "AWS::AccountId": account,
        "AWS::Region": aws.region,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": stack_name,
        "AWS::StackId": stack["StackId"],
    }
    summaries = aws.cloudformation.list_stack_resources(StackName=stack_name)
    physical_ids = {
        r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
        for r in summaries["StackResourceSummaries"]
    }
    types = {k: str(v.get("Type")) for k, v in template.resources.items()}

    def attribute(logical_id: str, name: str) -> str:
        resource_type = types.get(logical_id, "")
        if resource_type == "AWS::Lambda::Version" and name == "Version":
            # moto gives a version no usable physical id: ask Lambda for the newest one.
            function = resolver.resolve(template.resources[logical_id]["Properties"])
            versions = aws.lambda_.list_versions_by_function(FunctionName=function["FunctionName"])[
                "Versions"
            ]
            return str(max(int(v["Version"]) for v in versions if v["Version"].isdigit()))
        return _attribute(aws, resource_type, physical_ids[logical_id], name)

    resolver = Resolver(
        parameters={**given, **pseudo},
        physical_ids=physical_ids,
        attribute=attribute,
        conditions=template.document.get("Conditions") or {},
        mappings=template.document.get("Mappings") or {},
    )
    return resolver


def _attribute(aws: Aws, resource_type: str, physical_id: str, name: str) -> str:
    if resource_type == "AWS::SQS::Queue":
        if name == "Arn":
            attrs = aws.sqs.get_queue_attributes(QueueUrl=physical_id, AttributeNames=["QueueArn"])
            return attrs["Attributes"]["QueueArn"]
        if name == "QueueName":
            return physical_id.rsplit("/", 1)[-1]
        if name == "QueueUrl":
            return physical_id
    if resource_type == "AWS::S3::Bucket" and name == "Arn":
        return f"arn:aws:s3:::{physical_id}"
    if resource_type == "AWS::Lambda::Function" and name == "Arn":
        return aws.lambda_.get_function(FunctionName=physical_id)["Configuration"]["FunctionArn"]
    if resource_type in ("AWS::Lambda::Alias", "AWS::SNS::Topic") and name in ("AliasArn", "Arn"):
        return physical_id
    raise UnresolvableError(f"the local stack cannot read {resource_type}.{name}")


def _wanted(resolver: Resolver, resource: Mapping[str, Any]) -> bool:
    condition = resource.get("Condition")
    return condition is None or resolver.condition(str(condition))


def _disable_emulator_mappings(aws: Aws, resolver: Resolver, template: Template) -> list[str]:
    uuids = []
    for logical_id, _resource in template.of_type("AWS::Lambda::EventSourceMapping"):
        uuid = resolver.physical_ids.get(logical_id)
        if uuid:
            aws.lambda_.update_event_source_mapping(UUID=uuid, Enabled=False)
            uuids.append(uuid)
    return uuids


def _in_dependency_order(template: Template, deferred: set[str]) -> list[str]:
    ordered: list[str] = []

    def visit(logical_id: str, path: tuple[str, ...]) -> None:
        if logical_id in ordered:
            return
        if logical_id in path:
            raise ConfigurationError(f"circular dependency through {logical_id}")
        resource = template.resources[logical_id]
        depends = resource.get("DependsOn") or []
        needs = references(resource.get("Properties")) | set(
            [depends] if isinstance(depends, str) else depends
        )
        for other in sorted(needs & deferred):
            visit(other, (*path, logical_id))
        ordered.append(logical_id)

    for logical_id in sorted(deferred):
        visit(logical_id, ())
    return ordered


def _create_deferred(
    aws: Aws, template: Template, resolver: Resolver, logical_id: str, deployment: Deployment
) -> None:
    resource = template.resources[logical_id]
    resource_type = str(resource.get("Type"))
    if not _wanted(resolver, resource):
        return
    create = _CREATORS.get(resource_type)
    if create is None:
        reason = _NOT_EMULATED.get(resource_type, "the emulator has no such resource")
        deployment.not_emulated.append(f"{logical_id} ({resource_type}): {reason}")
        return
    properties = resolver.resolve(resource.get("Properties") or {})
    resolver.physical_ids[logical_id] = create(aws, properties, deployment)
    deployment.applied.append(f"{logical_id} ({resource_type})")


def _create_alias(aws: Aws, properties: dict[str, Any], deployment: Deployment) -> str:
    alias = aws.lambda_.create_alias(
        FunctionName=properties["FunctionName"],
        Name=properties["Name"],
        FunctionVersion=str(properties["FunctionVersion"]),
        Description=properties.get("Description", ""),
    )
    return alias["AliasArn"]


def _create_mapping(aws: Aws, properties: dict[str, Any], deployment: Deployment) -> str:
    # Created disabled: the local poller plays this mapping, with its settings.
    spec = {k: v for k, v in properties.items() if k not in ("Enabled", "Tags")}
    for key in ("BatchSize", "MaximumBatchingWindowInSeconds"):
        if key in spec:
            spec[key] = int(spec[key])
    if "ScalingConfig" in spec:
        spec["ScalingConfig"] = {k: int(v) for k, v in spec["ScalingConfig"].items()}
    mapping = aws.lambda_.create_event_source_mapping(Enabled=False, **spec)
    deployment.mapping_uuids.append(mapping["UUID"])
    return mapping["UUID"]


def _create_queue_policy(aws: Aws, properties: dict[str, Any], deployment: Deployment) -> str:
    policy = json.dumps(properties["PolicyDocument"])
    for queue_url in properties["Queues"]:
        aws.sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy})
    return ",".join(properties["Queues"])


_CREATORS: Mapping[str, Callable[[Aws, dict[str, Any], Deployment], str]] = {
    "AWS::Lambda::Alias": _create_alias,
    "AWS::Lambda::EventSourceMapping": _create_mapping,
    "AWS::SQS::QueuePolicy": _create_queue_policy,
}

# Types left out on purpose, with the reason shown by `resizer local up`.
_NOT_EMULATED: Mapping[str, str] = {
    # moto enforces a bucket policy's Deny but ignores its Condition: the template's
    # DenyInsecureTransport (aws:SecureTransport=false) would refuse every request.
    "AWS::S3::BucketPolicy": "the emulator ignores its conditions and would deny all",
    "AWS::CloudWatch::Alarm": "no metrics locally",
    "AWS::SNS::Subscription": "no e-mail locally",
    "AWS::SNS::TopicPolicy": "no alarms locally",
}


def _configure_bucket(
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
