"""The template's hardening (issue 12's review), read from the template itself.

What the emulator cannot show (RedriveAllowPolicy, key policies, deletion policies,
Rules) is checked here on the resolved template.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from cfn_template import TEMPLATE, Resolver, load

DOCUMENT = load(TEMPLATE)
RESOURCES: dict[str, Any] = DOCUMENT["Resources"]
PARAMETERS: dict[str, Any] = DOCUMENT["Parameters"]


def of_type(resource_type: str) -> dict[str, Any]:
    return {k: v for k, v in RESOURCES.items() if v["Type"] == resource_type}


def props(logical_id: str) -> dict[str, Any]:
    return RESOURCES[logical_id]["Properties"]  # type: ignore[no-any-return]


def test_only_the_image_queue_may_use_the_dead_letter_queue() -> None:
    """RedriveAllowPolicy (SQS.1-style hardening): no other queue can dead-letter here."""
    resolver = Resolver(DOCUMENT)
    allow = resolver.resolve(props("DeadLetterQueue")["RedriveAllowPolicy"])
    assert allow == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [resolver.attribute("Queue", "Arn")],
    }
    # The ARN is spelt out from the queue's name: it must stay the queue's real name.
    assert "QueueName" in props("Queue")


@pytest.mark.parametrize("resource_type", ["AWS::KMS::Key", "AWS::Logs::LogGroup"])
def test_keys_and_the_log_group_survive_stack_deletion(resource_type: str) -> None:
    found = of_type(resource_type)
    assert found
    for logical_id, resource in found.items():
        assert resource.get("DeletionPolicy") == "Retain", logical_id
        assert resource.get("UpdateReplacePolicy") == "Retain", logical_id


def test_key_policies_let_services_act_only_for_this_account() -> None:
    """A service principal in a key policy without a condition is the confused deputy."""
    resolver = Resolver(DOCUMENT)
    for logical_id in of_type("AWS::KMS::Key"):
        for statement in resolver.resolve(props(logical_id)["KeyPolicy"])["Statement"]:
            if "Service" not in statement["Principal"]:
                continue
            condition = statement.get("Condition", {})
            account = condition.get("StringEquals", {}).get("aws:SourceAccount")
            context = condition.get("ArnEquals", {}).get("kms:EncryptionContext:aws:logs:arn")
            assert account == "123456789012" or (context and ":123456789012:" in context), (
                f"{logical_id}/{statement['Sid']}: not conditioned on this account"
            )


def test_prod_refuses_an_empty_alarm_email_and_an_unpinned_code_version() -> None:
    assert Resolver(DOCUMENT, {"Environment": "prod"}).rule_failures() == [
        "ProdNeedsAlarmEmail: Environment prod needs an AlarmEmail"
        " (its alarms would reach nobody).",
        "ProdDeploysAnObjectVersion: Environment prod needs CodeVersion"
        " (scripts/stack_parameters.py --verify sets it).",
    ]
    complete = {"Environment": "prod", "AlarmEmail": "ops@example.com", "CodeVersion": "v1"}
    assert Resolver(DOCUMENT, complete).rule_failures() == []
    assert Resolver(DOCUMENT, {"Environment": "dev"}).rule_failures() == []


def test_code_is_deployed_by_object_version_and_optionally_signed() -> None:
    code = {"CodeVersion": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"}
    signed = {
        "CodeSigningConfigArn": "arn:aws:lambda:eu-west-1:123456789012:"
        "code-signing-config:csc-0123456789abcdef0"
    }
    function = Resolver(DOCUMENT, code | signed).resolve(props("Function"))
    assert function["Code"]["S3ObjectVersion"] == code["CodeVersion"]
    assert function["CodeSigningConfigArn"] == signed["CodeSigningConfigArn"]
    unsigned = Resolver(DOCUMENT).resolve(props("Function"))
    assert "S3ObjectVersion" not in unsigned["Code"]
    assert "CodeSigningConfigArn" not in unsigned
    pattern = re.compile(PARAMETERS["CodeSigningConfigArn"]["AllowedPattern"])
    assert pattern.fullmatch(signed["CodeSigningConfigArn"])
    assert pattern.fullmatch("")


def test_rules_are_evaluated_not_skipped() -> None:
    failures = Resolver(DOCUMENT, {"BatchSize": "11"}).rule_failures()
    assert [f.split(":")[0] for f in failures] == ["BatchSizeNeedsWindow"]
