"""boto3 clients for the local emulator or real AWS, and the stack's resources.

Every command finds its resources from a stack name through the CloudFormation
outputs, so the same code works against ``resizer local up`` and a real account.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from resizer.errors import ConfigurationError
from resizer_tools.errors import UsageError
from resizer_tools.ops import DEFAULT_STACK_NAME

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

__all__ = ["DEFAULT_STACK_NAME", "LOCAL_REGION", "Aws", "StackResources"]

# The emulator accepts any credentials; these make a local call never reach for real ones.
LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

_OUTPUTS = (
    "SourceBucketName",
    "DestinationBucketName",
    "QueueUrl",
    "DeadLetterQueueUrl",
    "FunctionName",
)


class Aws:
    """Clients for one endpoint: the local emulator (``endpoint_url``) or real AWS (None).

    boto3 itself also honours ``AWS_ENDPOINT_URL``; passing it explicitly here is what
    lets a local call go without real credentials.
    """

    def __init__(self, endpoint_url: str | None = None, region: str | None = None) -> None:
        self.endpoint_url = _checked_endpoint(endpoint_url)
        session = boto3.session.Session(region_name=region)
        if self.endpoint_url:
            # The emulator takes any credentials and any region; default both.
            local_region = session.region_name or LOCAL_REGION
            if session.get_credentials() is None:
                session = boto3.session.Session(
                    region_name=local_region,
                    aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
                    aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
                )
            else:
                session = boto3.session.Session(region_name=local_region)
        elif session.region_name is None:
            raise ConfigurationError(
                "no AWS region: pass --region, set AWS_REGION or run `aws configure`"
            )
        self.session = session
        self.region: str = session.region_name or LOCAL_REGION
        # Standard retries, a pool big enough for the poller's concurrent invocations.
        self._config = Config(retries={"mode": "standard"}, max_pool_connections=32)

    @cached_property
    def s3(self) -> S3Client:
        return self.session.client("s3", endpoint_url=self.endpoint_url, config=self._config)

    @cached_property
    def sqs(self) -> SQSClient:
        return self.session.client("sqs", endpoint_url=self.endpoint_url, config=self._config)

    @cached_property
    def cloudformation(self) -> CloudFormationClient:
        return self.session.client(
            "cloudformation", endpoint_url=self.endpoint_url, config=self._config
        )

    @cached_property
    def lambda_(self) -> LambdaClient:
        return self.session.client("lambda", endpoint_url=self.endpoint_url, config=self._config)

    @cached_property
    def logs(self) -> CloudWatchLogsClient:
        return self.session.client("logs", endpoint_url=self.endpoint_url, config=self._config)

    @cached_property
    def sts(self) -> Any:  # only get_caller_identity (resizer preflight); no stubs pinned
        return self.session.client("sts", endpoint_url=self.endpoint_url, config=self._config)

    @cached_property
    def events(self) -> EventBridgeClient:
        return self.session.client("events", endpoint_url=self.endpoint_url, config=self._config)

    def stack(self, stack_name: str) -> StackResources:
        return StackResources.find(self, stack_name)


def _checked_endpoint(endpoint_url: str | None) -> str | None:
    """The endpoint as given, if it is a URL botocore accepts; a usage error naming the fix."""
    if not endpoint_url:
        return None
    parsed = urlsplit(endpoint_url)
    if parsed.scheme in {"http", "https"} and parsed.netloc:
        return endpoint_url
    raise UsageError(
        f"endpoint {endpoint_url!r} is not a URL: write it with its scheme, e.g. "
        f"--endpoint http://{endpoint_url.split('://')[-1]} "
        "(or AWS_ENDPOINT_URL=...)"
    )


@dataclass(frozen=True)
class StackResources:
    """The stack outputs every command works from."""

    stack_name: str
    source_bucket: str
    destination_bucket: str
    queue_url: str
    dead_letter_queue_url: str
    function_name: str

    @classmethod
    def find(cls, aws: Aws, stack_name: str) -> StackResources:
        where = aws.endpoint_url or f"AWS region {aws.region}"
        try:
            stacks = aws.cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        except NoCredentialsError:
            raise ConfigurationError(
                "no AWS credentials: configure them (aws configure), or pass --endpoint "
                "for the local stack"
            ) from None
        except ClientError as error:
            raise ConfigurationError(
                f"stack {stack_name!r} not found at {where} "
                f"({error.response['Error'].get('Message', error)}); start the local stack "
                "with `resizer local up`, or pass --stack-name / --endpoint"
            ) from None
        except BotoCoreError as error:
            raise ConfigurationError(f"cannot reach {where}: {error}") from None
        outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stacks[0].get("Outputs", [])}
        missing = [name for name in _OUTPUTS if not outputs.get(name)]
        if missing:
            raise ConfigurationError(
                f"stack {stack_name!r} has no output(s) {', '.join(missing)}; "
                "was it deployed from infra/template.yaml?"
            )
        return cls(
            stack_name=stack_name,
            source_bucket=outputs["SourceBucketName"],
            destination_bucket=outputs["DestinationBucketName"],
            queue_url=outputs["QueueUrl"],
            dead_letter_queue_url=outputs["DeadLetterQueueUrl"],
            function_name=outputs["FunctionName"],
        )
