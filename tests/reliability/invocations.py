"""Drive the real handler the way Lambda's event source mapping does, in bounded loops."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from emulated_aws import Stack, lambda_context

from resizer import handler


@dataclass
class Drained:
    """What the handler was given and what it answered, invocation by invocation."""

    invocations: int = 0
    records: int = 0
    failures: list[str] = field(default_factory=list)  # message ids left for a retry
    crashes: list[str] = field(default_factory=list)  # invocations that raised


def receive(stack: Stack, limit: int, wait: int = 0) -> list[dict[str, Any]]:
    return list(
        stack.sqs.receive_message(
            QueueUrl=stack.queue_url,
            MaxNumberOfMessages=min(10, limit),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
    )


def invoke_once(
    stack: Stack, messages: list[dict[str, Any]], drained: Drained, remaining_ms: int = 60_000
) -> dict[str, Any]:
    """One invocation: the handler's partial batch response decides what is deleted."""
    drained.invocations += 1
    drained.records += len(messages)
    try:
        response = handler.lambda_handler(
            stack.lambda_event(messages), lambda_context(remaining_ms=remaining_ms)
        )
    except Exception as error:  # a crashed invocation: Lambda retries the whole batch
        drained.crashes.append(f"{type(error).__name__}: {error}")
        return {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    drained.failures.extend(sorted(failed))
    entries = [
        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
        for n, m in enumerate(messages)
        if m["MessageId"] not in failed
    ]
    if entries:
        stack.sqs.delete_message_batch(QueueUrl=stack.queue_url, Entries=entries)
    return dict(response)


def drain(
    stack: Stack, *, batch_size: int = 10, timeout: float = 120, idle_rounds: int = 2
) -> Drained:
    """Invoke until the queue stays empty for ``idle_rounds`` polls (bounded in time)."""
    drained = Drained()
    deadline = time.monotonic() + timeout
    idle = 0
    while idle < idle_rounds:
        if time.monotonic() > deadline:
            raise AssertionError(f"queue not drained in {timeout} s: {drained}")
        messages = receive(stack, batch_size, wait=1)
        if not messages:
            idle += 1
            continue
        idle = 0
        invoke_once(stack, messages, drained)
    return drained


def dead_letters(stack: Stack) -> list[dict[str, Any]]:
    """Every message on the DLQ (left in flight), bounded."""
    found: list[dict[str, Any]] = []
    for _ in range(200):
        batch = stack.sqs.receive_message(
            QueueUrl=stack.dlq_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
            VisibilityTimeout=30,
        ).get("Messages", [])
        if not batch:
            break
        found.extend(batch)
    return found
