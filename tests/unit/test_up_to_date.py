"""Issue 22 items 1, 2, 3, 9 and 12 on the in-memory storage: sources never share an
object, up to date means every object the manifest lists, only what is stale is made
again, dot-segment keys are refused, invalid focal points are logged.

Written against the pipeline's public seams and literal keys so that each fails on
the seed's code (collisions, a lost further format taken for current, every rendition
rewritten, ``x/../b.jpg`` rendered, a silent focal point).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
from images import jpeg
from pipeline_cases import SOURCE, created, removed

from resizer import publish
from resizer.config import Settings, parse_renditions
from resizer.errors import PermanentError
from resizer.memory_storage import InMemoryStorage
from resizer.pipeline import Pipeline, Result
from resizer.publish import InMemoryPublisher

DEST = "renditions"
WEB = Settings(
    destination_bucket=DEST, renditions=parse_renditions("hero=80x:format=webp+jpeg,thumb=20x20")
)


def manifest(storage: InMemoryStorage, key: str) -> dict[str, Any]:
    stored = storage.get(DEST, f"manifests/{key}.json")
    assert stored is not None, f"no manifest for {key!r}"
    loaded: dict[str, Any] = json.loads(stored.data)
    return loaded


def rendered(key: str = "x.jpg") -> tuple[InMemoryStorage, Pipeline]:
    """``key`` uploaded and rendered once with :data:`WEB`: the storage and the pipeline."""
    storage = InMemoryStorage(WEB)
    pipeline = Pipeline(WEB, storage)
    storage.upload(SOURCE, key, jpeg(160, 120))
    pipeline.handle(created(key))
    return storage, pipeline


def reconfigured(storage: InMemoryStorage, settings: Settings) -> InMemoryStorage:
    """The same objects, read and written under other settings (a stack update)."""
    store = InMemoryStorage(settings)
    store.objects = storage.objects
    return store


def assert_lists_only_its_own(storage: InMemoryStorage, key: str) -> None:
    """Every object the manifest lists exists, was made from ``key`` and has the bytes
    and type the manifest says."""
    for entry in manifest(storage, key)["renditions"]:
        stored = storage.get(DEST, entry["key"])
        assert stored is not None, f"{key!r}'s manifest lists a missing {entry['key']!r}"
        assert stored.metadata["source-key"] == key, entry["key"]
        assert (len(stored.data), stored.content_type) == (entry["bytes"], entry["content_type"])


@pytest.mark.parametrize(
    ("victim", "other"),
    [("shop/b.jpg", "shop/b"), ("a.jpg", "a.jpg.webp"), ("p.jpg", "p.jpg.jpg")],
)
def test_two_sources_never_share_an_object(victim: str, other: str) -> None:
    """Item 1: with further formats, ``<key>`` and ``<key><ext>`` wrote one object."""
    config = replace(WEB, renditions=parse_renditions("hero=80x:format=avif+webp+jpeg"))
    storage = InMemoryStorage(config)
    pipeline = Pipeline(config, storage)
    for key in (victim, other):
        storage.upload(SOURCE, key, jpeg(160, 120))
        pipeline.handle(created(key))
    assert_lists_only_its_own(storage, victim)
    assert_lists_only_its_own(storage, other)
    # Deleting the other source leaves the victim's renditions alone.
    storage.remove(SOURCE, other)
    assert pipeline.handle(removed(other)).kind is Result.REMOVED
    assert_lists_only_its_own(storage, victim)
    assert pipeline.handle(created(victim)).kind is Result.UNCHANGED


def test_a_lost_further_format_is_made_again() -> None:
    """Item 2: the duplicate check covers every object the manifest lists."""
    storage, pipeline = rendered()
    further = manifest(storage, "x.jpg")["renditions"][1]
    assert (further["name"], further["format"]) == ("hero", "JPEG")
    storage.remove(DEST, further["key"])  # by hand, a lifecycle rule, a collision
    assert pipeline.handle(created("x.jpg")).kind is Result.RENDERED
    assert storage.get(DEST, further["key"]) is not None
    assert_lists_only_its_own(storage, "x.jpg")


def test_an_object_made_from_another_source_version_is_made_again() -> None:
    storage, pipeline = rendered()
    entry = manifest(storage, "x.jpg")["renditions"][1]
    stale = storage.get(DEST, entry["key"])
    assert stale is not None
    storage.upload(DEST, entry["key"], stale.data, {**stale.metadata, "source-etag": "old"})
    assert pipeline.handle(created("x.jpg")).kind is Result.RENDERED
    renewed = storage.get(DEST, entry["key"])
    assert renewed is not None
    source = storage.get(SOURCE, "x.jpg")
    assert source is not None
    assert renewed.metadata["source-etag"] == source.etag


def test_a_change_to_one_rendition_rewrites_only_that_rendition() -> None:
    """Item 3: thumb's objects are current, so they are neither rendered nor rewritten;
    the new manifest lists them beside hero's new ones."""
    storage, _ = rendered()
    before = {e["key"]: e for e in manifest(storage, "x.jpg")["renditions"]}
    changed = replace(
        WEB, renditions=parse_renditions("hero=80x:format=webp+jpeg:quality=50,thumb=20x20")
    )
    store = reconfigured(storage, changed)
    outcome = Pipeline(changed, store).handle(created("x.jpg"))
    assert (outcome.kind, outcome.renditions) == (Result.RENDERED, 2)
    heroes = [key for key, entry in before.items() if entry["name"] == "hero"]
    assert len(heroes) == 2
    written = [key for op, _, key in store.writes() if op == "put"]
    assert written == [*heroes, "manifests/x.jpg.json"]
    after = {e["key"]: e for e in manifest(store, "x.jpg")["renditions"]}
    assert list(after) == list(before)  # the same objects, in the config's order
    thumbs = [key for key, entry in after.items() if entry["name"] == "thumb"]
    assert len(thumbs) == 1
    assert after[thumbs[0]] == before[thumbs[0]]
    assert Pipeline(changed, store).handle(created("x.jpg")).kind is Result.UNCHANGED


