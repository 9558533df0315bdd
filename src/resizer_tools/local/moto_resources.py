"""The resource types moto's CloudFormation lacks, or cannot update, as providers it
runs (registered by :func:`resizer_tools.local.moto_cloudformation.install_stack_gaps`).

- ``AWS::Lambda::Alias``: Ref is the alias ARN, as on AWS (moto skips the alias, and
  the event source mapping on it then fails);
- ``AWS::Lambda::Version``: a version whose properties change is replaced (a new
  version published, the old one kept: UpdateReplacePolicy Retain);
- ``AWS::SQS::QueuePolicy``: the ``Policy`` attribute of each queue;
- ``AWS::IAM::OIDCProvider`` (the bootstrap stack's): Ref and ``Arn`` its ARN.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Self

__all__ = ["RESOURCE_TYPES"]


def _lambda_backend(account_id: str, region_name: str) -> Any:
    from moto.awslambda.models import lambda_backends  # noqa: PLC0415

    return lambda_backends[account_id][region_name]


def _sqs_backend(account_id: str, region_name: str) -> Any:
    from moto.sqs.models import sqs_backends  # noqa: PLC0415

    return sqs_backends[account_id][region_name]


def _iam_backend(account_id: str) -> Any:
    from moto.iam.models import iam_backends  # noqa: PLC0415

    return iam_backends[account_id]["aws"]


def _queue_name(url: str) -> str:
    return url.rsplit("/", 1)[-1]


class _Resource:
    """What moto's CloudFormation asks of every resource type here (the provider seam of
    ``moto.cloudformation.parsing``), answered once. A subclass names its ``TYPE``, the
    property that names it (``NAME_TYPE``, "" for none), its one ``Fn::GetAtt``
    attribute (``ATTRIBUTE``, "" for none; answered by ``get_cfn_attribute``, the ARN
    unless overridden), and creates itself from its properties in :meth:`_create`. Ref
    is ``physical_resource_id``: the ARN unless overridden. Each is created at once.
    """

    TYPE: ClassVar[str]
    NAME_TYPE: ClassVar[str] = ""
    ATTRIBUTE: ClassVar[str] = ""
    arn: str

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return bool(cls.ATTRIBUTE) and attr == cls.ATTRIBUTE

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
    ) -> Self:
        return cls._create(cloudformation_json["Properties"], account_id, region_name)

    @classmethod
    def _create(cls, props: dict[str, Any], account_id: str, region_name: str) -> Self:
        raise NotImplementedError


class _Replaced(_Resource):
    """A resource whose update is a replacement: a new one created from the new
    properties (the old one is kept, or goes along with its owner)."""

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Self,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Self:
        return cls._create(cloudformation_json["Properties"], account_id, region_name)


class _Alias(_Resource):
    """AWS::Lambda::Alias: Ref is the alias ARN, as on AWS; updated in place."""

    TYPE, NAME_TYPE, ATTRIBUTE = "AWS::Lambda::Alias", "Name", "AliasArn"

    def __init__(self, arn: str, function_name: str, name: str) -> None:
        self.arn, self.function_name, self.name = arn, function_name, name

    @classmethod
    def _create(cls, props: dict[str, Any], account_id: str, region_name: str) -> Self:
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


class _Version(_Replaced):
    """AWS::Lambda::Version: a property change publishes a new version (replacement;
    Lambda hands back the newest version when nothing changed since)."""

    TYPE, ATTRIBUTE = "AWS::Lambda::Version", "Version"

    def __init__(self, function_name: str, version: str, arn: str) -> None:
        self.function_name, self.version, self.arn = function_name, version, arn

    def get_cfn_attribute(self, attr: str) -> str:
        return self.version

    @classmethod
    def _create(cls, props: dict[str, Any], account_id: str, region_name: str) -> Self:
        published = _lambda_backend(account_id, region_name).publish_version(
            props["FunctionName"], props.get("Description", "")
        )
        return cls(published.function_name, str(published.version), published.function_arn)

    def delete(self, account_id: str, region_name: str) -> None:
        """DeletionPolicy Delete: the function's deletion takes its versions along."""


class _QueuePolicy(_Replaced):
    """AWS::SQS::QueuePolicy: the Policy attribute of each queue; Ref the queue URLs."""

    TYPE = "AWS::SQS::QueuePolicy"

    def __init__(self, queue_urls: list[str]) -> None:
        self.queue_urls = queue_urls

    @property
    def physical_resource_id(self) -> str:
        return ",".join(self.queue_urls)

    @classmethod
    def _create(cls, props: dict[str, Any], account_id: str, region_name: str) -> Self:
        policy = json.dumps(props["PolicyDocument"])
        backend = _sqs_backend(account_id, region_name)
        for url in props["Queues"]:
            backend.set_queue_attributes(_queue_name(url), {"Policy": policy})
        return cls(list(props["Queues"]))

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _sqs_backend(account_id, region_name)
        for name in map(_queue_name, self.queue_urls):
            if name in backend.queues:
                backend.set_queue_attributes(name, {"Policy": ""})


class _OidcProvider(_Resource):
    """AWS::IAM::OIDCProvider: Ref and Arn are the provider's ARN."""

    TYPE, ATTRIBUTE = "AWS::IAM::OIDCProvider", "Arn"

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @classmethod
    def _create(cls, props: dict[str, Any], account_id: str, region_name: str) -> Self:
        provider = _iam_backend(account_id).create_open_id_connect_provider(
            props["Url"],
            props.get("ThumbprintList") or [],
            props.get("ClientIdList") or [],
            props.get("Tags") or [],
        )
        return cls(provider.arn)

    def delete(self, account_id: str, region_name: str) -> None:
        _iam_backend(account_id).delete_open_id_connect_provider(self.arn)


#: What :func:`~resizer_tools.local.moto_cloudformation.install_stack_gaps` registers.
RESOURCE_TYPES: tuple[type[_Resource], ...] = (_Alias, _OidcProvider, _QueuePolicy, _Version)
