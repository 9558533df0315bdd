"""Running out of time: the record fails cleanly (transient, retried), nothing that
looks complete is left behind, and the retry completes the set.

Two ways an invocation ends early: the handler sees less than DEADLINE_MARGIN_MS
left and stops before writing (a DeadlineError), or Lambda kills it mid-write (here:
an exception the handler does not catch, raised between two PUTs). Renditions record
their source's ETag, so a partial or mixed set is never taken for a current one.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from deliveries import BOXES, after_fetch, assert_match, renditions, take_notifications
from emulated_aws import Stack, lambda_context
from images import jpeg
from invocations import dead_letters

from resizer import handler


class Killed(BaseException):
    """Lambda's hard timeout: the invocation stops wherever it is."""


def invoke(stack: Stack, body: str, context: Any) -> dict[str, Any]:
    message = {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "-", "Body": body}
    event = stack.lambda_event([message])
    try:
        return dict(handler.lambda_handler(event, context))
    except Killed:
        return {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}], "killed": True}


def test_time_running_out_while_rendering_stops_before_writing(stack: Stack) -> None:
    key = "deadline/photo.jpg"
    etag = stack.put(key, jpeg(2400, 1600))
    (body,) = [n.body for n in take_notifications(stack)]
    context = lambda_context(remaining_ms=60_000)

    def slow_fetch(bucket: str, key: str) -> None:
        context.deadline = time.monotonic() + 9  # the download took most of the time left

    restore = after_fetch(slow_fetch)
    response = invoke(stack, body, context)
    assert len(response["batchItemFailures"]) == 1  # transient: SQS retries it
    assert renditions(stack, key) == {}  # nothing written
    assert dead_letters(stack) == []

    restore()
    retried = invoke(stack, body, lambda_context(remaining_ms=60_000))
    assert retried["batchItemFailures"] == []
    assert_match(stack, key, etag, (2400, 1600))


def test_too_little_time_at_the_start_downloads_nothing(stack: Stack) -> None:
    key = "deadline/late.jpg"
    stack.put(key, jpeg(800, 600))
    (body,) = [n.body for n in take_notifications(stack)]
    calls: list[str] = []
    after_fetch(lambda bucket, key: calls.append(key))
    response = invoke(stack, body, lambda_context(remaining_ms=9_999))  # margin is 10,000
    assert len(response["batchItemFailures"]) == 1
    assert calls == []
    assert renditions(stack, key) == {}


def _kill_after_puts(count: int) -> None:
    """Lambda's hard timeout after ``count`` PUTs, raised by a botocore hook on the
    handler's own S3 client (gone with it when the next container builds its own)."""
    done: list[str] = []

    def put_object(params: dict[str, Any], **_: Any) -> None:
        if len(done) >= count:
            raise Killed
        done.append(params["Key"])

    handler.runtime().pipeline.storage.s3.meta.events.register(
        "provide-client-params.s3.PutObject", put_object
    )


@pytest.mark.parametrize("written", [1, 2])
def test_killed_mid_write_leaves_an_incomplete_set_that_the_retry_completes(
    stack: Stack, written: int
) -> None:
    key = f"killed/first-version-{written}.jpg"
    etag = stack.put(key, jpeg(2000, 1000))
    (body,) = [n.body for n in take_notifications(stack)]
    _kill_after_puts(written)
    assert invoke(stack, body, lambda_context()).get("killed")
    partial = renditions(stack, key)
    assert len(partial) == written < len(BOXES)  # visibly incomplete

    handler.runtime.cache_clear()  # a new container after the kill
    assert invoke(stack, body, lambda_context())["batchItemFailures"] == []
    assert_match(stack, key, etag, (2000, 1000))


def test_killed_while_replacing_a_version_leaves_a_mixed_set_that_is_redone(
    stack: Stack,
) -> None:
    key = "killed/replaced.jpg"
    stack.put(key, jpeg(2000, 1000))
    (first,) = [n.body for n in take_notifications(stack)]
    assert invoke(stack, first, lambda_context())["batchItemFailures"] == []
    newest = stack.put(key, jpeg(500, 1500))
    (second,) = [n.body for n in take_notifications(stack)]
    _kill_after_puts(1)
    assert invoke(stack, second, lambda_context()).get("killed")
    mixed = renditions(stack, key)
    # Every rendition exists, but their source ETags disagree: not a complete set.
    assert set(mixed) == set(BOXES)
    assert len({r["etag"] for r in mixed.values()}) == 2

    handler.runtime.cache_clear()
    for body in (first, second, first):  # the retry, with a stale duplicate around it
        assert invoke(stack, body, lambda_context())["batchItemFailures"] == []
    assert_match(stack, key, newest, (500, 1500))
