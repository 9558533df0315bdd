"""The deploy path's roles, as code: bootstrap.yaml and deploy-roles.yaml.

What a security review asks of them, checked on the resolved policies:

* parliament finds nothing in any of them;
* the CloudFormation service role can do what CloudFormation's own resource handlers
  need for every resource type template.yaml uses (the handlers' permission lists ship
  with cfn-lint), so a new resource type without its permissions fails here, not half
  way through a deploy;
* nobody can escalate: the pipeline's role only makes change sets through the service
  role; the service role only writes roles that carry the function's permissions
  boundary, never lifts it, never touches the deploy roles; the function role's grants
  all lie inside the boundary;
* only the publishing role may put artifacts; artifact versions are locked.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

import cfnlint
import pytest
from cfn_template import ACCOUNT, BOOTSTRAP, DEPLOY_ROLES, TEMPLATE, Resolver, load
from role_policy import RolePolicy

ORG_ID = "0a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d"
ISSUER = f"vstoken.dev.azure.com/{ORG_ID}"
ENV = "dev"
BOOTSTRAP_PARAMETERS = {
    "AzureDevOpsOrganizationId": ORG_ID,
    "AzureDevOpsOrganization": "contoso",
    "AzureDevOpsProject": "resizer",
    "CodeSigning": "true",
}
ROLES_PARAMETERS = {
    "Environment": ENV,
    "ArtifactBucketName": f"resizer-artifacts-{ACCOUNT}-eu-west-1",
    "OidcProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}",
    "AzureDevOpsOrganization": "contoso",
    "AzureDevOpsProject": "resizer",
    "ServiceConnection": "aws-resizer-dev",
    "SmokeTest": "true",
}


def resolved(path: Path, parameters: dict[str, str]) -> tuple[Resolver, dict[str, Any]]:
    resolver = Resolver(load(path), parameters)
    resources = {
        logical_id: resolver.resolve(resource.get("Properties", {}))
        for logical_id, resource in resolver.resources.items()
        if "Condition" not in resource or resolver.condition(resource["Condition"])
    }
    return resolver, resources


@cache
def bootstrap() -> tuple[Resolver, dict[str, Any]]:
    return resolved(BOOTSTRAP, BOOTSTRAP_PARAMETERS)


@cache
def roles() -> tuple[Resolver, dict[str, Any]]:
    return resolved(DEPLOY_ROLES, ROLES_PARAMETERS)


def documents(properties: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every policy document of a resolved role, managed policy or bucket policy."""
    for key in ("AssumeRolePolicyDocument", "PolicyDocument"):
        if key in properties:
            document = properties[key]
            yield key, json.loads(document) if isinstance(document, str) else document
    for policy in properties.get("Policies", []):
        yield policy["PolicyName"], policy["PolicyDocument"]


def statements(properties: dict[str, Any], effect: str = "Allow") -> list[dict[str, Any]]:
    found = []
    for name, document in documents(properties):
        if name == "AssumeRolePolicyDocument":
            continue
        found += [s for s in document["Statement"] if s["Effect"] == effect]
    return found


def listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def grants(
    properties: dict[str, Any], action: str, resource: str, effect: str = "Allow"
) -> list[dict[str, Any]]:
    """The statements of ``effect`` that name ``action`` on ``resource`` (conditions aside)."""
    return [
        s
        for s in statements(properties, effect)
        if any(fnmatchcase(action.lower(), a.lower()) for a in listed(s["Action"]))
        and any(fnmatchcase(resource, r) for r in listed(s["Resource"]))
    ]


def parliament_findings(document: dict[str, Any]) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        from parliament import analyze_policy_string

        analyzed = analyze_policy_string(json.dumps(document))
    return [f"{f.issue}: {f.detail} {f.location}" for f in analyzed.findings]


# ---------------------------------------------------------------------------- parliament


def all_documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for label, (_, resources) in (("bootstrap", bootstrap()), ("deploy-roles", roles())):
        for logical_id, properties in resources.items():
            for name, document in documents(properties):
                if name != "AssumeRolePolicyDocument":
                    found.append((f"{label}/{logical_id}/{name}", document))
    return found


# parliament's heuristic for "could rewrite a resource policy to grant itself more":
# the service role must write the template's bucket policies and lifecycle rules, on
# the stack's own buckets (resizer-<env>-*), and only what a reviewed change set says.
ACCEPTED = {
    (
        "deploy-roles/CloudFormationRole/stack-resources",
        "RESOURCE_POLICY_PRIVILEGE_ESCALATION",
        f"arn:aws:s3:::resizer-{ENV}-*",
    ),
}


