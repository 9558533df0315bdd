"""The handler records which function version dead-lettered a record, and the ETag the
event named: what ``resizer backfill`` compares to skip sources it would only
dead-letter again (resizer_tools.ops.dead_letters.failed_by)."""

from __future__ import annotations

from emulated_aws import Stack

from resizer.notifications import created_record, notification_body
from resizer_tools.ops import dead_letters
from resizer_tools.ops.aws import Aws, StackResources


def _resources(stack: Stack) -> StackResources:
    return StackResources(
        stack_name="-",
        source_bucket=stack.source,
        destination_bucket=stack.destination,
        queue_url=stack.queue_url,
        dead_letter_queue_url=stack.dlq_url,
        function_name="resizer",
    )


def test_a_dead_letter_names_the_version_and_the_etag(stack: Stack, endpoint: str) -> None:
    etag = stack.put("notes.jpg", b"my notes, not a photo")
    stack.put("other.jpg", b"not a photo either")
    response, _ = stack.invoke()  # the harness's context: version "1" of function resizer
    assert response == {"batchItemFailures": []}

    # Retries ran out (SQS's redrive: no attributes): a retry may succeed, never skipped.
    stack.sqs.send_message(
        QueueUrl=stack.dlq_url,
        MessageBody=notification_body([created_record(stack.source, "flaky.jpg", etag="e")]),
    )
    resources = _resources(stack)
    letters = {d.source_key: d for d in dead_letters.dead_letters(Aws(endpoint), resources)}
    assert (letters["flaky.jpg"].error_type, letters["flaky.jpg"].function_version) == (
        dead_letters.RETRIES_EXHAUSTED,
        "",
    )
    assert (letters["notes.jpg"].function_version, letters["notes.jpg"].source_etag) == ("1", etag)
    # Only the version that failed them: another version (or none) matches nothing.
    by_version = dead_letters.failed_by(Aws(endpoint), resources, "1")
    assert sorted(d.source_key for d in by_version) == ["notes.jpg", "other.jpg"]
    assert dead_letters.failed_by(Aws(endpoint), resources, "2") == []
    assert dead_letters.failed_by(Aws(endpoint), resources, "") == []
