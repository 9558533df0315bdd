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
from typing import Any

__all__ = ["RESOURCE_TYPES"]


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


#: What :func:`~resizer_tools.local.moto_cloudformation.install_stack_gaps` registers.
RESOURCE_TYPES: tuple[Any, ...] = (_Alias, _OidcProvider, _QueuePolicy, _Version)
