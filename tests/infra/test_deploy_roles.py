"""The deploy path's roles, as code: bootstrap.yaml and deploy-roles.yaml.

What a security review asks of them, checked on the resolved policies:

* parliament finds nothing in any of them;
* the CloudFormation service role can do what CloudFormation's own resource handlers
  need for every resource type template.yaml uses: test_service_role_handlers.py;
* nobody can escalate: the pipeline's role only makes change sets through the service
  role; the service role only writes roles that carry the function's permissions
  boundary, never lifts it, never touches the deploy roles; the function role's grants
  all lie inside the boundary;
* only the publishing role may put artifacts; artifact versions are locked.
"""

from __future__ import annotations

import json
import re
from typing import Any

import artifact_keys  # scripts/, on pytest's pythonpath
import pytest
from cfn_template import ACCOUNT, BOOTSTRAP, DEPLOY_ROLES, TEMPLATE, Resolver, load
from deploy_roles import (
    BOOTSTRAP_PARAMETERS,
    ENV,
    ISSUER,
    ROLES_PARAMETERS,
    bootstrap,
    documents,
    grants,
    listed,
    parliament_findings,
    resolved,
    roles,
    statements,
)
from role_policy import RolePolicy

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


def test_templates_are_published_by_the_publisher_and_read_by_the_deploy_role() -> None:
    """Deploys send the template by URL (scripts/artifact_keys.py: templates/<sha256>.yaml);
    CloudFormation fetches a TemplateURL with the caller's credentials, so the deploy role
    reads that prefix, and only that prefix, and writes nothing there."""
    resolver, resources = bootstrap()
    bucket_arn = resolver.attribute("ArtifactBucket", "Arn")
    key = artifact_keys.template_key("0" * 64)
    assert grants(resources["PublisherRole"], "s3:PutObject", f"{bucket_arn}/{key}")
    assert not grants(resources["PublisherRole"], "s3:PutObject", f"{bucket_arn}/other/x.yaml")
    _, role_resources = roles()
    bucket = ROLES_PARAMETERS["ArtifactBucketName"]
    template = f"arn:aws:s3:::{bucket}/{key}"
    (read,) = grants(role_resources["DeployRole"], "s3:GetObject", template)
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"] == f"arn:aws:s3:::{bucket}/{artifact_keys.TEMPLATE_PREFIX}*"
    for logical_id in ("DeployRole", "CloudFormationRole"):
        for action in ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"):
            assert grants(role_resources[logical_id], action, template) == [], (logical_id, action)
    assert not grants(role_resources["DeployRole"], "s3:GetObject", f"arn:aws:s3:::{bucket}/x")


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


@pytest.mark.parametrize("existing_bucket", ["", "acme-uploads"])
def test_the_function_role_lies_inside_the_boundary(existing_bucket: str) -> None:
    """The template's role, for the environment's names, grants nothing the boundary does
    not: with its own source bucket, and with an existing one named in both templates."""
    _, resources = resolved(
        DEPLOY_ROLES, ROLES_PARAMETERS | {"ExistingSourceBucket": existing_bucket}
    )
    boundary = resources["FunctionBoundary"]
    policy = RolePolicy.from_template(
        names={"LogGroup": f"/aws/lambda/resizer-{ENV}"},
        parameters={"Environment": ENV, "ExistingSourceBucket": existing_bucket},
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
    """One name: deploy-roles.yaml creates it, the pipeline's deploys name it.

    The parameter files leave it empty: the AWS CLI path needs no deploy-roles stack
    (docs/first-deploy.md); the pipeline's service role refuses a role without it, so
    each pipeline deploy sets it (stack_parameters.py --set).
    """
    template = load(TEMPLATE)
    role = template["Resources"]["FunctionRole"]["Properties"]
    assert "PermissionsBoundary" in role
    pipeline = (TEMPLATE.parents[1] / "azure-pipelines.yml").read_text(encoding="utf-8")
    for env in ("dev", "prod"):
        _, resources = resolved(DEPLOY_ROLES, ROLES_PARAMETERS | {"Environment": env})
        name = resources["FunctionBoundary"]["ManagedPolicyName"]
        entries = json.loads((TEMPLATE.parent / "parameters" / f"{env}.json").read_text())
        values = {e["ParameterKey"]: e["ParameterValue"] for e in entries}
        assert values["FunctionPermissionsBoundary"] == ""
        given = re.findall(
            rf"parameters/{env}\.json.*?--set FunctionPermissionsBoundary=(\S+)",
            pipeline,
            re.DOTALL,
        )
        assert given[:1] == [name], f"the {env} deploy must pass the boundary deploy-roles creates"
        values["FunctionPermissionsBoundary"] = name
        resolver = Resolver(template, values | {"AlarmEmail": "ops@example.com"})
        boundary = resolver.resolve(role["PermissionsBoundary"])
        assert boundary == f"arn:aws:iam::{ACCOUNT}:policy/{name}"
