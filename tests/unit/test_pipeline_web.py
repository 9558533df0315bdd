"""Manifest, fingerprint and events through the pipeline (issue 11), on InMemoryStorage
and InMemoryPublisher with real Pillow renders of tiny images."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pytest
from images import jpeg, png
from PIL import Image

from resizer import publish
from resizer.config import Settings, fingerprint, parse_renditions
from resizer.errors import TransientError
from resizer.layout import manifest_key
from resizer.manifest import META_ANNOUNCED, META_CONFIG, META_SOURCE_ETAG
from resizer.memory_storage import InMemoryStorage
from resizer.notifications import Action, ObjectChange
from resizer.pipeline import Pipeline, Result
from resizer.publish import EventBridgePublisher, InMemoryPublisher

SOURCE = "uploads"
DEST = "renditions"
KEY = "photos/cat.jpg"
SPEC = "big=96x96:format=original+webp,sq=24x24:cover:format=jpeg+avif"


def settings(spec: str = SPEC) -> Settings:
    return Settings(destination_bucket=DEST, renditions=parse_renditions(spec))


def created(key: str = KEY) -> ObjectChange:
    return ObjectChange(Action.RENDER, SOURCE, key, size=1)


def removed(key: str = KEY) -> ObjectChange:
    return ObjectChange(Action.REMOVE, SOURCE, key)


def manifest(storage: InMemoryStorage, key: str = KEY) -> dict[str, Any]:
    stored = storage.get(DEST, manifest_key(key))
    assert stored is not None
    loaded: dict[str, Any] = json.loads(stored.data)
    return loaded


def puts(storage: InMemoryStorage) -> list[str]:
    return [key for op, _, key in storage.writes() if op == "put"]


@pytest.fixture
def storage() -> InMemoryStorage:
    return InMemoryStorage(settings())


@pytest.fixture
def events() -> InMemoryPublisher:
    return InMemoryPublisher()


@pytest.fixture
def pipeline(storage: InMemoryStorage, events: InMemoryPublisher) -> Pipeline:
    return Pipeline(storage.settings, storage, events)


# ---------------------------------------------------------------- manifest
def manifest_metadata(storage: InMemoryStorage) -> dict[str, str]:
    stored = storage.get(DEST, manifest_key(KEY))
    assert stored is not None
    return dict(stored.metadata)


def complete_but_unannounced(
    storage: InMemoryStorage, pipeline: Pipeline, events: InMemoryPublisher
) -> None:
    """Render KEY's set while its Ready event fails once: the record is handed back."""
    storage.upload(SOURCE, KEY, jpeg())
    events.fail = 1
    with pytest.raises(TransientError):
        pipeline.handle(created())


def test_the_manifest_lists_exactly_the_objects_written(
    storage: InMemoryStorage, pipeline: Pipeline
) -> None:
    data = jpeg(160, 120)
    etag = storage.upload(SOURCE, KEY, data)
    assert pipeline.handle(created()).kind is Result.RENDERED
    found = manifest(storage)
    assert found["version"] == 1
    assert found["source"] == {
        "bucket": SOURCE,
        "key": KEY,
        "etag": etag,
        "width": 160,
        "height": 120,
        "format": "JPEG",
        "bytes": len(data),
    }
    assert found["config"] == fingerprint(storage.settings)
    written = [key for key in puts(storage) if key != manifest_key(KEY)]
    assert (
        [entry["key"] for entry in found["renditions"]]
        == written
        == [
            f"big/{KEY}",
            f"_big/{KEY}.webp",
            f"sq/{KEY}",
            f"_sq/{KEY}.avif",
        ]
    )
    for entry in found["renditions"]:
        stored = storage.get(DEST, entry["key"])
        assert stored is not None
        with Image.open(io.BytesIO(stored.data)) as image:
            assert (image.format, image.size) == (
                entry["format"],
                (entry["width"], entry["height"]),
            )
        assert (stored.content_type, len(stored.data)) == (entry["content_type"], entry["bytes"])
        assert entry["fit"] == ("cover" if entry["name"] == "sq" else "fit")
    assert [(e["width"], e["height"]) for e in found["renditions"]][2:] == [(24, 24)] * 2
    assert set(found["placeholder"]) == {"blurhash", "color"}
    stored_manifest = storage.get(DEST, manifest_key(KEY))
    assert stored_manifest is not None
    assert stored_manifest.content_type == "application/json"
    assert puts(storage)[-2:] == [manifest_key(KEY)] * 2  # last: written, then announced


def test_every_rendition_records_its_fingerprint(
    storage: InMemoryStorage, pipeline: Pipeline
) -> None:
    storage.upload(SOURCE, KEY, jpeg())
    pipeline.handle(created())
    by_name = {r.name: fingerprint(storage.settings, r) for r in storage.settings.renditions}
    for entry in manifest(storage)["renditions"]:
        stored = storage.get(DEST, entry["key"])
        assert stored is not None
        assert stored.metadata[META_CONFIG] == by_name[entry["name"]]


