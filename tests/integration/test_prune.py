"""Pruning by the manifests: what no manifest lists, and is older than it, goes.

On the emulator's S3, objects and manifests put by hand in a known order; the whole
``backfill --prune`` flow on the local stack is in test_backfill_prune.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from resizer.layout import manifest_key
from resizer_tools.local.emulator import Emulator
from resizer_tools.ops.aws import Aws, StackResources
from resizer_tools.ops.prune import prune

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with Emulator() as emulator:
        yield Aws(emulator.endpoint_url)


@pytest.fixture
def stack(aws: Aws, request: pytest.FixtureRequest) -> StackResources:
    bucket = request.node.name.lower().replace("_", "-")[:50]
    aws.s3.create_bucket(Bucket=bucket)
    return StackResources("s", "src", bucket, "q", "dlq", "f")


def _put(aws: Aws, bucket: str, *keys: str) -> None:
    for key in keys:
        aws.s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    time.sleep(1.1)  # S3's LastModified has whole seconds on the wire


def _manifest(aws: Aws, bucket: str, source: str, *listed: str) -> None:
    body = {
        "version": 1,
        "source": {"bucket": "src", "key": source},
        "config": "c",
        "renditions": [{"name": k.split("/", 1)[0], "key": k} for k in listed],
    }
    aws.s3.put_object(Bucket=bucket, Key=manifest_key(source), Body=json.dumps(body).encode())
    time.sleep(1.1)


def _keys(aws: Aws, bucket: str) -> set[str]:
    return {o["Key"] for o in aws.s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_prune_deletes_only_older_objects_the_manifest_does_not_list(
    aws: Aws, stack: StackResources
) -> None:
    bucket = stack.destination_bucket
    # Written under an older config: a dropped name, and a dropped format.
    _put(aws, bucket, "large/a.jpg", "medium/a.jpg.avif", "medium/a.jpg", "medium/a.jpg.webp")
    _manifest(aws, bucket, "a.jpg", "medium/a.jpg", "medium/a.jpg.webp")
    # A source with no manifest (rendered before manifests), and a render in progress.
    _put(aws, bucket, "large/legacy.jpg", "thumbs/a.jpg")
    report = prune(aws, stack)
    assert sorted(report.deleted) == ["large/a.jpg", "medium/a.jpg.avif"]
    assert report.unowned == ["large/legacy.jpg"]
    assert report.in_progress == ["thumbs/a.jpg"]
    assert _keys(aws, bucket) == {
        "medium/a.jpg",
        "medium/a.jpg.webp",
        "thumbs/a.jpg",
        "large/legacy.jpg",
        manifest_key("a.jpg"),
    }
    # Nothing left to prune: a second run deletes nothing.
    assert prune(aws, stack).deleted == []


def test_prune_keeps_to_the_prefix_and_a_dry_run_deletes_nothing(
    aws: Aws, stack: StackResources
) -> None:
    bucket = stack.destination_bucket
    _put(aws, bucket, "large/keep/a.jpg", "large/other/b.jpg")
    _manifest(aws, bucket, "keep/a.jpg")
    _manifest(aws, bucket, "other/b.jpg")
    dry = prune(aws, stack, "keep/", dry_run=True)
    assert dry.deleted == ["large/keep/a.jpg"]
    assert "large/keep/a.jpg" in _keys(aws, bucket)
    assert prune(aws, stack, "keep/").deleted == ["large/keep/a.jpg"]
    assert "large/other/b.jpg" in _keys(aws, bucket)


def test_the_current_layout_and_an_object_two_sources_may_own(
    aws: Aws, stack: StackResources
) -> None:
    """``hero/a.jpg.webp`` is a.jpg's WebP in the seed's layout and a.jpg.webp's first
    format in the current one: kept while either manifest lists it."""
    bucket = stack.destination_bucket
    _put(aws, bucket, "hero/a.jpg", "hero/a.jpg.webp", "_hero/a.jpg.avif", "_old/a.jpg.webp")
    _manifest(aws, bucket, "a.jpg", "hero/a.jpg", "hero/a.jpg.webp", "_hero/a.jpg.avif")
    _manifest(aws, bucket, "a.jpg.webp")
    report = prune(aws, stack)
    assert report.deleted == ["_old/a.jpg.webp"]
    assert "hero/a.jpg.webp" in _keys(aws, bucket)
    # Once a.jpg's manifest no longer lists it, no manifest does: it goes.
    _manifest(aws, bucket, "a.jpg", "hero/a.jpg", "_hero/a.jpg.avif")
    assert prune(aws, stack).deleted == ["hero/a.jpg.webp"]


def test_a_source_whose_manifest_cannot_be_read_is_left_alone(
    aws: Aws, stack: StackResources
) -> None:
    bucket = stack.destination_bucket
    _put(aws, bucket, "large/odd.jpg")
    aws.s3.put_object(Bucket=bucket, Key=manifest_key("odd.jpg"), Body=b'{"version": 99}')
    time.sleep(1.1)
    report = prune(aws, stack)
    assert report.deleted == []
    assert report.unowned == ["large/odd.jpg"]
