"""The dead-letter queue itself failing: a permanent failure is never lost.

If SendMessage to the DLQ fails (throttled, 5xx, a dropped connection), the record
must stay on the source queue (reported in batchItemFailures) rather than be
acknowledged with its reason nowhere; once the DLQ answers, the retry lands it there.
"""

from __future__ import annotations

from typing import Any

from deliveries import take_notifications
from emulated_aws import Stack, StreamedBody
from images import jpeg
from invocations import Drained, dead_letters, invoke_once, receive

from resizer import handler


def test_a_failing_dead_letter_queue_keeps_the_record_for_a_retry(stack: Stack) -> None:
    stack.put("bad/notes.jpg", b"not a photo at all, just words")
    stack.put("good/photo.jpg", jpeg(640, 480))
    failures: list[str] = []

    def unavailable(request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        if b"SendMessage" in (request.body or b"") or "SendMessage" in str(
            request.headers.get("X-Amz-Target", "")
        ):
            failures.append(request.url)
            body = b'{"__type":"com.amazonaws.sqs#ServiceUnavailable","message":"unavailable"}'
            return AWSResponse(request.url, 503, {}, StreamedBody(body))
        return None

    sqs = handler.runtime().sqs
    sqs.meta.events.register("before-send.sqs", unavailable)
    drained = Drained()
    messages = receive(stack, 10, wait=1)
    assert len(messages) == 2
    response = invoke_once(stack, messages, drained)
    assert failures, "the hook should have failed the DLQ send"
    bad = [m["MessageId"] for m in messages if "bad%2Fnotes.jpg" in m["Body"]]
    assert response["batchItemFailures"] == [{"itemIdentifier": bad[0]}]
    assert dead_letters(stack) == []
    # The good record in the same batch was not held back.
    head = stack.s3.head_object(Bucket=stack.destination, Key="large/good/photo.jpg")
    assert head["Metadata"]["width"] == "640"

    sqs.meta.events.unregister("before-send.sqs", unavailable)
    for _ in range(10):  # the retry, after the visibility timeout (1 s)
        again = receive(stack, 10, wait=2)
        if again:
            assert invoke_once(stack, again, drained)["batchItemFailures"] == []
            break
    letters = dead_letters(stack)
    assert [m["MessageAttributes"]["SourceKey"]["StringValue"] for m in letters] == [
        "bad/notes.jpg"
    ]
    assert take_notifications(stack) == []
