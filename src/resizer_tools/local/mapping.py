"""The deployed event source mapping, and the function version its alias points to.

On AWS the mapping invokes the ``live`` alias, and each invocation runs the version
the alias points to *at that moment*, with that version's configuration (a published
version freezes code and environment). A stack update that changes a setting does
update-function-configuration, publish-version and update-alias; the next invocation
runs the new version. The local poller does the same: :meth:`MappingConfig.discover`
resolves the alias to its version and reads that version's configuration, and
:meth:`MappingConfig.follow` re-reads it when the alias has moved.

moto records the version an alias pointed to when the mapping was created, not the
alias (its ``FunctionArn`` ends in ``:1``); the alias is found back as the one alias
of the function that points to that version or, once a stack update has moved it
away, the function's only alias: so ``resizer invoke`` and a worker started after a
config change run the version ``live`` points to now, not the first one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from resizer.errors import ConfigurationError
from resizer_tools.ops.aws import Aws, StackResources

__all__ = ["MappingConfig", "publish_configuration"]

_DEFAULT_CONCURRENCY = 5  # ScalingConfig absent: AWS scales up to 1,250; a laptop cannot.


@dataclass(frozen=True)
class MappingConfig:
    """One event source mapping and the function version it invokes, as deployed."""

    uuid: str
    queue_url: str
    queue_arn: str
    function_arn: str  # what the mapping invokes (the alias ARN when it has one)
    function_name: str
    function_version: str
    handler: str
    timeout_s: int
    memory_mb: int
    environment: Mapping[str, str]
    batch_size: int
    batching_window_s: int
    concurrency: int
    report_batch_item_failures: bool
    region: str
    #: The alias the mapping invokes (``live``); None when it invokes a version or $LATEST.
    alias: str | None = None

    @classmethod
    def discover(cls, aws: Aws, stack: StackResources) -> MappingConfig:
        """The mapping on the stack's queue (enabled or not: locally it is kept disabled)."""
        queue_arn = aws.sqs.get_queue_attributes(
            QueueUrl=stack.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        mappings = [
            m
            for m in aws.lambda_.list_event_source_mappings()["EventSourceMappings"]
            if m.get("EventSourceArn") == queue_arn
        ]
        if not mappings:
            raise ConfigurationError(
                f"no event source mapping reads {queue_arn}; deploy the stack with "
                "`resizer local up` (it creates the mapping from the template)"
            )
        mapping = mappings[0]
        name, qualifier = _split(mapping["FunctionArn"])
        alias = _alias(aws, name, qualifier)
        function_arn = mapping["FunctionArn"]
        if alias is not None:
            function_arn = aws.lambda_.get_alias(FunctionName=name, Name=alias)["AliasArn"]
        scaling = mapping.get("ScalingConfig") or {}
        return cls(
            uuid=mapping["UUID"],
            queue_url=stack.queue_url,
            queue_arn=queue_arn,
            function_arn=function_arn,
            batch_size=int(mapping.get("BatchSize", 10)),
            batching_window_s=int(mapping.get("MaximumBatchingWindowInSeconds", 0)),
            concurrency=int(scaling.get("MaximumConcurrency", _DEFAULT_CONCURRENCY)),
            report_batch_item_failures="ReportBatchItemFailures"
            in (mapping.get("FunctionResponseTypes") or []),
            region=aws.region,
            alias=alias,
            **_version_fields(aws, name, _target_version(aws, name, qualifier, alias)),
        )

    def follow(self, aws: Aws) -> MappingConfig | None:
        """This mapping with the version its alias points to now; None if unchanged."""
        if self.alias is None:
            return None
        version = _target_version(aws, self.function_name, None, self.alias)
        if version == self.function_version:
            return None
        return replace(self, **_version_fields(aws, self.function_name, version))


def publish_configuration(
    aws: Aws,
    function_name: str,
    variables: Mapping[str, str],
    alias: str = "live",
    *,
    whole: bool = False,
) -> str:
    """What a stack update does to the function: configuration, new version, alias moved.

    ``variables`` are set over the function's current ($LATEST) environment, or are the
    whole environment with ``whole`` (as a stack update writes it from the template).
    Returns the new version, which a running poller follows within a second (its
    ``on_version``).
    """
    environment: dict[str, str] = {}
    if not whole:
        current = aws.lambda_.get_function_configuration(FunctionName=function_name)
        environment = dict((current.get("Environment") or {}).get("Variables") or {})
    aws.lambda_.update_function_configuration(
        FunctionName=function_name, Environment={"Variables": {**environment, **variables}}
    )
    version = str(aws.lambda_.publish_version(FunctionName=function_name)["Version"])
    aws.lambda_.update_alias(FunctionName=function_name, Name=alias, FunctionVersion=version)
    return version


def _split(function_arn: str) -> tuple[str, str | None]:
    """(function name, qualifier or None) of a function ARN or name."""
    tail = function_arn.split(":function:", 1)[-1]
    name, _, qualifier = tail.partition(":")
    return name, qualifier or None


def _alias(aws: Aws, name: str, qualifier: str | None) -> str | None:
    if qualifier is not None and not qualifier.isdigit() and qualifier != "$LATEST":
        return qualifier
    if qualifier is None or qualifier == "$LATEST":
        return None
    # moto: the mapping names the version the alias pointed to when it was created;
    # the alias is the one that points to it, or, once a stack update has moved it
    # (nothing points to that version any more), the function's only alias.
    aliases = aws.lambda_.list_aliases(FunctionName=name)["Aliases"]
    pointing = [a["Name"] for a in aliases if a["FunctionVersion"] == qualifier]
    if len(pointing) == 1:
        return str(pointing[0])
    if not pointing and len(aliases) == 1:
        return str(aliases[0]["Name"])
    if not pointing and aliases:
        raise ConfigurationError(
            f"the event source mapping names version {qualifier} of {name}, which none of "
            f"its aliases ({', '.join(sorted(a['Name'] for a in aliases))}) points to now: "
            "cannot tell which alias it invokes (the local stack creates one, live)"
        )
    return None


def _target_version(aws: Aws, name: str, qualifier: str | None, alias: str | None) -> str:
    if alias is not None:
        return str(aws.lambda_.get_alias(FunctionName=name, Name=alias)["FunctionVersion"])
    return qualifier or "$LATEST"


def _version_fields(aws: Aws, name: str, version: str) -> dict[str, Any]:
    """What a published version freezes: handler, timeout, memory, environment."""
    function = aws.lambda_.get_function_configuration(FunctionName=name, Qualifier=version)
    return {
        "function_name": function["FunctionName"],
        "function_version": str(function.get("Version", version)),
        "handler": function.get("Handler", "resizer.handler.lambda_handler"),
        "timeout_s": int(function.get("Timeout", 3)),
        "memory_mb": int(function.get("MemorySize", 128)),
        "environment": dict((function.get("Environment") or {}).get("Variables") or {}),
    }
