"""Issue 22 items 1, 2, 3 and 9 on emulated AWS, through the handler and S3: sources
that shared objects in the seed's layout keep their own, a lost further format is made
again, a change to one rendition rewrites only it, a dot-segment key is dead-lettered
with its reason."""

from __future__ import annotations

import pytest
from emulated_aws import CALLS, Stack, record_calls
from images import jpeg

from resizer import handler

RENDITIONS = "hero=80x:format=avif+webp+jpeg,thumb=20x20"


@pytest.fixture
def web(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    configure(monkeypatch, RENDITIONS)
    return stack


def configure(monkeypatch: pytest.MonkeyPatch, renditions: str) -> None:
    monkeypatch.setenv("RENDITIONS", renditions)
    handler.runtime.cache_clear()
    record_calls(handler.runtime())


def assert_lists_only_its_own(stack: Stack, key: str) -> None:
    for entry in stack.manifest(key)["renditions"]:
        head = stack.s3.head_object(Bucket=stack.destination, Key=entry["key"])
        assert head["Metadata"]["source-key"] == key, entry["key"]
        assert head["ContentLength"] == entry["bytes"]


def test_sources_that_collided_keep_their_own_objects(web: Stack) -> None:
    """Item 1: ``shop/b.jpg`` and ``shop/b``, ``a.jpg`` and ``a.jpg.webp``."""
    for key in ("shop/b.jpg", "shop/b", "a.jpg", "a.jpg.webp"):
        web.put(key, jpeg(160, 120))
    response, _ = web.invoke()
    assert response["batchItemFailures"] == []
    for key in ("shop/b.jpg", "shop/b", "a.jpg", "a.jpg.webp"):
        assert_lists_only_its_own(web, key)
    web.s3.delete_object(Bucket=web.source, Key="shop/b")
    web.s3.delete_object(Bucket=web.source, Key="a.jpg.webp")
    web.invoke()
    assert_lists_only_its_own(web, "shop/b.jpg")
    assert_lists_only_its_own(web, "a.jpg")


def test_a_lost_further_format_is_made_again(web: Stack) -> None:
    """Item 2: ``resizer backfill`` no longer says "unchanged" over a 404."""
    web.put("x.jpg", jpeg(160, 120))
    web.invoke()
    lost = web.manifest("x.jpg")["renditions"][2]["key"]
    web.s3.delete_object(Bucket=web.destination, Key=lost)
    web.redeliver("x.jpg")
    web.invoke()
    assert web.s3.head_object(Bucket=web.destination, Key=lost)
    assert_lists_only_its_own(web, "x.jpg")


def test_a_change_to_one_rendition_rewrites_only_it(
    web: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 3: thumb is current, so its object is not written again."""
    web.put("x.jpg", jpeg(160, 120))
    web.invoke()
    before = [e["key"] for e in web.manifest("x.jpg")["renditions"]]
    configure(monkeypatch, RENDITIONS.replace("jpeg,", "jpeg:quality=50,"))
    web.redeliver("x.jpg")
    calls = len(CALLS)
    web.invoke()
    puts = [c.params["Key"] for c in CALLS[calls:] if c.operation == "PutObject"]
    after = web.manifest("x.jpg")["renditions"]
    assert [e["key"] for e in after] == before
    hero = [e["key"] for e in after if e["name"] == "hero"]
    assert (len(hero), len(after)) == (3, 4)
    assert puts == [*hero, "manifests/x.jpg.json", "manifests/x.jpg.json"]  # then announced


def test_a_dot_segment_key_is_dead_lettered_with_its_reason(web: Stack) -> None:
    """Item 9: S3 keeps ``x/../b.jpg`` literally; no browser URL reaches it as listed."""
    web.put("x/../b.jpg", jpeg(160, 120))
    response, _ = web.invoke()
    assert response["batchItemFailures"] == []  # permanent: sent to the DLQ at once
    (dead,) = web.receive(web.dlq_url)
    attributes = dead["MessageAttributes"]
    assert attributes["ErrorType"]["StringValue"] == "UnreachableKeyError"
    assert "path segment" in attributes["ErrorReason"]["StringValue"]
    listed = web.s3.list_objects_v2(Bucket=web.destination).get("Contents", [])
    assert listed == []
