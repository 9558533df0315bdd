"""Moving a bucket from the seed's layout (further formats at ``<name>/<key><ext>``) to
resizer.layout's with ``resizer backfill --prune``, on emulated AWS, without a gap: after
every write and every deletion, by the function or by the prune, every object every
manifest lists exists. ``--dry-run`` lists what the prune would delete and deletes
nothing.

The steps are the command's (``ops.operations.backfill``, the function on the queue,
``ops.prune.prune``), run one after the other as the command does once the queue is
empty; the check runs from botocore hooks on the function's and the prune's clients.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from emulated_aws import REGION, Stack, build_stack, record_calls
from images import jpeg

from resizer import handler, layout
from resizer_tools.ops.aws import Aws, StackResources
from resizer_tools.ops.operations import backfill
from resizer_tools.ops.prune import prune

RENDITIONS = "hero=80x:format=avif+webp+jpeg,thumb=20x20"
#: a.jpg's WebP and a.jpg.webp's first format shared hero/a.jpg.webp in the seed's layout.
SOURCES = ("a.jpg", "shop/b.jpg", "a.jpg.webp")


@pytest.fixture
def moving(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stack, Aws]]:
    monkeypatch.setenv("RENDITIONS", RENDITIONS)
    stack = build_stack(monkeypatch, endpoint)
    yield stack, Aws(endpoint_url=endpoint, region=REGION)
    handler.runtime.cache_clear()


def resources(stack: Stack) -> StackResources:
    return StackResources(
        stack_name=f"moving-{uuid.uuid4().hex[:6]}",
        source_bucket=stack.source,
        destination_bucket=stack.destination,
        queue_url=stack.queue_url,
        dead_letter_queue_url=stack.dlq_url,
        function_name="resizer",
    )


def objects(s3: Any, bucket: str) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def manifests(s3: Any, bucket: str) -> dict[str, dict[str, Any]]:
    found = {}
    for key in objects(s3, bucket):
        source = layout.manifest_source(key)
        if source is not None:
            found[source] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return found


class NoGap:
    """After each call that writes or deletes in the destination bucket, every object a
    manifest lists exists (checked with a client of its own)."""

    def __init__(self, endpoint: str, bucket: str) -> None:
        self.s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
        self.bucket = bucket
        self.checks = 0

    def check(self, **_: Any) -> None:
        present = objects(self.s3, self.bucket)
        for source, found in manifests(self.s3, self.bucket).items():
            missing = [e["key"] for e in found["renditions"] if e["key"] not in present]
            assert missing == [], f"{source!r}'s manifest lists missing {missing}"
        self.checks += 1

    def watch(self, client: Any) -> None:
        for operation in ("PutObject", "DeleteObjects", "DeleteObject", "CopyObject"):
            client.meta.events.register(f"after-call.s3.{operation}", self.check)


def to_the_seed_layout(stack: Stack) -> set[str]:
    """Rewrite what the function wrote as the seed wrote it: each further format at
    ``<name>/<key><ext>`` (the first format of ``a.jpg.webp`` is overwritten by
    ``a.jpg``'s WebP, as it was), manifests listing those keys, without digests.
    Returns the further formats' current keys, gone after the move."""
    s3, bucket = stack.s3, stack.destination
    moved: set[str] = set()
    for source in SOURCES:
        key = layout.manifest_key(source)
        head = s3.head_object(Bucket=bucket, Key=key)
        found = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        for entry in found["renditions"]:
            del entry["sha256"]
            place = layout.parse(entry["key"])
            assert place is not None
            if place.extension:
                old = f"{place.rendition}/{place.source_key}{place.extension}"
                s3.copy_object(
                    Bucket=bucket, Key=old, CopySource={"Bucket": bucket, "Key": entry["key"]}
                )
                moved.add(entry["key"])
                entry["key"] = old
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(found).encode(),
            ContentType="application/json",
            Metadata=head["Metadata"],
        )
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in moved]})
    return moved


def test_backfill_prune_moves_a_bucket_without_a_gap(
    moving: tuple[Stack, Aws], endpoint: str
) -> None:
    stack, aws = moving
    for key in SOURCES:
        stack.put(key, jpeg(160, 120))
    stack.invoke()
    current = objects(stack.s3, stack.destination)
    further = to_the_seed_layout(stack)
    seed = objects(stack.s3, stack.destination)
    assert "hero/a.jpg.webp" in seed  # a.jpg's WebP over a.jpg.webp's first format
    assert not any(key.startswith("_") for key in seed)
    # S3 lists LastModified to the second: a manifest written in the same second as the
    # seed's objects would look no newer than them, and prune rightly leaves such
    # objects alone as "in progress". Real migrations are minutes apart; here, 1 s.
    time.sleep(1.05)

    gap = NoGap(endpoint, stack.destination)
    gap.check()
    runtime = handler.runtime()
    record_calls(runtime)
    gap.watch(runtime.pipeline.storage.s3)
    gap.watch(aws.s3)
    stack_resources = resources(stack)

    # --dry-run first: what the prune would delete now, nothing deleted.
    assert prune(aws, stack_resources, dry_run=True).deleted == []  # old manifests list all
    assert backfill(aws, stack_resources) == len(SOURCES)
    stack.invoke()
    after = manifests(stack.s3, stack.destination)
    for source in SOURCES:
        keys = [e["key"] for e in after[source]["renditions"]]
        assert [getattr(layout.parse(k), "source_key", None) for k in keys] == [source] * 4
        assert all("sha256" in e for e in after[source]["renditions"])
    dry = prune(aws, stack_resources, dry_run=True)
    old = {f"{p.rendition}/{p.source_key}{p.extension}" for p in map(layout.parse, further) if p}
    old.discard("hero/a.jpg.webp")  # a.jpg.webp's own first format again, listed by it
    assert set(dry.deleted) == old
    assert objects(stack.s3, stack.destination) >= old  # nothing deleted

    report = prune(aws, stack_resources)
    assert set(report.deleted) == old
    assert report.unowned == report.in_progress == []
    final = objects(stack.s3, stack.destination)
    assert final == current
    assert gap.checks > len(SOURCES) * 3
    gap.check()
    # The moved sets are current: a second backfill renders nothing.
    assert backfill(aws, stack_resources) == len(SOURCES)
    writes = gap.checks
    stack.invoke()
    assert gap.checks == writes  # the function wrote nothing
    assert prune(aws, stack_resources).deleted == []
    # The check can fail: a listed object deleted is a gap.
    stack.s3.delete_object(Bucket=stack.destination, Key=after["a.jpg"]["renditions"][1]["key"])
    with pytest.raises(AssertionError, match="lists missing"):
        gap.check()