def test_the_focal_point_metadata_of_the_source_is_honoured(storage: InMemoryStorage) -> None:
    config = settings("sq=40x40:cover:format=png")
    wide = Image.new("RGB", (400, 40), (0, 0, 255))
    wide.paste((255, 0, 0), (0, 0, 40, 40))  # red at the far left
    data = io.BytesIO()
    wide.save(data, "PNG")
    store = InMemoryStorage(config)
    for key, focal, colour in (("a.png", "0,0.5", (255, 0, 0)), ("b.png", "1,0.5", (0, 0, 255))):
        store.upload(SOURCE, key, data.getvalue(), metadata={"focal-point": focal})
        Pipeline(config, store).handle(created(key))
        stored = store.get(DEST, f"sq/{key}")
        assert stored is not None
        with Image.open(io.BytesIO(stored.data)) as image:
            assert image.convert("RGB").getpixel((20, 20)) == colour


# ---------------------------------------------------------------- fingerprint and backfill
def test_an_unchanged_config_rewrites_nothing(storage: InMemoryStorage, pipeline: Pipeline) -> None:
    storage.upload(SOURCE, KEY, jpeg())
    pipeline.handle(created())
    storage.calls.clear()
    assert pipeline.handle(created()).kind is Result.UNCHANGED  # what backfill sends
    assert storage.writes() == []


@pytest.mark.parametrize(
    "change",
    [
        {"renditions": parse_renditions(SPEC.replace("96x96", "80x80"))},
        {"renditions": parse_renditions(SPEC.replace(":cover", ""))},
        {"renditions": parse_renditions(SPEC.replace("+webp", ""))},
        {"webp_quality": 50},
        {"avif_quality": 30},
    ],
)
def test_a_changed_config_renders_again(storage: InMemoryStorage, change: dict[str, Any]) -> None:
    storage.upload(SOURCE, KEY, jpeg())
    Pipeline(storage.settings, storage).handle(created())
    changed = replace(storage.settings, **change)
    store = InMemoryStorage(changed)
    store.objects = storage.objects
    assert Pipeline(changed, store).handle(created()).kind is Result.RENDERED
    assert manifest(store)["config"] == fingerprint(changed) != fingerprint(storage.settings)


def test_a_changed_config_keeps_dropped_renditions_until_removal(
    storage: InMemoryStorage, pipeline: Pipeline
) -> None:
    """Without --prune nothing is deleted by a config change; a removal deletes what the
    manifest lists, renditions of names and formats no longer configured included."""
    storage.upload(SOURCE, KEY, jpeg())
    pipeline.handle(created())
    smaller = settings("sq=24x24:cover")
    store = InMemoryStorage(smaller)
    store.objects = storage.objects
    Pipeline(smaller, store).handle(created())
    assert store.get(DEST, f"_big/{KEY}.webp") is not None  # kept
    old_keys = [e["key"] for e in manifest(store)["renditions"]]
    assert old_keys == [f"sq/{KEY}"]
    # The older manifest's objects stay, and a removal with the old manifest deletes them.
    store.remove(SOURCE, KEY)
    Pipeline(smaller, store).handle(removed())
    assert store.get(DEST, f"sq/{KEY}") is None
    assert store.get(DEST, manifest_key(KEY)) is None


def test_a_removal_deletes_what_the_manifest_lists_then_the_manifest(
    storage: InMemoryStorage, pipeline: Pipeline, events: InMemoryPublisher
) -> None:
    storage.upload(SOURCE, KEY, jpeg())
    pipeline.handle(created())
    listed = [e["key"] for e in manifest(storage)["renditions"]]
    storage.remove(SOURCE, KEY)
    # The config shrank since: only the manifest still knows big/ and its WebP.
    smaller = settings("sq=24x24:cover")
    store = InMemoryStorage(smaller)
    store.objects = storage.objects
    assert Pipeline(smaller, store, events).handle(removed()).kind is Result.REMOVED
    deletes = [key for op, _, key in store.writes() if op == "delete"]
    assert set(listed) <= set(deletes)
    assert deletes[-1] == manifest_key(KEY)
    assert [key for bucket, key in store.objects if bucket == DEST] == []
    assert events.events[-1] == (publish.REMOVED, {"bucket": SOURCE, "key": KEY})


# ---------------------------------------------------------------- events
def test_ready_is_published_once_with_the_manifest(
    storage: InMemoryStorage, pipeline: Pipeline, events: InMemoryPublisher
) -> None:
    storage.upload(SOURCE, KEY, jpeg())
    pipeline.handle(created())
    assert events.events == [(publish.READY, manifest(storage))]
    assert manifest_metadata(storage)[META_ANNOUNCED] == "true"
    assert pipeline.handle(created()).kind is Result.UNCHANGED
    assert len(events.events) == 1  # a duplicate delivery publishes nothing


