"""infra/template.yaml and infra/bootstrap.yaml, read and resolved for sample names.

The checks on the templates evaluate intrinsic functions (``Ref``, ``Fn::GetAtt``,
``Fn::Sub`` ...) against sample physical names: an account, a region, a stack and
one name per resource, all overridable. Anything this resolver does not know
raises, so a new intrinsic in the template fails a test instead of being skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

from resizer_tools.local import template

INFRA = Path(__file__).resolve().parents[2] / "infra"
TEMPLATE = INFRA / "template.yaml"
BOOTSTRAP = INFRA / "bootstrap.yaml"
DEPLOY_ROLES = INFRA / "deploy-roles.yaml"
TEMPLATES = [TEMPLATE, BOOTSTRAP, DEPLOY_ROLES]

ACCOUNT = "123456789012"
REGION = "eu-west-1"
STACK_NAME = "resizer-dev"
STACK_ID = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK_NAME}/"
    "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
)
SAMPLE_PARAMETERS = {"CodeBucket": "resizer-artifacts-sample", "CodeKey": "resizer/0.1.0/r.zip"}


# The template uses something the resolver does not evaluate.
UnresolvableError = template.UnresolvableError


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain data (long-form intrinsics), as cfn-lint reads it."""
    document, matches = decode(str(path))
    if matches or document is None:
        raise UnresolvableError(f"{path} does not parse: {matches}")
    return document  # type: ignore[no-any-return]


def parameter_defaults(document: Mapping[str, Any]) -> dict[str, str]:
    return {
        name: str(spec["Default"])
        for name, spec in (document.get("Parameters") or {}).items()
        if "Default" in spec
    }


class _SampleNames(dict[str, str]):
    """What ``Ref`` returns for every resource of the template: given, or a sample."""

    def __init__(self, resolver: Resolver) -> None:
        super().__init__()
        self._resolver = resolver

    def __contains__(self, name: object) -> bool:
        return name in self._resolver.resources

    def __getitem__(self, name: str) -> str:
        return str(self._resolver.ref(name))


