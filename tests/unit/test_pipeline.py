"""The pipeline's ordering rules (pipeline.py's docstring), each on InMemoryStorage with
real Pillow renders of tiny images. Races are injected by the storage's hooks, as
another invocation would cause them: ``after_fetch`` runs while the pipeline renders,
``before_delete`` once a deletion has started."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image
from pipeline_cases import (  # fixtures: pipeline, storage, versions
    KEY,
    RENDITIONS,
    SETTINGS,
    SOURCE,
    assert_current,
    created,
    heads,
)

from resizer import imaging
from resizer.config import Settings
from resizer.errors import (
    ImageTooLargeError,
    KeyTooLongError,
    SourceGoneError,
)
from resizer.layout import manifest_key, rendition_key
from resizer.manifest import META_SOURCE_ETAG
from resizer.memory_storage import InMemoryStorage
from resizer.pipeline import Pipeline, Result


# ---------------------------------------------------------------- renders and duplicates
def test_a_new_image_renders_every_rendition_recording_the_source_etag(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    etag = storage.upload(SOURCE, KEY, versions[0])
    outcome = pipeline.handle(created(etag=etag))
    assert outcome.kind is Result.RENDERED
    assert (outcome.bytes_in, outcome.renditions) == (len(versions[0]), 2)
    assert outcome.bytes_out == sum(len(r.data) for r in storage.renditions(KEY).values())
    assert set(outcome.steps) == {"fetch", "render", "store"}
    assert_current(storage)
    with Image.open(io.BytesIO(storage.renditions(KEY)["small"].data)) as small:
        assert small.size == (24, 18)


def test_a_new_image_costs_one_get_of_the_manifest_and_writes_it_last(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created())
    # The source, then the manifest (a 404), then after writing the source again.
    assert heads(storage) == [KEY, KEY]
    assert [(op, key) for op, _, key in storage.calls if op in {"get", "read"}] == [
        ("get", manifest_key(KEY)),
        ("get", KEY),
        ("read", KEY),
    ]
    assert [key for op, _, key in storage.writes()] == [
        rendition_key(KEY, "big"),
        rendition_key(KEY, "small"),
        manifest_key(KEY),
    ]


def test_a_duplicate_costs_a_head_of_the_source_the_manifest_and_each_object_listed(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created())
    storage.calls.clear()
    assert pipeline.handle(created()).kind is Result.UNCHANGED
    assert storage.calls == [
        ("head", SOURCE, KEY),
        ("get", "renditions", manifest_key(KEY)),
        ("read", "renditions", manifest_key(KEY)),
        ("head", "renditions", rendition_key(KEY, "big")),
        ("head", "renditions", rendition_key(KEY, "small")),
    ]


def test_a_stale_set_left_behind_is_not_taken_for_current(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    """Compared with the source as it is now, not with the event's ETag."""
    old = storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created(etag=old))
    new = storage.upload(SOURCE, KEY, versions[1])
    # A late delivery of the first event renders the source as it is now.
    outcome = pipeline.handle(created(etag=old))
    assert outcome.kind is Result.RENDERED
    assert outcome.bytes_in == len(versions[1])
    assert_current(storage)
    # And the new version's own event is then a duplicate.
    assert pipeline.handle(created(etag=new)).kind is Result.UNCHANGED


def test_a_mixed_set_is_not_taken_for_current(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    """A crash between two PUTs leaves renditions of two versions: rendered again."""
    storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created())
    new = storage.upload(SOURCE, KEY, versions[1])
    first = imaging.render(versions[1], SETTINGS)[:1]  # only the first PUT went through
    storage.store(KEY, new, first)
    etags = {r.metadata[META_SOURCE_ETAG] for r in storage.renditions(KEY).values()}
    assert len(etags) == 2
    assert pipeline.handle(created(etag=new)).kind is Result.RENDERED
    assert_current(storage)


def test_a_missing_rendition_is_rendered_again(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created())
    storage.remove("renditions", rendition_key(KEY, "big"))
    assert pipeline.handle(created()).kind is Result.RENDERED
    assert_current(storage)


def test_a_source_gone_before_it_is_processed_is_permanent_and_writes_nothing(
    storage: InMemoryStorage, pipeline: Pipeline
) -> None:
    with pytest.raises(SourceGoneError, match="no longer exists"):
        pipeline.handle(created())
    assert SourceGoneError.permanent
    assert storage.writes() == []


def test_a_key_too_long_for_its_renditions_is_refused_before_any_call(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    """The longest key decides (here the manifest's); a key that just fits is rendered."""
    longest = len("manifests/") + len(".json")
    fits, too_long = "k" * (1024 - longest), "k" * (1024 - longest + 1)
    for key in (fits, too_long):
        storage.upload(SOURCE, key, versions[2])
    storage.calls.clear()
    with pytest.raises(KeyTooLongError, match="by 1 bytes"):
        pipeline.handle(created(too_long))
    assert storage.calls == []
    assert pipeline.handle(created(fits)).kind is Result.RENDERED


def test_a_source_over_max_input_bytes_is_refused_before_it_is_read(versions: list[bytes]) -> None:
    storage = InMemoryStorage(Settings(renditions=RENDITIONS, max_input_bytes=len(versions[0]) - 1))
    storage.upload(SOURCE, KEY, versions[0])
    with pytest.raises(ImageTooLargeError, match="MAX_INPUT_BYTES"):
        Pipeline(storage.settings, storage).handle(created())
    assert storage.writes() == []
    # The source's HEAD, the manifest's GET (a 404), the source's GET: never "read".
    assert [op for op, _, _ in storage.calls] == ["head", "get", "get"]


# ---------------------------------------------------------------- folder markers
def test_a_folder_marker_is_acknowledged_without_a_single_call(
    storage: InMemoryStorage, pipeline: Pipeline
) -> None:
    assert pipeline.handle(created("photos/2024/", size=0)).kind is Result.FOLDER
    assert storage.calls == []


@pytest.mark.parametrize("size", [None, 1])
def test_a_key_ending_in_a_slash_with_content_is_an_image(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes], size: int | None
) -> None:
    """Only a zero-byte object is a folder marker; an unknown size is not assumed zero."""
    storage.upload(SOURCE, "odd/", versions[2])
    assert pipeline.handle(created("odd/", size=size)).kind is Result.RENDERED
    assert_current(storage, "odd/")


# ---------------------------------------------------------------- the fake itself
def test_the_fake_names_a_destination_bucket_when_the_settings_do_not() -> None:
    storage = InMemoryStorage()
    assert storage.settings.destination_bucket == "renditions"
    assert storage.settings.renditions == Settings().renditions


def test_the_fake_serves_concurrent_pipelines_as_the_handler_runs_them(
    storage: InMemoryStorage, versions: list[bytes]
) -> None:
    """Records of one batch render in threads; every key ends complete and current."""
    keys = [f"batch/{n}.jpg" for n in range(12)]
    for n, key in enumerate(keys):
        storage.upload(SOURCE, key, versions[n % len(versions)])
    pipeline = Pipeline(SETTINGS, storage)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda key: pipeline.handle(created(key)).kind, keys))
    assert results == [Result.RENDERED] * len(keys)
    for key in keys:
        assert_current(storage, key)