def test_a_failed_publish_is_retried_without_rendering_again(
    storage: InMemoryStorage, pipeline: Pipeline, events: InMemoryPublisher
) -> None:
    complete_but_unannounced(storage, pipeline, events)
    assert manifest_metadata(storage)[META_ANNOUNCED] == "false"  # complete, not announced
    assert events.events == []
    storage.calls.clear()
    # SQS delivers the record again: the Ready event goes out, nothing is rendered.
    assert pipeline.handle(created()).kind is Result.UNCHANGED
    assert events.events == [(publish.READY, manifest(storage))]
    assert puts(storage) == [manifest_key(KEY)]
    assert [key for op, bucket, key in storage.calls if op == "get"] == [manifest_key(KEY)]


def test_a_function_dying_after_the_manifest_is_announced_by_the_next_delivery(
    storage: InMemoryStorage, events: InMemoryPublisher
) -> None:
    storage.upload(SOURCE, KEY, jpeg())

    class Died(BaseException):
        pass

    class Dying(InMemoryPublisher):
        def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
            raise Died

    with pytest.raises(Died):
        Pipeline(storage.settings, storage, Dying()).handle(created())
    assert Pipeline(storage.settings, storage, events).handle(created()).kind is Result.UNCHANGED
    assert [kind for kind, _ in events.events] == [publish.READY]


def test_events_off_marks_the_manifest_announced_and_publishes_nothing(
    storage: InMemoryStorage,
) -> None:
    off = InMemoryPublisher(enabled=False)
    storage.upload(SOURCE, KEY, jpeg())
    Pipeline(storage.settings, storage, off).handle(created())
    assert manifest_metadata(storage)[META_ANNOUNCED] == "true"
    assert puts(storage).count(manifest_key(KEY)) == 1
    assert off.events == []


def test_a_stale_manifest_is_rendered_again_not_announced(
    storage: InMemoryStorage, pipeline: Pipeline, events: InMemoryPublisher
) -> None:
    complete_but_unannounced(storage, pipeline, events)
    new = storage.upload(SOURCE, KEY, png(50, 50))
    assert pipeline.handle(created()).kind is Result.RENDERED
    assert [detail["source"]["etag"] for _, detail in events.events] == [new]
    assert manifest_metadata(storage)[META_SOURCE_ETAG] == new


def test_a_duplicate_removal_publishes_nothing(
    storage: InMemoryStorage, pipeline: Pipeline, events: InMemoryPublisher
) -> None:
    storage.upload(SOURCE, KEY, jpeg())
    pipeline.handle(created())
    storage.remove(SOURCE, KEY)
    pipeline.handle(removed())
    pipeline.handle(removed())
    assert [kind for kind, _ in events.events] == [publish.READY, publish.REMOVED]


def test_a_failed_removed_event_is_published_by_the_retry(
    storage: InMemoryStorage, pipeline: Pipeline, events: InMemoryPublisher
) -> None:
    storage.upload(SOURCE, KEY, jpeg())
    pipeline.handle(created())
    storage.remove(SOURCE, KEY)
    events.fail = 1
    with pytest.raises(TransientError):
        pipeline.handle(removed())
    assert storage.get(DEST, manifest_key(KEY)) is not None  # kept until announced
    assert pipeline.handle(removed()).kind is Result.REMOVED
    assert [kind for kind, _ in events.events] == [publish.READY, publish.REMOVED]


# ---------------------------------------------------------------- EventBridgePublisher
class FakeEvents:
    """Answers PutEvents with a failed entry ``failures`` times, then accepts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.entries.extend(Entries)
        if self.failures:
            self.failures -= 1
            return {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
            }
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}


def test_a_failed_entry_is_sent_again() -> None:
    client = FakeEvents(failures=publish.ATTEMPTS - 1)
    sleeps: list[float] = []
    publisher = EventBridgePublisher(client, "bus", sleep=sleeps.append)  # type: ignore[arg-type]
    publish.failed(publisher, "b", "k", "CorruptImageError", "damaged")
    assert len(client.entries) == publish.ATTEMPTS
    assert client.entries[-1] == {
        "Source": "resizer",
        "DetailType": "Rendition Failed",
        "Detail": json.dumps(
            {"bucket": "b", "key": "k", "error_type": "CorruptImageError", "reason": "damaged"},
            separators=(",", ":"),
        ),
        "EventBusName": "bus",
    }
    assert sleeps == [0.2, 0.4]


def test_an_entry_failing_every_time_is_a_transient_error() -> None:
    client = FakeEvents(failures=publish.ATTEMPTS)
    publisher = EventBridgePublisher(client, "bus", sleep=lambda _: None)  # type: ignore[arg-type]
    with pytest.raises(TransientError, match="InternalFailure"):
        publish.removed(publisher, "b", "k")


def test_an_empty_bus_publishes_nothing() -> None:
    client = FakeEvents(failures=0)
    publisher = EventBridgePublisher(client, "")  # type: ignore[arg-type]
    assert not publisher.enabled
    publish.removed(publisher, "b", "k")
    assert client.entries == []


def test_event_bus_name_set_but_empty_disables_events() -> None:
    assert Settings.from_env({}).event_bus_name == "default"
    assert Settings.from_env({"EVENT_BUS_NAME": ""}).event_bus_name == ""
    assert Settings.from_env({"EVENT_BUS_NAME": " images "}).event_bus_name == "images"
