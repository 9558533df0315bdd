"""Deploy ``infra/template.yaml`` into the emulator, then apply what the emulator skips.

The emulator's gaps, and what is done about each, are listed in
:mod:`resizer_tools.local.moto_gaps`. In short: deploy the template without the
resources the emulator has no model for (and those that refer to them), switch every
event source mapping to disabled *before* the bucket notification exists (nothing can
be enqueued before that), and only then configure the notification.
:func:`adopt` does the second half for a stack the AWS CLI deployed into the emulator
(``make rehearse``).
"""

from __future__ import annotations

import io
import json
import logging
import time
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from resizer.errors import ConfigurationError
from resizer_tools.local import moto_gaps
from resizer_tools.local.moto_cloudformation import install_stack_gaps
from resizer_tools.local.moto_gaps import LOCAL_PARAMETERS
from resizer_tools.local.template import (
    Resolver,
    Template,
    UnresolvableError,
    references,
    replace_find_in_map,
)
from resizer_tools.ops.aws import Aws

__all__ = ["LOCAL_PARAMETERS", "Deployment", "adopt", "deploy"]

log = logging.getLogger(__name__)

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
    install_stack_gaps()
    template = _without_absent_references(template)
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
    _complete(aws, template, resolver, deferred, deployment)
    deployment.seconds = time.monotonic() - started
    return deployment


def adopt(aws: Aws, template: Template, stack_name: str) -> Deployment:
    """Complete a stack the emulator's CloudFormation deployed by itself, as :func:`deploy`.

    For a stack the AWS CLI created with a change set (``scripts/aws_cli_deploy.sh``
    against the emulator, ``make rehearse``): its event source mappings are switched
    off (the local poller plays them) before the buckets' notifications, versioning
    and public access blocks, which the emulator's CloudFormation ignores, are applied
    from the template with the stack's own parameters. Run it after every deploy.
    """
    started = time.monotonic()
    install_stack_gaps()
    stack = aws.cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    given = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    deployment = Deployment(stack_name, _outputs(aws, stack_name))
    resolver = _resolver(aws, template, stack_name, {**template.parameter_defaults(), **given})
    _complete(aws, template, resolver, _deferred(template), deployment)
    deployment.seconds = time.monotonic() - started
    return deployment


def _complete(
    aws: Aws, template: Template, resolver: Resolver, deferred: set[str], deployment: Deployment
) -> None:
    """What the emulator's CloudFormation leaves undone, in the only safe order."""
    # Nothing can reach the queue yet (no notification): make sure the emulator's own
    # mappings are off before that changes.
    for uuid in _disable_emulator_mappings(aws, resolver, template):
        if uuid not in deployment.mapping_uuids:
            deployment.mapping_uuids.append(uuid)
    for logical_id in _in_dependency_order(template, deferred):
        _create_deferred(aws, template, resolver, logical_id, deployment)
    for logical_id, resource in template.of_type("AWS::S3::Bucket"):
        if logical_id not in deferred and _wanted(resolver, resource):
            moto_gaps.configure_bucket(aws, resolver, logical_id, resource, deployment)
    # Outputs that name a resource created here are not in the emulator's stack
    # outputs; they are resolved here instead. Those naming a resource not emulated
    # (the CDN's) are left out.
    missing = {logical_id for logical_id in deferred if logical_id not in resolver.physical_ids}
    for name, output in (template.document.get("Outputs") or {}).items():
        if name in deployment.outputs or not _wanted(resolver, output):
            continue
        if not references(output.get("Value")) & missing:
            deployment.outputs[name] = str(resolver.resolve(output.get("Value")))


def _upload_placeholder(aws: Aws, bucket: str, key: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", _PLACEHOLDER_README)
    try:
        aws.s3.create_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou",):
            raise
    try:  # a real build uploaded there (the AWS CLI recipe's test) is kept
        aws.s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        aws.s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())


def _absent(template: Template) -> set[str]:
    """Resources the emulator has not at all and the local deploy does not create."""
    return {
        logical_id
        for logical_id, resource in template.resources.items()
        if not moto_gaps.emulator_supports(str(resource.get("Type")))
        and str(resource.get("Type")) not in moto_gaps.CREATORS
    }


def _without_absent_references(template: Template) -> Template:
    """``template`` with "" where an emulated resource's property names an absent one.

    The function's CDN_URL is the CloudFront distribution's domain: locally there is
    no CDN (read the destination bucket directly), so the setting is empty rather than
    the function left undeployed.
    """
    absent = _absent(template)

    def blank(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) <= {"Ref", "Fn::GetAtt", "Fn::Sub"} and references(value) & absent:
                return ""
            return {key: blank(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [blank(inner) for inner in value]
        return value

    document = json.loads(json.dumps(template.document))
    for logical_id, resource in document["Resources"].items():
        if logical_id not in absent and "Properties" in resource:
            resource["Properties"] = blank(resource["Properties"])
    return Template(template.path, template.body, document)


def _deferred(template: Template) -> set[str]:
    """Resources moto cannot create, and those that refer to them (fixpoint)."""
    deferred = {
        logical_id
        for logical_id, resource in template.resources.items()
        if not moto_gaps.emulator_supports(str(resource.get("Type")))
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
            # The emulator's own derivative (deferred resources cut, lookups done), as a
            # body: moto sets no size limit. Deploys to AWS send infra/template.yaml by
            # URL (scripts/artifact_keys.py), never as a body (51,200 bytes at most).
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
        return moto_gaps.attribute(aws, resource_type, physical_ids[logical_id], name)

    resolver = Resolver(
        parameters={**given, **pseudo},
        physical_ids=physical_ids,
        attribute=attribute,
        conditions=template.document.get("Conditions") or {},
        mappings=template.document.get("Mappings") or {},
    )
    return resolver


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
    create = moto_gaps.CREATORS.get(resource_type)
    if create is None:
        reason = moto_gaps.NOT_EMULATED.get(resource_type, "the emulator has no such resource")
        deployment.not_emulated.append(f"{logical_id} ({resource_type}): {reason}")
        return
    properties = resolver.resolve(resource.get("Properties") or {})
    resolver.physical_ids[logical_id] = create(aws, properties, deployment)
    deployment.applied.append(f"{logical_id} ({resource_type})")
