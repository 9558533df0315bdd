"""S3Storage.fetch retries a download whose body breaks mid-stream, in-process.

botocore retries a request until its response headers arrive; a body that breaks
while it is read (a reset, a read timeout, fewer bytes than Content-Length) used to
fail the record, which SQS redelivered a whole visibility timeout later. The S3 client
here is a fake whose bodies are botocore's own StreamingBody over a raw stream that
breaks, so the errors are the ones botocore really raises.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError, ResponseStreamingError
from botocore.exceptions import ReadTimeoutError as BotoReadTimeoutError
from botocore.response import StreamingBody
from urllib3.exceptions import ProtocolError
from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeoutError

from resizer import storage
from resizer.config import Settings
from resizer.errors import BrokenReadError, DeadlineError, SourceGoneError
from resizer.storage import READ_ATTEMPTS, S3Storage

DATA = bytes(range(256)) * 400  # 100 KB


class _Breaking(io.RawIOBase):
    """A raw HTTP body that delivers half its bytes, then breaks as ``how`` says."""

    def __init__(self, data: bytes, how: str) -> None:
        self._data = data
        self._how = how

    def read(self, amount: int | None = -1) -> bytes:
        if self._how == "short":  # the connection closed early, cleanly
            return self._data[: len(self._data) // 2]
        if self._how == "reset":
            raise ProtocolError("Connection broken", ConnectionResetError(104, "reset"))
        raise Urllib3ReadTimeoutError(None, "/bucket/key", "Read timed out.")  # type: ignore[arg-type]


@dataclass
class _FakeS3:
    """get_object whose first ``breaks`` bodies break; records the calls."""

    breaks: list[str]
    gets: int = 0
    missing: bool = False
    calls: list[str] = field(default_factory=list)

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self.gets += 1
        if self.missing:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"}}, "GetObject")
        raw: io.RawIOBase = io.BytesIO(DATA)
        if self.breaks:
            raw = _Breaking(DATA, self.breaks.pop(0))
        return {
            "Body": StreamingBody(raw, len(DATA)),
            "ContentLength": len(DATA),
            "ETag": '"etag-1"',
        }


def _storage(fake: _FakeS3, sleeps: list[float]) -> S3Storage:
    return S3Storage(cast(Any, fake), Settings(), sleep=sleeps.append)


@pytest.mark.parametrize("how", ["reset", "timeout", "short"])
def test_a_body_that_breaks_mid_stream_is_read_again(how: str) -> None:
    fake, sleeps = _FakeS3([how, how]), []
    source = _storage(fake, sleeps).fetch("bucket", "key")
    assert source.data == DATA
    assert source.etag == "etag-1"
    assert fake.gets == 3
    # Backoff with full jitter: each wait within its doubling ceiling.
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= storage.READ_BACKOFF_S
    assert 0 <= sleeps[1] <= 2 * storage.READ_BACKOFF_S


def test_the_errors_are_the_ones_botocore_raises() -> None:
    for how, expected in [("reset", ResponseStreamingError), ("timeout", BotoReadTimeoutError)]:
        body = StreamingBody(_Breaking(DATA, how), len(DATA))
        with pytest.raises(expected):
            body.read()


def test_retries_are_bounded_and_the_last_failure_is_transient() -> None:
    fake, sleeps = _FakeS3(["reset"] * 10), []
    with pytest.raises(BrokenReadError, match="broke after its headers") as raised:
        _storage(fake, sleeps).fetch("bucket", "key")
    assert not raised.value.permanent  # SQS retries the record
    assert fake.gets == READ_ATTEMPTS
    assert len(sleeps) == READ_ATTEMPTS - 1
    assert max(sleeps) <= storage.READ_BACKOFF_CAP_S


def test_no_retry_when_the_deadline_is_near() -> None:
    fake, sleeps = _FakeS3(["reset"] * 10), []

    def out_of_time() -> None:
        raise DeadlineError("only 900 ms left")

    with pytest.raises(DeadlineError):
        _storage(fake, sleeps).fetch("bucket", "key", out_of_time)
    assert fake.gets == 1
    assert sleeps == []


def test_the_deadline_is_checked_before_each_retry_not_before_the_first_try() -> None:
    checks: list[int] = []
    fake, sleeps = _FakeS3(["short", "short"]), []
    source = _storage(fake, sleeps).fetch("bucket", "key", lambda: checks.append(fake.gets))
    assert source.data == DATA
    assert checks == [1, 2]


def test_a_missing_source_is_not_retried() -> None:
    fake, sleeps = _FakeS3([], missing=True), []
    with pytest.raises(SourceGoneError):
        _storage(fake, sleeps).fetch("bucket", "key")
    assert fake.gets == 1
    assert sleeps == []
