"""The CloudFormation service role can deploy every resource type of template.yaml.

CloudFormation's own resource handlers publish the permissions they need (the registry
schemas, which ship with cfn-lint): the service role must hold each of them, but for
those the template's properties never exercise, listed below with the reason. A new
resource type in template.yaml fails here until its permissions are added to
deploy-roles.yaml, not half way through a deploy.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path

import cfnlint
from cfn_template import TEMPLATE, load
from deploy_roles import listed, roles, statements

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
