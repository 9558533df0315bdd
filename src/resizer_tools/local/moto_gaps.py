"""What moto's CloudFormation cannot do, and what the local deploy does instead.

Applied by :func:`resizer_tools.local.deploy.deploy`.

Each gap (re-checked on moto 5.2), then what the local stack does about it:

- No ``AWS::SQS::QueuePolicy``, ``AWS::Lambda::Alias`` or ``AWS::IAM::OIDCProvider``;
  no version replacement; a failing resource breaks the API's answer.
  -> Taught to the emulator's CloudFormation itself (:func:`install_stack_gaps`, below),
  so the AWS CLI's change sets (``scripts/aws_cli_deploy.sh``) execute there too.
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

import json
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


# Types the local deploy creates itself (none today: :func:`install_stack_gaps` taught
# the emulator's CloudFormation the ones it lacked).
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


# ---------------------------------------------------------------------------------
# The AWS CLI path: moto's CloudFormation executing the template's change sets itself
# (scripts/aws_cli_deploy.sh, `make rehearse`). Installed by :func:`install_stack_gaps`
# when the embedded emulator starts. Gaps (moto 5.2), and what is done about each:
#
# - A resource that fails while a change set executes raises straight out of
#   ExecuteChangeSet, so the emulator answers with *that service's* error (Lambda's
#   JSON, e.g. ``{"__type": "InvalidParameterValueException", ...}``) where the AWS
#   CLI expects CloudFormation's XML: "Unable to parse response ... invalid XML
#   received". On AWS, ExecuteChangeSet succeeds and the stack then fails with the
#   reason in its events. -> The failure is recorded the AWS way: the stack ends
#   ROLLBACK_COMPLETE (a create) or UPDATE_ROLLBACK_COMPLETE (an update), its events
#   say which resource failed and why, and the CLI's waiter reports it.
# - No AWS::Lambda::Alias or AWS::SQS::QueuePolicy: the alias is skipped and the event
#   source mapping on it fails ("Missing FunctionName", the error above). -> Both are
#   registered (:class:`_Alias`, :class:`_QueuePolicy`); so is the bootstrap's
#   AWS::IAM::OIDCProvider (:class:`_OidcProvider`), which moto skips (no
#   ``OidcProviderArn`` output).
# - ``!Ref AWS::NoValue`` as a list item stays in the list as a null (a role's
#   ``Policies`` with an ``!If [..., AWS::NoValue]`` item: "'NoneType' object is not
#   subscriptable"). -> Such items are dropped, as CloudFormation does.
# - A CREATE change set on a stack left REVIEW_IN_PROGRESS (a reviewed change set
#   never executed) makes a second stack of that name. -> It goes to the existing
#   stack, as on AWS (:func:`_creating_on_review`).
# - A stack created or updated by a change set keeps the outputs it had before (none
#   for a new stack). -> They are evaluated again once the change set executed.
# - An AWS::Lambda::Version cannot be updated, and nothing that refers to a replaced
#   resource is updated: a Renditions change would update the function but neither
#   publish a version nor move ``live``. -> A Version whose properties change is
#   replaced (a new version is published; the old one is kept, UpdateReplacePolicy
#   Retain), and every resource that refers to a resource whose physical id changed
#   is updated too, in template order, as CloudFormation does (:func:`_update`).
# ---------------------------------------------------------------------------------


def install_stack_gaps() -> None:
    """Teach moto's CloudFormation what the template's change sets need (idempotent)."""
    from moto.cloudformation import models as cfn_models  # noqa: PLC0415 (local stack only)
    from moto.cloudformation import parsing  # noqa: PLC0415

    if getattr(parsing.ResourceMap, "_resizer_gaps", False):
        return
    # lru_cached: this dict is the registry moto reads.
    model_map: dict[str, Any] = parsing.get_model_map()
    for model in (_Alias, _OidcProvider, _QueuePolicy, _Version):
        model_map[model.cloudformation_type()] = model
    resource_map, backend = parsing.ResourceMap, cfn_models.CloudFormationBackend
    setattr(resource_map, "update", _update_following_replacements(resource_map.update))  # noqa: B010
    setattr(parsing, "clean_json", _dropping_no_value(parsing.clean_json))  # noqa: B010
    setattr(backend, "execute_change_set", _failing_like_aws(backend.execute_change_set))  # noqa: B010
    setattr(backend, "create_change_set", _creating_on_review(backend.create_change_set))  # noqa: B010
    parsing.ResourceMap._resizer_gaps = True  # type: ignore[attr-defined]


def _lambda_backend(account_id: str, region_name: str) -> Any:
    from moto.awslambda.models import lambda_backends  # noqa: PLC0415

    return lambda_backends[account_id][region_name]


class _Alias:
    """AWS::Lambda::Alias: Ref is the alias ARN, as on AWS."""

    def __init__(self, arn: str, function_name: str, name: str) -> None:
        self.arn, self.function_name, self.name = arn, function_name, name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Alias"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "AliasArn"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    def get_cfn_attribute(self, attr: str) -> str:
        return self.arn

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _Alias:
        props = cloudformation_json["Properties"]
        backend = _lambda_backend(account_id, region_name)
        function = backend.get_function(props["FunctionName"]).function_name
        alias = backend.create_alias(
            props["Name"],
            function,
            str(props["FunctionVersion"]),
            props.get("Description", ""),
            props.get("RoutingConfig"),
        )
        return cls(alias.arn, function, props["Name"])

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: _Alias,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> _Alias:
        props = cloudformation_json["Properties"]
        _lambda_backend(account_id, region_name).update_alias(
            original_resource.name,
            original_resource.function_name,
            str(props["FunctionVersion"]),
            props.get("Description", ""),
            props.get("RoutingConfig"),
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _lambda_backend(account_id, region_name)
        # Deleting the function took its aliases along.
        if any(f.function_name == self.function_name for f in backend.list_functions()):
            backend.delete_alias(self.name, self.function_name)


class _Version:
    """AWS::Lambda::Version: a property change publishes a new version (replacement)."""

    def __init__(self, function_name: str, version: str, arn: str) -> None:
        self.function_name, self.version, self.arn = function_name, version, arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Version"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Version"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    def get_cfn_attribute(self, attr: str) -> str:
        return self.version

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _Version:
        props = cloudformation_json["Properties"]
        published = _lambda_backend(account_id, region_name).publish_version(
            props["FunctionName"], props.get("Description", "")
        )
        return cls(published.function_name, str(published.version), published.function_arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: _Version,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> _Version:
        # Replacement: Lambda hands back the newest version when nothing changed since.
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        """DeletionPolicy Delete: the function's deletion takes its versions along."""


