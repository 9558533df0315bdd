"""infra/template.yaml deploys through the emulator's CloudFormation API, wired right.

moto's server (127.0.0.1, a free port) plays AWS. Its CloudFormation creates most
resources but skips some (DESIGN.md): ``AWS::Lambda::Alias`` (and so the event
source mapping that targets it), ``AWS::SQS::QueuePolicy``, ``AWS::S3::BucketPolicy``,
``AWS::SNS::TopicPolicy``/``Subscription``, ``AWS::CloudWatch::Alarm``, and a
bucket's notification, public access block and versioning. The local stack's
deploy (``resizer_tools.local.deploy``, the one ``resizer local up`` uses) creates the
first ones from the same template after the stack; what stays unemulated is
checked statically in test_template_static.py. Each check below says which is which.

The stack is deployed several times into one emulator: with the template's
defaults, with each parameter file (infra/parameters/*.json), and with the
optional features switched the other way (filters, versioning off, alarm e-mail).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cfn_template import INFRA, TEMPLATE, load, parameter_defaults
from emulated_aws import moto_server
from role_policy import RolePolicy

from resizer_tools.local.deploy import LOCAL_PARAMETERS, Deployment, deploy
from resizer_tools.local.template import Resolver, Template
from resizer_tools.ops.aws import Aws

VARIANTS = ["defaults", *sorted(p.stem for p in (INFRA / "parameters").glob("*.json")), "options"]
OPTIONS = {
    "Environment": "options",
    "SourcePrefix": "uploads/",
    "SourceSuffix": ".jpg",
    "SourceVersioning": "false",
    "AlarmEmail": "ops@example.com",
    "Runtime": "python3.12",
    "Architecture": "x86_64",
    "Timeout": "900",
    "BatchSize": "100",
    "MaximumBatchingWindowInSeconds": "5",
}


@dataclass
class Deployed:
    aws: Aws
    stack: str
    parameters: dict[str, str]  # as deployed: the template's defaults, the file, the build
    deployment: Deployment
    seconds: float

    def int(self, name: str) -> int:
        return int(self.parameters[name])

    @property
    def outputs(self) -> dict[str, str]:
        return self.deployment.outputs

    def queue_attributes(self, url: str) -> dict[str, str]:
        return self.aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Aws]:
    with moto_server() as endpoint:
        yield Aws(endpoint_url=endpoint)


@pytest.fixture(scope="module", params=VARIANTS)
def deployed(request: pytest.FixtureRequest, emulator: Aws) -> Deployed:
    variant = str(request.param)
    defaults = parameter_defaults(load(TEMPLATE))
    # The local stack switches source versioning off unless told (LOCAL_PARAMETERS);
    # here the template's own default is deployed.
    given = {"Environment": "infratest", "SourceVersioning": defaults["SourceVersioning"]}
    if variant == "options":
        given = dict(OPTIONS)
    elif variant != "defaults":
        entries = json.loads((INFRA / "parameters" / f"{variant}.json").read_text("utf-8"))
        given = {e["ParameterKey"]: e["ParameterValue"] for e in entries}
    # What the build adds; the deploy uploads a small placeholder zip there first.
    given |= {"CodeBucket": f"{variant}-code", "CodeKey": "b/1.zip"}
    stack = f"resizer-infratest-{variant}"
    started = time.perf_counter()
    deployment = deploy(emulator, Template.load(TEMPLATE), stack, given)
    seconds = time.perf_counter() - started
    parameters = {**defaults, **LOCAL_PARAMETERS, **given}
    return Deployed(emulator, stack, parameters, deployment, seconds)


def test_stack_is_created_with_the_contract_outputs(deployed: Deployed) -> None:
    stack = deployed.aws.cloudformation.describe_stacks(StackName=deployed.stack)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert deployed.seconds < 60, f"deploy took {deployed.seconds:.1f}s"
    # FunctionAliasArn refers to the alias moto cannot create: the local deploy drops it.
    assert {
        "SourceBucketName",
        "DestinationBucketName",
        "QueueUrl",
        "DeadLetterQueueUrl",
        "FunctionName",
        "AlarmTopicArn",
    } <= set(deployed.outputs)
    environment = deployed.parameters["Environment"]
    assert deployed.outputs["SourceBucketName"].startswith(f"resizer-{environment}-source-")


def test_queue_redrives_to_the_dead_letter_queue(deployed: Deployed) -> None:
    queue = deployed.queue_attributes(deployed.outputs["QueueUrl"])
    dlq = deployed.queue_attributes(deployed.outputs["DeadLetterQueueUrl"])
    assert json.loads(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq["QueueArn"],
        "maxReceiveCount": deployed.int("MaxReceiveCount"),
    }
    assert int(queue["VisibilityTimeout"]) == 6 * deployed.int("Timeout")
    assert dlq["MessageRetentionPeriod"] == "1209600"
    # moto's CloudFormation ignores the DLQ's RedriveAllowPolicy (test_template_static.py
    # checks it); the ARN it spells out must be the deployed queue's.
    stack_id = deployed.aws.cloudformation.describe_stacks(StackName=deployed.stack)["Stacks"][0][
        "StackId"
    ]
    region, account = queue["QueueArn"].split(":")[3:5]
    pseudo = {"AWS::Partition": "aws", "AWS::Region": region, "AWS::AccountId": account}
    resolver = Resolver(
        parameters={**deployed.parameters, **pseudo, "AWS::StackId": stack_id},
        physical_ids={},
        attribute=lambda *_: "",
    )
    template = Template.load(TEMPLATE).resources["DeadLetterQueue"]["Properties"]
    allow = resolver.resolve(template["RedriveAllowPolicy"])
    assert allow["sourceQueueArns"] == [queue["QueueArn"]]
    assert queue["KmsMasterKeyId"] == dlq["KmsMasterKeyId"] != ""


def _stack_resources(deployed: Deployed) -> set[str]:
    summaries = deployed.aws.cloudformation.list_stack_resources(StackName=deployed.stack)
    return {r["LogicalResourceId"] for r in summaries["StackResourceSummaries"]}


def test_queue_policy_lets_the_source_bucket_send(deployed: Deployed) -> None:
    # Created by the emulator's CloudFormation (moto_cloudformation.install_stack_gaps teaches it).
    assert "QueuePolicy" in _stack_resources(deployed)
    queue = deployed.queue_attributes(deployed.outputs["QueueUrl"])
    (statement,) = json.loads(queue["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Resource"] == queue["QueueArn"]
    source_arn = f"arn:aws:s3:::{deployed.outputs['SourceBucketName']}"
    assert statement["Condition"]["ArnEquals"] == {"aws:SourceArn": source_arn}


def test_source_bucket_notifies_the_queue(deployed: Deployed) -> None:
    # Ignored by moto's CloudFormation; applied by the local deploy from the template.
    assert "SourceBucket.NotificationConfiguration" in deployed.deployment.applied
    notification = deployed.aws.s3.get_bucket_notification_configuration(
        Bucket=deployed.outputs["SourceBucketName"]
    )
    queue_arn = deployed.queue_attributes(deployed.outputs["QueueUrl"])["QueueArn"]
    configs = notification["QueueConfigurations"]
    assert {event for c in configs for event in c["Events"]} == {
        "s3:ObjectCreated:*",
        "s3:ObjectRemoved:*",
    }
    assert {c["QueueArn"] for c in configs} == {queue_arn}
    destination = deployed.aws.s3.get_bucket_notification_configuration(
        Bucket=deployed.outputs["DestinationBucketName"]
    )
    assert "QueueConfigurations" not in destination


def test_function_configuration(deployed: Deployed) -> None:
    function = deployed.aws.lambda_.get_function(FunctionName=deployed.outputs["FunctionName"])
    config = function["Configuration"]
    assert config["Handler"] == "resizer.handler.lambda_handler"
    assert config["Runtime"] == deployed.parameters["Runtime"]
    # moto's CloudFormation drops Architectures and LoggingConfig (it reports
    # x86_64 and the default log group): test_template_static.py checks them.
    assert config["MemorySize"] == deployed.int("MemorySize")
    assert config["Timeout"] == deployed.int("Timeout")
    variables = config["Environment"]["Variables"]
    assert variables["DESTINATION_BUCKET"] == deployed.outputs["DestinationBucketName"]
    assert variables["SOURCE_BUCKET"] == deployed.outputs["SourceBucketName"]
    assert variables["DEAD_LETTER_QUEUE_URL"] == deployed.outputs["DeadLetterQueueUrl"]
    assert variables["RENDITIONS"] == deployed.parameters["Renditions"]
    assert variables["POWERTOOLS_LOG_LEVEL"] == deployed.parameters["LogLevel"]
    # The code is the zip in the code bucket.
    code_bucket = deployed.parameters["CodeBucket"]
    code = deployed.aws.s3.get_object(Bucket=code_bucket, Key="b/1.zip")["Body"].read()
    assert config["CodeSha256"] in (
        hashlib.sha256(code).hexdigest(),
        base64.b64encode(hashlib.sha256(code).digest()).decode(),
    )


def test_mapping_targets_the_live_alias_with_partial_batch_responses(deployed: Deployed) -> None:
    # The emulator's CloudFormation creates the alias and the mapping (taught by
    # moto_cloudformation.install_stack_gaps); the local deploy disables the mapping (the local
    # poller plays it).
    assert {"LiveAlias", "EventSourceMapping"} <= _stack_resources(deployed)
    name = deployed.outputs["FunctionName"]
    alias = deployed.aws.lambda_.get_alias(FunctionName=name, Name="live")
    versions = deployed.aws.lambda_.list_versions_by_function(FunctionName=name)["Versions"]
    assert alias["FunctionVersion"] in {v["Version"] for v in versions} - {"$LATEST"}
    queue_arn = deployed.queue_attributes(deployed.outputs["QueueUrl"])["QueueArn"]
    (mapping,) = deployed.aws.lambda_.list_event_source_mappings(EventSourceArn=queue_arn)[
        "EventSourceMappings"
    ]
    # moto reports the version the alias resolves to; AWS reports the alias ARN.
    assert mapping["FunctionArn"] in (
        alias["AliasArn"],
        alias["AliasArn"].rsplit(":", 1)[0] + ":" + alias["FunctionVersion"],
    )
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == deployed.int("BatchSize")
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": deployed.int("MaximumConcurrency")}


def test_role_has_exactly_the_template_policies(deployed: Deployed) -> None:
    name = deployed.outputs["FunctionName"]
    role_arn = deployed.aws.lambda_.get_function(FunctionName=name)["Configuration"]["Role"]
    iam = deployed.aws.session.client(
        "iam", endpoint_url=deployed.aws.endpoint_url, region_name="us-east-1"
    )
    role_name = role_arn.rsplit("/", 1)[-1]
    names = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    # publish-events is an AWS::IAM::RolePolicy, which moto does not create.
    assert sorted(names) == ["consume-queue", "read-source", "write-logs", "write-renditions"]
    assert iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"] == []
    deployed_grants: set[tuple[str, str]] = set()
    for policy_name in names:
        document: Any = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)[
            "PolicyDocument"
        ]
        if isinstance(document, str):
            # moto hands back the Python repr of a policy that came from a template.
            document = ast.literal_eval(document)
        for statement in document["Statement"]:
            actions = statement["Action"]
            resources = statement["Resource"]
            for action in [actions] if isinstance(actions, str) else actions:
                for resource in [resources] if isinstance(resources, str) else resources:
                    deployed_grants.add((action, resource))
    # The same policy, resolved for the deployed names, grants the same pairs.
    queue_arn = deployed.queue_attributes(deployed.outputs["QueueUrl"])["QueueArn"]
    region, account = queue_arn.split(":")[3:5]
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in deployed.aws.cloudformation.list_stack_resources(StackName=deployed.stack)[
            "StackResourceSummaries"
        ]
    }
    logical_ids = ("SourceBucket", "DestinationBucket", "Queue", "DeadLetterQueue", "QueueKey")
    names = {logical_id: resources[logical_id] for logical_id in logical_ids}
    names["LogGroup"] = f"/aws/lambda/{deployed.stack}"
    template = RolePolicy.from_template(names=names, region=region, account=account)
    expected = template.grants()
    # publish-events is an AWS::IAM::RolePolicy, which moto does not create.
    events = {(action, resource) for action, resource in expected if action.startswith("events:")}
    assert events
    assert deployed_grants == expected - events


def test_notification_filter_and_versioning_follow_the_parameters(deployed: Deployed) -> None:
    # Both ignored by moto's CloudFormation; applied by the local deploy from the template.
    bucket = deployed.outputs["SourceBucketName"]
    configs = deployed.aws.s3.get_bucket_notification_configuration(Bucket=bucket)[
        "QueueConfigurations"
    ]
    expected = [
        {"Name": name, "Value": deployed.parameters[parameter]}
        for name, parameter in (("prefix", "SourcePrefix"), ("suffix", "SourceSuffix"))
        if deployed.parameters[parameter]
    ]
    for config in configs:
        rules = config.get("Filter", {}).get("Key", {}).get("FilterRules", [])
        assert [{"Name": r["Name"].lower(), "Value": r["Value"]} for r in rules] == expected
    versioning = deployed.aws.s3.get_bucket_versioning(Bucket=bucket)
    wanted = "Enabled" if deployed.parameters["SourceVersioning"] == "true" else "Suspended"
    assert versioning.get("Status") == wanted
