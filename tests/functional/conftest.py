"""Fixtures: moto's server on 127.0.0.1, and a fresh set of buckets and queues per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from emulated_aws import Stack, StreamedBody, build_stack, moto_server

from resizer import handler


@pytest.fixture(scope="session")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def stack(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    # The mixed-batch test counts the s3:TestEvent among the messages: keep it.
    yield build_stack(monkeypatch, endpoint, keep_test_event=True)
    handler.runtime.cache_clear()


@pytest.fixture
def fail_s3_keys() -> Callable[[str], None]:
    """Make the handler's S3 client answer 503 SlowDown for keys containing a marker."""
    markers: list[str] = []

    def slow_down(request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        if any(marker in request.url for marker in markers):
            return AWSResponse(
                request.url,
                503,
                {},
                StreamedBody(b"<Error><Code>SlowDown</Code><Message>Slow down</Message></Error>"),
            )
        return None

    def add(marker: str) -> None:
        if not markers:
            handler.runtime().pipeline.storage.s3.meta.events.register("before-send.s3", slow_down)
        markers.append(marker)

    return add
