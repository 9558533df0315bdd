#!/usr/bin/env python3
"""Prod's deploy in two halves, with the approval between them: make and show a change
set, then (after the approval) execute exactly that one.

    python scripts/change_set.py --stack-name resizer-prod --name resizer-42-1 create \
        --template-url https://<bucket>.s3.<region>.amazonaws.com/templates/<sha256>.yaml \
        --parameters stack-parameters.json \
        --role-arn arn:aws:iam::<account>:role/resizer-deploy/resizer-prod-cloudformation \
        --summary change-set.md
    python scripts/change_set.py --stack-name resizer-prod --name resizer-42-1 execute \
        --expect-id <the id create printed>

The template goes by URL (the one scripts/stack_parameters.py --verify printed after
checking the object), never as a body: CloudFormation takes a body of up to 51,200 bytes
and a template in S3 of up to 1 MB, fetched with the caller's credentials.

``create`` makes the change set through the CloudFormation service role, waits until
it is ready, and writes what it would do (action, resource, type, replacement, the
properties that change) as a Markdown table: printed in the log and, in Azure
Pipelines, attached to the run's summary, where the approver reads it before approving
the next stage. A change set with nothing in it is deleted and reported as such.
``execute`` refuses a change set that does not exist, is not ready, or is not the one
that was shown (its id), then executes it and waits for the stack.

Honours AWS_ENDPOINT_URL like any boto3 program, so it runs against the local emulator.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

READY = "CREATE_COMPLETE"
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
DONE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE")


def azure(line: str) -> None:
    """An Azure Pipelines logging command (only when running there)."""
    if os.environ.get("TF_BUILD"):
        print(line)


def stack_status(cfn: Any, stack: str) -> str | None:
    try:
        return str(cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def describe(cfn: Any, stack: str, name: str) -> dict[str, Any]:
    changes: list[dict[str, Any]] = []
    kwargs = {"StackName": stack, "ChangeSetName": name}
    while True:
        page = cfn.describe_change_set(**kwargs)
        changes += page.get("Changes", [])
        if not page.get("NextToken"):
            return dict(page) | {"Changes": changes}
        kwargs["NextToken"] = page["NextToken"]


def wait_ready(cfn: Any, stack: str, name: str, timeout: float, poll: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = describe(cfn, stack, name)
        if found["Status"] not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
            return found
        if time.monotonic() > deadline:
            raise SystemExit(f"change set {name} not ready after {timeout:.0f} s")
        time.sleep(poll)


def summary(found: dict[str, Any]) -> str:
    """The change set as Markdown: what an approver needs to judge it."""
    lines = [
        f"## Change set `{found['ChangeSetName']}` on `{found['StackName']}`",
        "",
        f"- id: `{found['ChangeSetId']}`",
        f"- service role: `{found.get('RoleARN') or '(not reported)'}`",
        f"- description: {found.get('Description') or ''}",
        "",
        "| action | logical id | type | replacement | changed properties |",
        "| --- | --- | --- | --- | --- |",
    ]
    for change in found["Changes"]:
        item = change.get("ResourceChange", {})
        properties = sorted(
            {
                str(d.get("Target", {}).get("Name") or d.get("Target", {}).get("Attribute"))
                for d in item.get("Details", [])
            }
        )
        lines.append(
            f"| {item.get('Action', '')} | {item.get('LogicalResourceId', '')} "
            f"| {item.get('ResourceType', '')} | {item.get('Replacement', '-') or '-'} "
            f"| {', '.join(properties)} |"
        )
    parameters = sorted(
        f"{p['ParameterKey']}={p.get('ParameterValue', '')}" for p in found.get("Parameters", [])
    )
    lines += ["", "Parameters: " + ", ".join(f"`{p}`" for p in parameters), ""]
    return "\n".join(lines)


def create(args: argparse.Namespace, cfn: Any) -> int:
    status = stack_status(cfn, args.stack_name)
    kind = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    parameters = json.loads(args.parameters.read_text(encoding="utf-8"))
    try:
        found = _create(args, cfn, kind, parameters)
    except ClientError as exc:  # some endpoints refuse an empty update outright
        if not any(text in str(exc) for text in NO_CHANGES):
            raise
        found = {"Status": "FAILED", "StatusReason": str(exc), "Changes": [], "gone": True}
    has_changes = found["Status"] == READY and bool(found["Changes"])
    if not has_changes:
        reason = str(found.get("StatusReason", ""))
        if found["Status"] == READY or any(text in reason for text in NO_CHANGES):
            if not found.get("gone"):
                cfn.delete_change_set(StackName=args.stack_name, ChangeSetName=args.name)
            print(f"{args.stack_name}: nothing to change; no change set {args.name} to approve")
            azure("##vso[task.setvariable variable=hasChanges;isOutput=true]false")
            return 0
        raise SystemExit(f"change set {args.name} {found['Status']}: {reason}")
    text = summary(found)
    print(text)
    if args.summary:
        args.summary.write_text(text, encoding="utf-8")
        azure(f"##vso[task.uploadsummary]{args.summary.resolve()}")
    azure("##vso[task.setvariable variable=hasChanges;isOutput=true]true")
    azure(f"##vso[task.setvariable variable=changeSetId;isOutput=true]{found['ChangeSetId']}")
    azure(f"##vso[task.setvariable variable=changeSetName;isOutput=true]{args.name}")
    return 0


def _create(
    args: argparse.Namespace, cfn: Any, kind: str, parameters: list[dict[str, str]]
) -> dict[str, Any]:
    cfn.create_change_set(
        StackName=args.stack_name,
        ChangeSetName=args.name,
        ChangeSetType=kind,
        TemplateURL=args.template_url,
        Parameters=parameters,
        Capabilities=["CAPABILITY_IAM"],
        RoleARN=args.role_arn,
        Description=args.description[:1024],
        Tags=[{"Key": k, "Value": v} for k, v in (t.split("=", 1) for t in args.tag)],
    )
    return wait_ready(cfn, args.stack_name, args.name, args.timeout, args.poll)


def execute(args: argparse.Namespace, cfn: Any) -> int:
    try:
        found = describe(cfn, args.stack_name, args.name)
    except ClientError as exc:
        raise SystemExit(f"refusing: change set {args.name} does not exist ({exc})") from None
    if found["ChangeSetId"] != args.expect_id:
        raise SystemExit(
            f"refusing: change set {args.name} is {found['ChangeSetId']}, not the one shown "
            f"for approval ({args.expect_id})"
        )
    if found["Status"] != READY or found.get("ExecutionStatus", "AVAILABLE") != "AVAILABLE":
        raise SystemExit(
            f"refusing: change set {args.name} is {found['Status']}/"
            f"{found.get('ExecutionStatus')}, not ready to execute: {found.get('StatusReason')}"
        )
    cfn.execute_change_set(StackName=args.stack_name, ChangeSetName=args.name)
    deadline = time.monotonic() + args.timeout
    while True:
        status = stack_status(cfn, args.stack_name) or "DELETED"
        if status in DONE:
            print(f"{args.stack_name}: {status}")
            return 0
        if not status.endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            events = cfn.describe_stack_events(StackName=args.stack_name)["StackEvents"][:20]
            for event in events:
                reason = event.get("ResourceStatusReason", "")
                print(f"  {event['LogicalResourceId']}: {event['ResourceStatus']} {reason}")
            raise SystemExit(f"{args.stack_name} ended {status}")
        time.sleep(args.poll)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack-name", required=True)
    parser.add_argument("--name", required=True, help="the change set's name")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--poll", type=float, default=5.0)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("create", help="create the change set and show it")
    make.add_argument(
        "--template-url", required=True, help="the template in S3 (stack_parameters.py --verify)"
    )
    make.add_argument("--parameters", type=Path, required=True, help="scripts/stack_parameters.py")
    make.add_argument("--role-arn", required=True, help="the CloudFormation service role")
    make.add_argument("--description", default="")
    make.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    make.add_argument("--summary", type=Path, help="also write the Markdown summary here")
    run = commands.add_parser("execute", help="execute the change set that was shown")
    run.add_argument("--expect-id", required=True, help="the id `create` printed")
    args = parser.parse_args(argv)
    cfn = boto3.client("cloudformation")
    return create(args, cfn) if args.command == "create" else execute(args, cfn)


if __name__ == "__main__":
    sys.exit(main())