class Resolver:
    """Evaluates the template's intrinsics for given parameters and physical names.

    ``names`` maps a logical id to what ``Ref`` returns for it (bucket name, queue
    URL, key id, log group name ...); unnamed resources get a sample name. ARNs are
    derived from those the way AWS builds them.
    """

    def __init__(
        self,
        document: Mapping[str, Any],
        parameters: Mapping[str, str] | None = None,
        names: Mapping[str, str] | None = None,
        *,
        region: str = REGION,
        account: str = ACCOUNT,
    ) -> None:
        self.document = document
        self.region, self.account = region, account
        self.resources: Mapping[str, Any] = document.get("Resources") or {}
        self.parameters = {
            **parameter_defaults(document),
            **SAMPLE_PARAMETERS,
            **(parameters or {}),
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": STACK_NAME,
            "AWS::StackId": STACK_ID.replace(REGION, region).replace(ACCOUNT, account),
        }
        self.names = dict(names or {})
        self._core = template.Resolver(
            parameters=self.parameters,
            physical_ids=_SampleNames(self),
            attribute=self.attribute,
            conditions=document.get("Conditions") or {},
            mappings=document.get("Mappings") or {},
        )

    # ----------------------------------------------------------------- values
    # The intrinsics are evaluated by the local stack's resolver (the same code that
    # applies the emulator's gaps); this class only supplies sample names and ARNs.
    def resolve(self, value: Any) -> Any:
        return self._core.resolve(value)

    def condition(self, name: str) -> bool:
        return self._core.condition(name)

    def rule_failures(self) -> list[str]:
        """The ``Rules`` whose assertions fail for these parameters, as CloudFormation
        reports them at validation (``AssertDescription``)."""
        failures = []
        for name, rule in (self.document.get("Rules") or {}).items():
            if "RuleCondition" in rule and not self._rule_truth(rule["RuleCondition"]):
                continue
            for assertion in rule["Assertions"]:
                if not self._rule_truth(assertion["Assert"]):
                    failures.append(f"{name}: {assertion.get('AssertDescription', '')}")
        return failures

    def _rule_truth(self, value: Any) -> bool:
        ((key, arg),) = value.items()
        if key == "Fn::Contains":
            items, item = self.resolve(arg)
            return str(item) in [str(i) for i in items]
        if key == "Fn::Not":
            return not self._rule_truth(arg[0])
        if key in ("Fn::And", "Fn::Or"):
            truths = [self._rule_truth(v) for v in arg]
            return all(truths) if key == "Fn::And" else any(truths)
        if key == "Fn::Equals":
            left, right = (self.resolve(v) for v in arg)
            return str(left) == str(right)
        raise UnresolvableError(f"rule function {key} is not evaluated here")

    # ------------------------------------------------------------- resources
    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name not in self.resources:
            raise UnresolvableError(f"Ref {name!r}: no such parameter or resource")
        if name not in self.names:
            self.names[name] = self._sample_name(name)
        return self.names[name]

    def _type(self, logical_id: str) -> str:
        return str(self.resources[logical_id]["Type"])

    def _sample_name(self, logical_id: str) -> str:
        resource_type = self._type(logical_id)
        properties = self.resources[logical_id].get("Properties") or {}
        prefix = f"arn:aws:{{}}:{self.region}:{self.account}"
        if resource_type == "AWS::S3::Bucket":
            if "BucketName" in properties:
                return str(self.resolve(properties["BucketName"]))
            return f"{STACK_NAME}-{logical_id.lower()}-sample"
        if resource_type == "AWS::SQS::Queue":
            queue = str(
                self.resolve(properties.get("QueueName", f"{STACK_NAME}-{logical_id}-SAMPLE"))
            )
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{queue}"
        if resource_type == "AWS::KMS::Key":
            return str(uuid.uuid5(uuid.NAMESPACE_URL, logical_id))  # a key id per key
        if resource_type == "AWS::Logs::LogGroup":
            return str(self.resolve(properties["LogGroupName"]))
        if resource_type == "AWS::Lambda::Function":
            return f"{STACK_NAME}-{logical_id}-SAMPLE"
        if resource_type == "AWS::Lambda::Alias":
            function = self.resolve(properties["FunctionName"])
            return f"{prefix.format('lambda')}:function:{function}:{properties['Name']}"
        if resource_type == "AWS::SNS::Topic":
            return f"{prefix.format('sns')}:{STACK_NAME}-{logical_id}-SAMPLE"
        if resource_type == "AWS::IAM::Role":
            return str(
                self.resolve(properties.get("RoleName", f"{STACK_NAME}-{logical_id}-SAMPLE"))
            )
        if resource_type == "AWS::IAM::ManagedPolicy":
            name = self.resolve(properties.get("ManagedPolicyName", f"{STACK_NAME}-{logical_id}"))
            return f"arn:aws:iam::{self.account}:policy/{name}"
        if resource_type == "AWS::IAM::OIDCProvider":
            url = str(self.resolve(properties["Url"])).removeprefix("https://")
            return f"arn:aws:iam::{self.account}:oidc-provider/{url}"
        return f"{STACK_NAME}-{logical_id}-sample"

    def attribute(self, logical_id: str, attr: str) -> str:
        resource_type = self._type(logical_id)
        name = str(self.ref(logical_id))
        prefix = f"arn:aws:{{}}:{self.region}:{self.account}"
        if resource_type == "AWS::S3::Bucket" and attr == "Arn":
            return f"arn:aws:s3:::{name}"
        if resource_type == "AWS::S3::Bucket" and attr == "RegionalDomainName":
            return f"{name}.s3.{self.region}.amazonaws.com"
        if resource_type == "AWS::CloudFront::OriginAccessControl" and attr == "Id":
            return "E2SAMPLEOAC0001"
        if resource_type == "AWS::CloudFront::Distribution" and attr == "DomainName":
            return "d111111abcdef8.cloudfront.net"
        if resource_type == "AWS::SQS::Queue":
            queue = name.rsplit("/", 1)[-1]
            return {"Arn": f"{prefix.format('sqs')}:{queue}", "QueueName": queue}[attr]
        if resource_type == "AWS::Events::Rule" and attr == "Arn":
            return f"{prefix.format('events')}:rule/{name}"
        if resource_type == "AWS::KMS::Key" and attr == "Arn":
            return f"{prefix.format('kms')}:key/{name}"
        if resource_type == "AWS::Logs::LogGroup" and attr == "Arn":
            return f"{prefix.format('logs')}:log-group:{name}:*"
        if resource_type == "AWS::Lambda::Function" and attr == "Arn":
            return f"{prefix.format('lambda')}:function:{name}"
        if resource_type == "AWS::Lambda::Version" and attr == "Version":
            return "1"
        if resource_type == "AWS::IAM::Role" and attr == "Arn":
            path = self.resources[logical_id].get("Properties", {}).get("Path", "/")
            return f"arn:aws:iam::{self.account}:role{path}{name}"
        if resource_type == "AWS::Signer::SigningProfile" and attr == "ProfileVersionArn":
            return f"{prefix.format('signer')}:/signing-profiles/{name}/SAMPLEVERSION"
        if resource_type == "AWS::Lambda::CodeSigningConfig" and attr == "CodeSigningConfigArn":
            return f"{prefix.format('lambda')}:code-signing-config:csc-0123456789abcdef0"
        raise UnresolvableError(f"GetAtt {logical_id}.{attr} ({resource_type}) is not known here")
