"""``resizer invoke --event FILE``: the function once, on an event file (like `sam local invoke`).

The handler runs in this process with the deployed function's own configuration
(handler, environment, memory, timeout: read from the stack's live alias), against
the stack's real resources: the local stack's, or an AWS account's with your
credentials. Its log lines go to stderr, the response (JSON) to stdout. The event is
an SQS event as Lambda delivers it (``Records`` with ``eventSource: aws:sqs``), or a
bare S3 notification (``Records`` with ``eventSource: aws:s3``), wrapped in one SQS
record first. Nothing is taken off the queue; a permanent failure is dead-lettered as
in production.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from resizer_tools.cli.common import (
    DEFAULT_STACK_NAME,
    EXIT_FAILED,
    Endpoint,
    Region,
    StackName,
    aws_clients,
    errors,
    print_json,
)
from resizer_tools.errors import UsageError

__all__ = ["invoke", "sqs_event"]


def sqs_event(document: Any, queue_arn: str, region: str) -> dict[str, Any]:
    """The event file as Lambda's SQS event: as it is, or an S3 notification wrapped."""
    from resizer_tools.local.lambda_event import to_lambda_record  # noqa: PLC0415

    records = document.get("Records") if isinstance(document, dict) else None
    if not isinstance(records, list) or not records:
        raise UsageError(
            "the event file holds no 'Records': give an SQS event (as Lambda delivers it) "
            "or an S3 notification (tests/notifications/ has examples)"
        )
    sources = {str(record.get("eventSource", "")) for record in records if isinstance(record, dict)}
    if sources == {"aws:sqs"}:
        return dict(document)
    if sources == {"aws:s3"}:
        message = {
            "MessageId": str(uuid.uuid4()),
            "ReceiptHandle": "resizer-invoke",
            "Body": json.dumps(document, separators=(",", ":")),
        }
        return {"Records": [to_lambda_record(message, queue_arn, region)]}
    raise UsageError(
        f"the event's records come from {sorted(sources)}: expected aws:sqs or aws:s3 records"
    )


def invoke(
    event: Annotated[Path, typer.Option("--event", "-e", help="JSON event file.")],
    stack_name: StackName = DEFAULT_STACK_NAME,
    endpoint: Endpoint = None,
    region: Region = None,
) -> None:
    """Invoke the function's handler once on an event file; print its response as JSON.

    Exit 1 when the response names failed records (batchItemFailures).
    """
    from resizer_tools.local.function_logs import logged_to  # noqa: PLC0415
    from resizer_tools.local.mapping import MappingConfig  # noqa: PLC0415
    from resizer_tools.local.poller import Poller  # noqa: PLC0415

    with errors():
        try:
            document = json.loads(event.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"{event}: no such event file") from None
        except ValueError as error:
            raise UsageError(f"{event} is not JSON: {error}") from None
        aws = aws_clients(endpoint, region)
        config = MappingConfig.discover(aws, aws.stack(stack_name))
        with logged_to(sys.stderr):
            response = Poller(aws, config).invoke_once(
                sqs_event(document, config.queue_arn, config.region)
            )
    print_json(response)
    if isinstance(response, dict) and response.get("batchItemFailures"):
        raise typer.Exit(EXIT_FAILED)