@pytest.mark.parametrize(("where", "document"), all_documents(), ids=lambda v: str(v)[:60])
def test_parliament_finds_nothing(where: str, document: dict[str, Any]) -> None:
    findings = [
        f
        for f in parliament_findings(document)
        if not any(
            where == w and f.startswith(issue) and f" on {resource} due to" in f
            for w, issue, resource in ACCEPTED
        )
    ]
    assert findings == [], where


def test_every_policy_is_checked() -> None:
    checked = {where for where, _ in all_documents()}
    assert {
        "bootstrap/PublisherRole/publish-artifacts",
        "bootstrap/PublisherRole/sign-artifacts",
        "bootstrap/ArtifactBucketPolicy/PolicyDocument",
        "deploy-roles/FunctionBoundary/PolicyDocument",
        "deploy-roles/CloudFormationRole/stack-resources",
        "deploy-roles/CloudFormationRole/function-role-within-the-boundary",
        "deploy-roles/DeployRole/change-sets",
        "deploy-roles/DeployRole/smoke-test",
    } <= checked


# ------------------------------------------------------------------ OIDC trust


@pytest.mark.parametrize(
    ("which", "role", "connection"),
    [
        ("bootstrap", "PublisherRole", "aws-resizer-publish"),
        ("roles", "DeployRole", "aws-resizer-dev"),
    ],
)
def test_oidc_trust_names_one_service_connection(which: str, role: str, connection: str) -> None:
    _, resources = bootstrap() if which == "bootstrap" else roles()
    (statement,) = json.loads(resources[role]["AssumeRolePolicyDocument"])["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"}
    assert statement["Condition"] == {
        "StringEquals": {
            f"{ISSUER}:aud": "api://AzureADTokenExchange",
            f"{ISSUER}:sub": f"sc://contoso/resizer/{connection}",
        }
    }
    provider = bootstrap()[1]["OidcProvider"]
    assert provider["Url"] == f"https://{ISSUER}"
    assert provider["ClientIdList"] == ["api://AzureADTokenExchange"]


# ---------------------------------------------------------------- artifact bucket