class _QueuePolicy:
    """AWS::SQS::QueuePolicy: the Policy attribute of each queue."""

    def __init__(self, queue_urls: list[str]) -> None:
        self.queue_urls = queue_urls

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @property
    def physical_resource_id(self) -> str:
        return ",".join(self.queue_urls)

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _QueuePolicy:
        from moto.sqs.models import sqs_backends  # noqa: PLC0415

        props = cloudformation_json["Properties"]
        policy = json.dumps(props["PolicyDocument"])
        backend = sqs_backends[account_id][region_name]
        for url in props["Queues"]:
            backend.set_queue_attributes(url.rsplit("/", 1)[-1], {"Policy": policy})
        return cls(list(props["Queues"]))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: _QueuePolicy,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> _QueuePolicy:
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.sqs.models import sqs_backends  # noqa: PLC0415

        backend = sqs_backends[account_id][region_name]
        for url in self.queue_urls:
            if url.rsplit("/", 1)[-1] in backend.queues:
                backend.set_queue_attributes(url.rsplit("/", 1)[-1], {"Policy": ""})


class _OidcProvider:
    """AWS::IAM::OIDCProvider: Ref is the provider's ARN."""

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::OIDCProvider"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    def get_cfn_attribute(self, attr: str) -> str:
        return self.arn

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _OidcProvider:
        from moto.iam.models import iam_backends  # noqa: PLC0415

        props = cloudformation_json["Properties"]
        provider = iam_backends[account_id]["aws"].create_open_id_connect_provider(
            props["Url"],
            props.get("ThumbprintList") or [],
            props.get("ClientIdList") or [],
            props.get("Tags") or [],
        )
        return cls(provider.arn)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.iam.models import iam_backends  # noqa: PLC0415

        iam_backends[account_id]["aws"].delete_open_id_connect_provider(self.arn)


