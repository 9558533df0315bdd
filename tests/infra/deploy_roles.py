"""bootstrap.yaml and deploy-roles.yaml resolved for sample parameters, and their policies.

Shared by test_deploy_roles.py and test_service_role_handlers.py (tests/infra is on
pytest's pythonpath).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

from cfn_template import ACCOUNT, BOOTSTRAP, DEPLOY_ROLES, Resolver, load

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