def test_a_dropped_rendition_rewrites_only_the_manifest() -> None:
    storage, _ = rendered()
    smaller = replace(WEB, renditions=parse_renditions("thumb=20x20"))
    store = reconfigured(storage, smaller)
    assert Pipeline(smaller, store).handle(created("x.jpg")).kind is Result.RENDERED
    assert [key for op, _, key in store.writes()] == ["manifests/x.jpg.json"]
    assert [e["name"] for e in manifest(store, "x.jpg")["renditions"]] == ["thumb"]
    assert Pipeline(smaller, store).handle(created("x.jpg")).kind is Result.UNCHANGED


@pytest.mark.parametrize("key", ["x/../b.jpg", "./a.jpg", "a/./b.jpg", "a/.."])
def test_a_dot_segment_key_is_a_permanent_failure_that_writes_nothing(key: str) -> None:
    """Item 9: browsers resolve ``.``/``..`` before requesting, so no URL reaches them."""
    storage = InMemoryStorage(WEB)
    storage.upload(SOURCE, key, jpeg(160, 120))
    with pytest.raises(PermanentError, match="path segment") as raised:
        Pipeline(WEB, storage).handle(created(key))
    assert type(raised.value).__name__ == "UnreachableKeyError"
    assert storage.writes() == []


@pytest.mark.parametrize("value", ["1.5,0.2", "left", "0.3;0.4", ""])
def test_an_invalid_focal_point_is_logged_with_the_key_and_the_value(
    value: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Item 12: ignored (the crop is centred), but no longer silently."""
    storage = InMemoryStorage(WEB)
    storage.upload(SOURCE, "f.jpg", jpeg(160, 120), {"focal-point": value})
    with caplog.at_level(logging.WARNING):
        assert Pipeline(WEB, storage).handle(created("f.jpg")).kind is Result.RENDERED
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "focal-point" in warnings[0].getMessage()
    assert repr(value) in warnings[0].getMessage()
    assert "'f.jpg'" in warnings[0].getMessage()


def test_a_valid_or_absent_focal_point_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    storage = InMemoryStorage(WEB)
    storage.upload(SOURCE, "f.jpg", jpeg(160, 120), {"focal-point": "0.25,0.75"})
    storage.upload(SOURCE, "g.jpg", jpeg(160, 120))
    with caplog.at_level(logging.WARNING):
        Pipeline(WEB, storage).handle(created("f.jpg"))
        Pipeline(WEB, storage).handle(created("g.jpg"))
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


# ---------------------------------------------------------------- sha256 and CDN URLs (issue 18)
def test_each_entry_carries_the_sha256_of_its_object_and_no_url_without_a_cdn() -> None:
    storage, _ = rendered()
    entries = manifest(storage, "x.jpg")["renditions"]
    assert len(entries) == 3
    for entry in entries:
        stored = storage.get(DEST, entry["key"])
        assert stored is not None
        assert entry["sha256"] == hashlib.sha256(stored.data).hexdigest()
        assert "url" not in entry


def test_with_cdn_url_each_entry_and_the_ready_event_carry_a_versioned_url() -> None:
    settings = replace(WEB, cdn_url="https://d111.cloudfront.net/")
    storage, events = InMemoryStorage(settings), InMemoryPublisher()
    key = "shop/a b+c%.jpg"
    storage.upload(SOURCE, key, jpeg(160, 120))
    Pipeline(settings, storage, events).handle(created(key))
    entries = manifest(storage, key)["renditions"]
    assert [e["url"] for e in entries] == [
        f"https://d111.cloudfront.net/{quote(e['key'])}?v={e['sha256'][:12]}" for e in entries
    ]
    assert entries[0]["url"].startswith("https://d111.cloudfront.net/hero/shop/a%20b%2Bc%25.jpg?v=")
    assert events.events[-1] == (publish.READY, manifest(storage, key))


def test_a_new_cdn_url_rewrites_the_manifest_only() -> None:
    storage, _ = rendered()
    settings = replace(WEB, cdn_url="https://cdn.example.com")
    store = reconfigured(storage, settings)
    assert Pipeline(settings, store).handle(created("x.jpg")).kind is Result.RENDERED
    assert [key for _, _, key in store.writes()] == ["manifests/x.jpg.json"]
    urls = [e["url"] for e in manifest(store, "x.jpg")["renditions"]]
    assert all(url.startswith("https://cdn.example.com/") for url in urls)
    assert Pipeline(settings, store).handle(created("x.jpg")).kind is Result.UNCHANGED


def test_an_entry_without_sha256_is_made_again() -> None:
    """A manifest written before entries carried digests: its sets are rendered again
    (a backfill then brings every manifest to the documented shape)."""
    storage, pipeline = rendered()
    old = manifest(storage, "x.jpg")
    for entry in old["renditions"]:
        del entry["sha256"]
    stored = storage.get(DEST, "manifests/x.jpg.json")
    assert stored is not None
    storage.upload(DEST, "manifests/x.jpg.json", json.dumps(old).encode(), stored.metadata)
    assert pipeline.handle(created("x.jpg")).kind is Result.RENDERED
    assert all("sha256" in e for e in manifest(storage, "x.jpg")["renditions"])


def test_a_hand_edited_entry_naming_another_object_is_rendered_again_and_not_deleted() -> None:
    """An entry whose key is not where the layout puts that rendition of this source
    (another source's object) is stale: rendered again; the other object is untouched."""
    storage = InMemoryStorage(WEB)
    for key in ("x.jpg", "y.jpg"):
        storage.upload(SOURCE, key, jpeg(160, 120))
        Pipeline(WEB, storage).handle(created(key))
    edited = manifest(storage, "x.jpg")
    edited["renditions"][2]["key"] = manifest(storage, "y.jpg")["renditions"][2]["key"]
    stored = storage.get(DEST, "manifests/x.jpg.json")
    assert stored is not None
    storage.upload(DEST, "manifests/x.jpg.json", json.dumps(edited).encode(), stored.metadata)
    others = manifest(storage, "y.jpg")["renditions"][2]["key"]
    before = storage.get(DEST, others)
    assert Pipeline(WEB, storage).handle(created("x.jpg")).kind is Result.RENDERED
    assert_lists_only_its_own(storage, "x.jpg")
    assert storage.get(DEST, others) == before