def _update_following_replacements(update: Callable[..., None]) -> Callable[..., None]:
    from moto.cloudformation.parsing import parse_and_update_resource  # noqa: PLC0415

    from resizer_tools.local.template import references  # noqa: PLC0415

    def physical_ids(resource_map: Any) -> dict[str, str]:
        return {
            name: str(resource.physical_resource_id)
            for name, resource in resource_map._parsed_resources.items()
            if hasattr(resource, "physical_resource_id")
        }

    def patched(self: Any, template: dict[str, Any], parameters: Any = None) -> None:
        before = physical_ids(self)
        old_parameters = dict(self.input_parameters or {})
        done_by_moto = set(self.build_resource_diff(template, parameters)["Modify"])
        update(self, template, parameters)
        # moto sees a parameter only in a plain Ref (not in Fn::Sub), and updates nothing
        # that refers to a replaced resource: both are done here, in template order.
        stale = {k for k, v in (parameters or {}).items() if old_parameters.get(k) != v}
        after = physical_ids(self)
        stale |= {name for name, value in after.items() if before.get(name, value) != value}
        for name, resource_json in template["Resources"].items():
            if name in done_by_moto or name not in after:
                continue
            if not references(resource_json.get("Properties")) & stale:
                continue
            condition = resource_json.get("Condition")
            if condition and not self.lazy_condition_map[condition]:
                continue
            changed: Any = parse_and_update_resource(
                name, resource_json, self, self._account_id, self._region_name
            )
            if changed is not None:
                self._parsed_resources[name] = changed
                if getattr(changed, "physical_resource_id", after[name]) != after[name]:
                    stale.add(name)

    return patched


def _dropping_no_value(clean_json: Callable[..., Any]) -> Callable[..., Any]:
    def patched(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, list):
            items = [(item, clean_json(item, resources_map)) for item in resource_json]
            # An intrinsic (Ref, Fn::If) that resolved to nothing: AWS::NoValue.
            return [
                value for item, value in items if value is not None or not isinstance(item, dict)
            ]
        return clean_json(resource_json, resources_map)

    return patched


def _creating_on_review(create: Callable[..., tuple[str, str]]) -> Callable[..., tuple[str, str]]:
    def patched(self: Any, **kwargs: Any) -> tuple[str, str]:
        waiting = [
            stack
            for stack in self.stacks.values()
            if stack.name == kwargs["stack_name"] and stack.status == "REVIEW_IN_PROGRESS"
        ]
        change_set_id, stack_id = create(self, **kwargs)
        if kwargs.get("change_set_type") != "CREATE" or not waiting:
            return change_set_id, stack_id
        (stack,) = waiting
        del self.stacks[stack_id]  # the duplicate moto just made
        change_set = self.change_sets[change_set_id]
        change_set.stack, change_set.stack_id = stack, stack.stack_id
        return change_set_id, stack.stack_id

    return patched


def _failing_like_aws(execute: Callable[..., None]) -> Callable[..., None]:
    def patched(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        try:
            execute(self, change_set_name, stack_name)
        except Exception as error:
            change_set = self.change_sets.get(change_set_name) or next(
                (c for c in self.change_sets.values() if c.change_set_name == change_set_name),
                None,
            )
            if change_set is None:
                raise
            stack = self.stacks[change_set.stack_id]
            reason = f"{type(error).__name__}: {error}"
            create = change_set.change_set_type == "CREATE"
            stack._add_stack_event(
                "CREATE_FAILED" if create else "UPDATE_FAILED", resource_status_reason=reason
            )
            stack.status = "ROLLBACK_COMPLETE" if create else "UPDATE_ROLLBACK_COMPLETE"
            stack._add_stack_event(stack.status, resource_status_reason=reason)
            change_set.execution_status = "EXECUTE_FAILED"
            change_set.status_reason = reason
        else:
            for stack in self.stacks.values():
                if stack_name in (stack.name, stack.stack_id) or any(
                    c.stack_id == stack.stack_id
                    for c in self.change_sets.values()
                    if change_set_name in (c.change_set_name, c.change_set_id)
                ):
                    stack._parse_template()  # the change set's template, now the stack's
                    stack.output_map = stack._create_output_map()

    return patched
