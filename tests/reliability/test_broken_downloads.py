"""Downloads that break mid-stream, through the fault proxy, against moto's S3.

30 % of the GETs are answered with their full Content-Length and half the body, then
a reset (the proxy's ``truncated`` fault): what botocore's own retries never see,
since the response headers had arrived. The S3 storage retries the read in-process,
so every download still returns the whole object. tests/unit/test_read_retries.py has the
rules (bounded attempts, backoff with jitter, the deadline).
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from fault_proxy import FaultProxy

from resizer.config import Settings
from resizer.errors import BrokenReadError
from resizer.storage import READ_ATTEMPTS, S3Storage

BUCKET = "read-retries"
OBJECTS = {f"photo-{n:02d}.jpg": bytes([n]) * (50_000 + n * 997) for n in range(24)}


def _client(endpoint: str) -> object:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # As the handler's client: legacy retries, 5 attempts.
        config=Config(retries={"mode": "legacy", "total_max_attempts": 5}),
    )


@pytest.fixture(scope="module")
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    direct = _client(moto_endpoint)
    direct.create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
    for key, data in OBJECTS.items():
        direct.put_object(Bucket=BUCKET, Key=key, Body=data)  # type: ignore[attr-defined]
    faulty = FaultProxy(moto_endpoint, rate=0.3, faults=("truncated",)).start()
    try:
        yield faulty
    finally:
        faulty.stop()


def test_every_download_survives_bodies_broken_mid_stream(proxy: FaultProxy) -> None:
    storage = S3Storage(_client(proxy.url), Settings())  # type: ignore[arg-type]
    for key, data in OBJECTS.items():
        assert storage.fetch(BUCKET, key).data == data, key
    # About a third of the GETs were cut short: each was read again, none reached the caller.
    assert proxy.counts["truncated"] >= 6, proxy.counts


def test_without_in_process_retries_the_same_faults_fail_the_record(
    proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the handler did before: one attempt, and the record went back to SQS.
    monkeypatch.setattr("resizer.storage.READ_ATTEMPTS", 1)
    storage = S3Storage(_client(proxy.url), Settings())  # type: ignore[arg-type]
    failures = 0
    for key in OBJECTS:
        try:
            storage.fetch(BUCKET, key)
        except BrokenReadError:
            failures += 1
    assert failures >= 3
    assert READ_ATTEMPTS > 1