def test_artifact_versions_are_locked_in_governance_mode() -> None:
    bucket = bootstrap()[1]["ArtifactBucket"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["ObjectLockEnabled"] is True
    rule = bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert rule["Mode"] == "GOVERNANCE"
    assert int(rule["Days"]) >= 1


def test_only_the_publisher_puts_artifacts() -> None:
    resolver, resources = bootstrap()
    publisher = resolver.attribute("PublisherRole", "Arn")
    bucket_arn = resolver.attribute("ArtifactBucket", "Arn")
    (deny,) = [
        s
        for s in resources["ArtifactBucketPolicy"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s["Action"] == "s3:PutObject"
    ]
    assert deny["Principal"] == "*"
    assert deny["Resource"] == f"{bucket_arn}/*"
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": publisher}}
    # ... and none of the deploy path's other roles is granted a write there.
    _, role_resources = roles()
    artifact = f"arn:aws:s3:::{ROLES_PARAMETERS['ArtifactBucketName']}/resizer/x.zip"
    for logical_id in ("DeployRole", "CloudFormationRole"):
        for action in ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"):
            assert grants(role_resources[logical_id], action, artifact) == [], (logical_id, action)
    assert grants(role_resources["DeployRole"], "s3:GetObjectVersion", artifact)
    assert grants(resources["PublisherRole"], "s3:PutObject", f"{bucket_arn}/resizer/x.zip")


def test_code_signing_is_switched_by_a_parameter() -> None:
    resources = bootstrap()[1]
    config = resources["CodeSigningConfig"]
    assert config["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Enforce"}
    assert config["AllowedPublishers"]["SigningProfileVersionArns"][0].endswith("/SAMPLEVERSION")
    assert resources["SigningProfile"]["PlatformId"] == "AWSLambda-SHA384-ECDSA"
    off = resolved(BOOTSTRAP, BOOTSTRAP_PARAMETERS | {"CodeSigning": "false"})[1]
    assert "SigningProfile" not in off
    assert "CodeSigningConfig" not in off
    assert [p["PolicyName"] for p in off["PublisherRole"]["Policies"]] == ["publish-artifacts"]


# ------------------------------------------------------------------ no escalation

ESCALATING_IAM = (
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:UpdateAssumeRolePolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:CreateUser",
    "iam:CreateAccessKey",
    "iam:PassRole",
)


def any_role(account: str = ACCOUNT) -> list[str]:
    """Role ARNs a deploy must never be able to write: its own, the publisher, an admin."""
    return [
        f"arn:aws:iam::{account}:role/resizer-deploy/resizer-{ENV}-deploy",
        f"arn:aws:iam::{account}:role/resizer-deploy/resizer-{ENV}-cloudformation",
        f"arn:aws:iam::{account}:role/resizer-deploy/resizer-publish",
        f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        f"arn:aws:iam::{account}:role/resizer-prod-FunctionRole-ABC",
    ]


def test_the_pipelines_role_only_makes_change_sets_through_the_service_role() -> None:
    resolver, resources = roles()
    deploy = resources["DeployRole"]
    service_role = resolver.attribute("CloudFormationRole", "Arn")
    stack = f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/resizer-{ENV}/abc"
    (create,) = grants(deploy, "cloudformation:CreateChangeSet", stack)
    assert create["Condition"] == {"ArnEquals": {"cloudformation:RoleArn": service_role}}
    assert not grants(deploy, "cloudformation:CreateChangeSet", stack.replace(ENV, "prod"))
    assert not grants(deploy, "cloudformation:CreateStack", stack)
    assert not grants(deploy, "cloudformation:UpdateStack", stack)
    (passing,) = grants(deploy, "iam:PassRole", service_role)
    assert passing["Resource"] == service_role
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
    }
    for action in ESCALATING_IAM:
        for arn in any_role():
            if action == "iam:PassRole" and arn == service_role:
                continue  # the one role it passes, to CloudFormation only (above)
            assert not grants(deploy, action, arn), (action, arn)
    # Nothing else it could create or change directly.
    services = {a.split(":")[0] for s in statements(deploy) for a in listed(s["Action"])}
    assert services == {"cloudformation", "iam", "s3", "lambda", "sqs"}


def test_the_service_role_writes_roles_only_inside_the_boundary() -> None:
    resolver, resources = roles()
    service = resources["CloudFormationRole"]
    boundary = resolver.ref("FunctionBoundary")
    function_role = f"arn:aws:iam::{ACCOUNT}:role/resizer-{ENV}-FunctionRole-ABC"
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"):
        allowed = grants(service, action, function_role)
        assert allowed, action
        for statement in allowed:
            assert statement["Condition"] == {"ArnEquals": {"iam:PermissionsBoundary": boundary}}, (
                action
            )
    # Never the deploy roles, the publisher or anything outside the stack's names.
    for arn in any_role():
        for action in ESCALATING_IAM:
            assert not grants(service, action, arn), (action, arn)
    assert not grants(service, "iam:AttachRolePolicy", function_role)
    denied = grants(service, "iam:DeleteRolePermissionsBoundary", function_role, "Deny")
    assert denied
    assert grants(service, "iam:CreatePolicyVersion", boundary, "Deny")
    (passing,) = grants(service, "iam:PassRole", function_role)
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    for statement in statements(service):
        assert "*" not in listed(statement["Action"]), statement["Sid"]
        assert not any(a.endswith(":*") for a in listed(statement["Action"])), statement["Sid"]


def test_the_function_role_lies_inside_the_boundary() -> None:
    """The template's role, for the environment's names, grants nothing the boundary does not."""
    _, resources = roles()
    boundary = resources["FunctionBoundary"]
    policy = RolePolicy.from_template(
        names={"LogGroup": f"/aws/lambda/resizer-{ENV}"},
        parameters={"Environment": ENV},
    )
    sample = {
        "SourceBucket": f"resizer-{ENV}-source-{ACCOUNT}-0a1b2c3d",
        "DestinationBucket": f"resizer-{ENV}-renditions-{ACCOUNT}-0a1b2c3d",
    }
    outside = []
    for action, granted in policy.grants():
        resource = granted.replace("resizer-dev-DeadLetterQueue-SAMPLE", "resizer-dev-Dead-X")
        for logical_id, bucket in sample.items():
            resource = resource.replace(policy.resolver.ref(logical_id), bucket)
        if not grants(boundary, action, resource):
            outside.append((action, resource))
    assert outside == []


def test_template_names_the_boundary_the_roles_template_creates() -> None:
    """One name: deploy-roles.yaml creates it, the parameter files name it."""
    template = load(TEMPLATE)
    role = template["Resources"]["FunctionRole"]["Properties"]
    assert "PermissionsBoundary" in role
    for env in ("dev", "prod"):
        _, resources = resolved(DEPLOY_ROLES, ROLES_PARAMETERS | {"Environment": env})
        name = resources["FunctionBoundary"]["ManagedPolicyName"]
        entries = json.loads((TEMPLATE.parent / "parameters" / f"{env}.json").read_text())
        values = {e["ParameterKey"]: e["ParameterValue"] for e in entries}
        assert values["FunctionPermissionsBoundary"] == name
        resolver = Resolver(template, values | {"AlarmEmail": "ops@example.com"})
        boundary = resolver.resolve(role["PermissionsBoundary"])
        assert boundary == f"arn:aws:iam::{ACCOUNT}:policy/{name}"


# ------------------------------------------------ the service role can deploy the stack

# Handler permissions the template's properties never exercise, with the reason.
NOT_EXERCISED = {
    "ec2:": "no VpcConfig on the function",
    "elasticfilesystem:": "no file system on the function",
    "s3files:": "no file system on the function",
    "lambda:PutFunctionConcurrency": "no reserved concurrency (MaximumConcurrency on the mapping)",
    "lambda:DeleteFunctionConcurrency": "no reserved concurrency",
    "lambda:GetLayerVersion": "no layers",
    "lambda:PutRuntimeManagementConfig": "no RuntimeManagementConfig",
    "lambda:PutFunctionRecursionConfig": "no RecursiveLoop property",
    "lambda:PutFunctionScalingConfig": "no capacity provider",
    "lambda:PassCapacityProvider": "no capacity provider",
    "lambda:AssociateRuntimeAlias": "no runtime alias",
    "lambda:ListFunctions": "list handler: not called by stack operations",
    "lambda:ListAliases": "list handler: not called by stack operations",
    "lambda:ListEventSourceMappings": "list handler: not called by stack operations",
    "lambda:PutProvisionedConcurrencyConfig": "no provisioned concurrency",
    "lambda:GetProvisionedConcurrencyConfig": "no provisioned concurrency",
    "lambda:DeleteProvisionedConcurrencyConfig": "no provisioned concurrency",
    "kms:CreateGrant": "the function's environment uses Lambda's AWS-managed key",
    "kms:Encrypt": "the function's environment uses Lambda's AWS-managed key",
    "kms:Decrypt": "the function's environment uses Lambda's AWS-managed key",
    "kms:GenerateDataKey": "the function's environment uses Lambda's AWS-managed key",
    "kms:ListKeys": "list handler: not called by stack operations",
    "kms:ListAliases": "list handler: not called by stack operations",
    "sqs:ListQueues": "list handler: not called by stack operations",
    "sns:ListTopics": "list handler: not called by stack operations",
    "iam:ListRoles": "list handler: not called by stack operations",
    "iam:ListPolicies": "list handler: not called by stack operations",
    "kafka:": "the mapping's source is SQS",
    "iam:AttachRolePolicy": "the role has inline policies only (no ManagedPolicyArns)",
    "iam:DetachRolePolicy": "the role has inline policies only (no ManagedPolicyArns)",
    "iam:DeleteRolePermissionsBoundary": "denied on purpose: the boundary is never lifted",
    "codedeploy:": "no CodeDeploy traffic shifting on the alias",
    "lambda:GetFunctionScalingConfig": "no capacity provider (and parliament does not know it)",
    "firehose:": "no log delivery",
    "logs:CreateLogDelivery": "no log delivery",
    "logs:PutBearerTokenAuthentication": "no bearer token authentication",
    "logs:PutLogGroupDeletionProtection": "no deletion protection property",
    "logs:DeleteResourcePolicy": "no log resource policy",
    "logs:DescribeResourcePolicies": "no log resource policy",
    "logs:PutResourcePolicy": "no log resource policy",
    "logs:DeleteDataProtectionPolicy": "no data protection policy",
    "logs:GetDataProtectionPolicy": "no data protection policy",
    "logs:PutDataProtectionPolicy": "no data protection policy",
    "logs:DeleteIndexPolicy": "no field index policy",
    "logs:DescribeIndexPolicies": "no field index policy",
    "logs:PutIndexPolicy": "no field index policy",
    "s3:REST.PUT.OBJECT": "not an IAM action (a typo in the handler schema)",
    "s3tables:": "no table buckets",
    "s3:CreateBucketMetadataTableConfiguration": "no metadata tables",
    "s3:UpdateBucketMetadata": "no metadata tables",
    "s3:DeleteBucketMetadataTableConfiguration": "no metadata tables",
    "s3:GetBucketMetadataTableConfiguration": "no metadata tables",
    "s3:GetBucketAbac": "no attribute-based access control on buckets",
    "s3:PutBucketAbac": "no attribute-based access control on buckets",
    "s3:TagResource": "bucket tags go through PutBucketTagging",
    "s3:UntagResource": "bucket tags go through PutBucketTagging",
    "s3:ListTagsForResource": "bucket tags go through GetBucketTagging",
    "s3:PutAccelerateConfiguration": "the template sets no transfer acceleration",
    "s3:PutAnalyticsConfiguration": "the template sets no analytics",
    "s3:DeleteBucketAnalyticsConfiguration": "the template sets no analytics",
    "s3:PutBucketAcl": "ACLs are off (BucketOwnerEnforced)",
    "s3:PutObjectAcl": "ACLs are off (BucketOwnerEnforced)",
    "s3:PutBucketCORS": "the template sets no CORS",
    "s3:DeleteBucketCors": "the template sets no CORS",
    "s3:PutBucketWebsite": "no website hosting",
    "s3:DeleteBucketWebsite": "no website hosting",
    "s3:PutBucketObjectLockConfiguration": "no Object Lock on the stack's buckets",
    "s3:PutObjectLockConfiguration": "no Object Lock on the stack's buckets",
    "s3:PutIntelligentTieringConfiguration": "no Intelligent-Tiering",
    "s3:PutInventoryConfiguration": "no inventory",
    "s3:PutMetricsConfiguration": "no request metrics",
    "s3:DeleteBucketMetricsConfiguration": "no request metrics",
    "s3:PutBucketReplication": "no replication",
    "s3:PutReplicationConfiguration": "no replication",
    "s3:DeleteBucketReplication": "no replication",
    "s3:DeleteBucketEncryption": "encryption is never removed",
    "s3:DeleteBucketLifecycle": "every bucket keeps lifecycle rules",
    "s3:DeleteObject": "the buckets are retained, never emptied by CloudFormation",
    "sns:GetDataProtectionPolicy": "no SNS data protection policy",
    "sns:PutDataProtectionPolicy": "no SNS data protection policy",
    "mq:": "the mapping's source is SQS",
    "secretsmanager:": "the mapping's source is SQS",
}


@cache
def handler_permissions() -> dict[str, set[str]]:
    """{resource type: the permissions CloudFormation's handlers need} from cfn-lint's schemas."""
    folder = Path(cfnlint.__file__).parent / "data" / "schemas" / "resources"
    found: dict[str, set[str]] = {}
    wanted = {r["Type"] for r in load(TEMPLATE)["Resources"].values()}
    for path in folder.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        if '"handlers"' not in text:
            continue
        schema = json.loads(text)
        if schema.get("typeName") in wanted:
            found[schema["typeName"]] = {
                permission
                for name in ("create", "read", "update", "delete")
                for permission in schema["handlers"].get(name, {}).get("permissions", [])
            }
    return found


def exercised(permission: str) -> bool:
    return not any(permission.startswith(prefix) for prefix in NOT_EXERCISED)


def service_role_actions() -> list[str]:
    return [a for s in statements(roles()[1]["CloudFormationRole"]) for a in listed(s["Action"])]


def test_the_service_role_can_create_update_and_delete_every_resource_type() -> None:
    actions = service_role_actions()
    by_type = handler_permissions()
    types = {r["Type"] for r in load(TEMPLATE)["Resources"].values()}
    # Types without a registry schema (SQS::QueuePolicy, S3::BucketPolicy ...) are
    # covered by the checks below; every other type is checked against its handlers.
    assert len(by_type) >= 8, sorted(by_type)
    missing = {
        resource_type: sorted(
            p
            for p in permissions
            if exercised(p) and not any(fnmatchcase(p.lower(), a.lower()) for a in actions)
        )
        for resource_type, permissions in by_type.items()
    }
    assert {t: m for t, m in missing.items() if m} == {}
    unchecked = types - set(by_type)
    assert unchecked <= {
        "AWS::SQS::QueuePolicy",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SNS::Subscription",
        "AWS::Lambda::Version",
    }, unchecked


def test_a_missing_permission_is_caught() -> None:
    """The handler check bites: without lambda:PublishVersion the Version type fails."""
    needed = handler_permissions()["AWS::Lambda::Version"]
    assert "lambda:PublishVersion" in needed
    actions = [a for a in service_role_actions() if a != "lambda:PublishVersion"]
    assert [p for p in needed if exercised(p) and p not in actions] == ["lambda:PublishVersion"]
