"""S3's own limits, which moto does not enforce, applied to the handler's requests.

Real S3 refuses an object key over 1,024 bytes (``KeyTooLongError``) and user
metadata over 2 KB (``MetadataTooLarge``, keys + values, UTF-8). A source key can be
valid while the rendition key (``thumbnails/`` + key) or the ``source-key``
metadata (the key percent-encoded: up to 9 bytes per character) is not. Such an
upload can never succeed, so it must not be retried as a transient failure: it must
render (the metadata is optional) or go to the DLQ at once with its reason.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from emulated_aws import Stack, StreamedBody
from invocations import Drained, dead_letters, invoke_once, receive

from resizer import handler
from resizer.layout import manifest_key

KEY_LIMIT = 1024
METADATA_LIMIT = 2048


def _error(code: str, message: str, url: str) -> Any:
    from botocore.awsrequest import AWSResponse

    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    return AWSResponse(url, 400, {}, StreamedBody(body))


def enforce_s3_limits(request: Any, **_: Any) -> Any:
    """A botocore before-send hook answering as S3 does when a PUT breaks a limit."""
    if request.method != "PUT":
        return None
    path = urlsplit(request.url).path
    key = unquote(path.split("/", 2)[2]) if path.count("/") >= 2 else ""
    if len(key.encode()) > KEY_LIMIT:
        return _error("KeyTooLongError", "Your key is too long", request.url)
    metadata = sum(
        len(name[len("x-amz-meta-") :].encode()) + len(str(value).encode())
        for name, value in request.headers.items()
        if name.lower().startswith("x-amz-meta-")
    )
    if metadata > METADATA_LIMIT:
        return _error(
            "MetadataTooLarge",
            "Your metadata headers exceed the maximum allowed metadata size.",
            request.url,
        )
    return None


@pytest.fixture
def strict_stack(stack: Stack) -> Stack:
    handler.runtime().pipeline.storage.s3.meta.events.register("before-send.s3", enforce_s3_limits)
    return stack


def _process(stack: Stack) -> tuple[Drained, dict[str, Any]]:
    drained = Drained()
    messages = receive(stack, 10, wait=1)
    assert messages
    response = invoke_once(stack, messages, drained)
    return drained, response


def _renditions(stack: Stack) -> set[str]:
    listed = stack.s3.list_objects_v2(Bucket=stack.destination)
    return {o["Key"] for o in listed.get("Contents", [])}


def _jpeg() -> bytes:
    from images import jpeg

    return jpeg(320, 200)


def test_the_hook_lets_ordinary_uploads_through(strict_stack: Stack) -> None:
    strict_stack.put("ordinary/photo.jpg", _jpeg())
    _, response = _process(strict_stack)
    assert response["batchItemFailures"] == []
    key = "ordinary/photo.jpg"
    expected = {f"{n}/{key}" for n in ("large", "medium", "thumbnails")} | {manifest_key(key)}
    assert _renditions(strict_stack) == expected


def test_a_long_non_ascii_key_still_renders(strict_stack: Stack) -> None:
    # 506 characters, 1,006 bytes: a valid key; percent-encoded it is 3,006 bytes.
    key = "k/" + "\u00e9" * 500 + ".jpg"
    assert len(key.encode()) <= KEY_LIMIT
    strict_stack.put(key, _jpeg())
    _drained, response = _process(strict_stack)
    assert response["batchItemFailures"] == [], "a key that can never work must not be retried"
    renditions = {f"{n}/{key}" for n in ("large", "medium", "thumbnails")}
    assert _renditions(strict_stack) == renditions | {manifest_key(key)}


def test_a_key_too_long_for_its_renditions_is_a_permanent_failure(strict_stack: Stack) -> None:
    key = "k/" + "x" * 1016 + ".jpg"  # 1,022 bytes: valid; "thumbnails/" + key is not
    strict_stack.put(key, _jpeg())
    _, response = _process(strict_stack)
    assert response["batchItemFailures"] == [], "a key that can never work must not be retried"
    letters = dead_letters(strict_stack)
    assert len(letters) == 1
    attributes = letters[0]["MessageAttributes"]
    assert attributes["ErrorType"]["StringValue"] != "TransientError"
    assert (
        "1,024" in attributes["ErrorReason"]["StringValue"]
        or "1024" in (attributes["ErrorReason"]["StringValue"])
    )
