"""The pipeline's ordering rules (pipeline.py's docstring), each on InMemoryStorage with
real Pillow renders of tiny images. Races are injected by the storage's hooks, as
another invocation would cause them: ``after_fetch`` runs while the pipeline renders,
``before_delete`` once a deletion has started."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from images import jpeg, png
from PIL import Image

from resizer import imaging
from resizer.config import Settings, parse_renditions
from resizer.errors import (
    DeadlineError,
    ImageTooLargeError,
    KeyTooLongError,
    SourceGoneError,
    TransientError,
)
from resizer.events import Action, ObjectEvent
from resizer.manifest import manifest_key
from resizer.memory_storage import InMemoryStorage
from resizer.pipeline import _MAX_ROUNDS, Pipeline, Result
from resizer.storage import META_SOURCE_ETAG, output_key

SOURCE = "uploads"
RENDITIONS = parse_renditions("big=96x96,small=24x24")
SETTINGS = Settings(destination_bucket="renditions", renditions=RENDITIONS)
KEY = "photos/cat.jpg"
#: Three versions of one photo, of different sizes (so different ETags) and families.
VERSIONS = (jpeg(160, 120), jpeg(60, 90), png(48, 48))


@pytest.fixture
def versions() -> list[bytes]:
    return list(VERSIONS)


@pytest.fixture
def storage() -> InMemoryStorage:
    return InMemoryStorage(SETTINGS)


@pytest.fixture
def pipeline(storage: InMemoryStorage) -> Pipeline:
    return Pipeline(storage.settings, storage)


def created(key: str = KEY, etag: str = "", size: int | None = 1) -> ObjectEvent:
    return ObjectEvent(Action.RENDER, SOURCE, key, etag=etag, size=size)


def removed(key: str = KEY) -> ObjectEvent:
    return ObjectEvent(Action.REMOVE, SOURCE, key)


def assert_current(storage: InMemoryStorage, key: str = KEY) -> None:
    """The renditions are exactly the source as it is now, rendered; none if it is gone."""
    source = storage.get(SOURCE, key)
    found = storage.renditions(key)
    if source is None:
        assert found == {}
        return
    expected = imaging.render(source.data, storage.settings)
    assert sorted(found) == sorted(image.rendition.name for image in expected)
    for image in expected:
        stored = found[image.rendition.name]
        assert stored.metadata[META_SOURCE_ETAG] == source.etag
        assert stored.data == image.data


def replace_once(storage: InMemoryStorage, data: bytes) -> list[str]:
    """After the next download, replace the source with ``data``; returns [its ETag]."""
    replaced: list[str] = []

    def replace(bucket: str, key: str) -> None:
        if not replaced:
            replaced.append(storage.upload(bucket, key, data))

    storage.after_fetch = replace
    return replaced


def heads(storage: InMemoryStorage) -> list[str]:
    return [key for op, _, key in storage.calls if op == "head"]


# ---------------------------------------------------------------- renders and duplicates
def test_a_new_image_renders_every_rendition_recording_the_source_etag(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    etag = storage.upload(SOURCE, KEY, versions[0])
    outcome = pipeline.handle(created(etag=etag))
    assert outcome.result is Result.RENDERED
    assert (outcome.bytes_in, outcome.renditions) == (len(versions[0]), 2)
    assert outcome.bytes_out == sum(len(r.data) for r in storage.renditions(KEY).values())
    assert set(outcome.steps) == {"fetch", "render", "store"}
    assert_current(storage)
    with Image.open(io.BytesIO(storage.renditions(KEY)["small"].data)) as small:
        assert small.size == (24, 18)


def test_a_new_image_costs_one_head_of_the_manifest_and_writes_it_last(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created())
    # The source, then the manifest (a 404), then after writing the source again.
    assert heads(storage) == [KEY, manifest_key(KEY), KEY]
    assert [op for op, _, _ in storage.calls if op in {"get", "read"}] == ["get", "read"]
    assert [key for op, _, key in storage.writes()] == [
        output_key("big", KEY),
        output_key("small", KEY),
        manifest_key(KEY),
    ]


def test_a_duplicate_costs_a_head_of_the_source_the_manifest_and_each_rendition(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created())
    storage.calls.clear()
    assert pipeline.handle(created()).result is Result.UNCHANGED
    assert storage.calls == [
        ("head", SOURCE, KEY),
        ("head", "renditions", manifest_key(KEY)),
        ("head", "renditions", output_key("small", KEY)),
        ("head", "renditions", output_key("big", KEY)),
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
    assert outcome.result is Result.RENDERED
    assert outcome.bytes_in == len(versions[1])
    assert_current(storage)
    # And the new version's own event is then a duplicate.
    assert pipeline.handle(created(etag=new)).result is Result.UNCHANGED


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
    assert pipeline.handle(created(etag=new)).result is Result.RENDERED
    assert_current(storage)


def test_a_missing_rendition_is_rendered_again(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created())
    storage.remove("renditions", output_key("big", KEY))
    assert pipeline.handle(created()).result is Result.RENDERED
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
    assert pipeline.handle(created(fits)).result is Result.RENDERED


def test_a_source_over_max_input_bytes_is_refused_before_it_is_read(versions: list[bytes]) -> None:
    storage = InMemoryStorage(Settings(renditions=RENDITIONS, max_input_bytes=len(versions[0]) - 1))
    storage.upload(SOURCE, KEY, versions[0])
    with pytest.raises(ImageTooLargeError, match="MAX_INPUT_BYTES"):
        Pipeline(storage.settings, storage).handle(created())
    assert storage.writes() == []
    assert [op for op, _, _ in storage.calls] == ["head", "head", "get"]  # never "read"


# ---------------------------------------------------------------- folder markers
def test_a_folder_marker_is_acknowledged_without_a_single_call(
    storage: InMemoryStorage, pipeline: Pipeline
) -> None:
    assert pipeline.handle(created("photos/2024/", size=0)).result is Result.FOLDER
    assert storage.calls == []


@pytest.mark.parametrize("size", [None, 1])
def test_a_key_ending_in_a_slash_with_content_is_an_image(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes], size: int | None
) -> None:
    """Only a zero-byte object is a folder marker; an unknown size is not assumed zero."""
    storage.upload(SOURCE, "odd/", versions[2])
    assert pipeline.handle(created("odd/", size=size)).result is Result.RENDERED
    assert_current(storage, "odd/")


# ---------------------------------------------------------------- races while rendering
def test_a_source_replaced_while_rendering_is_rendered_again(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    old = storage.upload(SOURCE, KEY, versions[0])
    replace_once(storage, versions[1])
    outcome = pipeline.handle(created(etag=old))
    assert outcome.result is Result.RENDERED
    assert outcome.bytes_in == len(versions[1])  # the outcome describes the last round
    # The stale set and its manifest, then the new.
    assert [op for op, _, _ in storage.writes()] == ["put"] * 6
    assert_current(storage)


def test_a_replacement_rendered_meanwhile_by_another_worker_does_not_lose(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    """The other worker writes the new version first; our stale write is then repaired."""
    storage.upload(SOURCE, KEY, versions[0])
    other = Pipeline(SETTINGS, storage)

    def replace_and_render(bucket: str, key: str) -> None:
        storage.after_fetch = None
        etag = storage.upload(bucket, key, versions[1])
        assert other.handle(created(etag=etag)).result is Result.RENDERED

    storage.after_fetch = replace_and_render
    assert pipeline.handle(created()).result is Result.RENDERED
    assert_current(storage)


def test_a_source_deleted_while_rendering_has_what_was_written_undone(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    storage.after_fetch = storage.remove
    assert pipeline.handle(created()).result is Result.REMOVED
    writes = [op for op, _, _ in storage.writes()]
    assert writes == ["put"] * 3 + ["delete"] * 3  # renditions and manifest, then undone
    assert_current(storage)


def test_a_deletion_whose_removal_ran_first_still_leaves_nothing(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    """The removal event is handled (and finds nothing) before our write lands."""
    storage.upload(SOURCE, KEY, versions[0])
    other = Pipeline(SETTINGS, storage)

    def delete_and_remove(bucket: str, key: str) -> None:
        storage.remove(bucket, key)
        assert other.handle(removed()).result is Result.REMOVED

    storage.after_fetch = delete_and_remove
    assert pipeline.handle(created()).result is Result.REMOVED
    assert storage.renditions(KEY) == {}


def test_a_source_that_keeps_changing_gives_up_after_max_rounds_as_transient(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    uploads = iter(versions[1:] * _MAX_ROUNDS)  # alternating, so every upload is a change

    def replace_every_time(bucket: str, key: str) -> None:
        storage.upload(bucket, key, next(uploads))

    storage.after_fetch = replace_every_time
    with pytest.raises(TransientError, match=f"changed {_MAX_ROUNDS} times") as raised:
        pipeline.handle(created())
    assert not raised.value.permanent
    assert sum(op == "get" for op, _, _ in storage.calls) == _MAX_ROUNDS
    # What was written is stale, so the retry (SQS redelivers) does not skip it.
    storage.after_fetch = None
    assert pipeline.handle(created()).result is Result.RENDERED
    assert_current(storage)


# ---------------------------------------------------------------- deadline
class Deadline:
    """A check_deadline that raises on its ``at``-th call."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        if self.calls >= self.at:
            raise DeadlineError("time is up")


@pytest.mark.parametrize("at", [1, 2])
def test_a_deadline_before_any_write_leaves_nothing_written(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes], at: int
) -> None:
    """At the start (nothing downloaded) or after rendering (nothing written)."""
    storage.upload(SOURCE, KEY, versions[0])
    with pytest.raises(DeadlineError):
        pipeline.handle(created(), Deadline(at))
    assert storage.writes() == []
    gets = [op for op, _, _ in storage.calls if op == "get"]
    assert len(gets) == at - 1
    assert pipeline.handle(created()).result is Result.RENDERED  # the retry completes


def test_a_deadline_in_the_second_round_leaves_a_set_the_retry_redoes(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    replaced = replace_once(storage, versions[1])
    with pytest.raises(DeadlineError):
        pipeline.handle(created(), Deadline(3))  # start, first store, then second store
    stale = {r.metadata[META_SOURCE_ETAG] for r in storage.renditions(KEY).values()}
    assert replaced[0] not in stale
    assert pipeline.handle(created()).result is Result.RENDERED
    assert_current(storage)


def test_a_deadline_at_the_start_of_a_removal_deletes_nothing(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created())
    storage.remove(SOURCE, KEY)
    storage.calls.clear()
    with pytest.raises(DeadlineError):
        pipeline.handle(removed(), Deadline(1))
    assert storage.calls == []
    assert len(storage.renditions(KEY)) == 2


# ---------------------------------------------------------------- removals
def test_a_removal_deletes_the_renditions_while_the_source_is_absent(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created())
    storage.remove(SOURCE, KEY)
    assert pipeline.handle(removed()).result is Result.REMOVED
    assert storage.renditions(KEY) == {}
    assert pipeline.handle(removed()).result is Result.REMOVED  # a duplicate: no error


def test_a_removal_while_the_source_exists_keeps_everything(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    """A late removal of an older version: the source was uploaded again since."""
    storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created())
    storage.calls.clear()
    assert pipeline.handle(removed()).result is Result.KEPT
    assert storage.writes() == []
    assert_current(storage)


@pytest.mark.parametrize("render_meanwhile", [False, True])
def test_a_source_uploaded_again_during_the_deletion_is_rendered_again(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes], render_meanwhile: bool
) -> None:
    """With or without its own render finishing before our deletion wiped it."""
    storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created())
    storage.remove(SOURCE, KEY)
    other = Pipeline(SETTINGS, storage)

    def upload_again(source_key: str) -> None:
        storage.before_delete = None
        etag = storage.upload(SOURCE, source_key, versions[1])
        if render_meanwhile:
            assert other.handle(created(etag=etag)).result is Result.RENDERED

    storage.before_delete = upload_again
    outcome = pipeline.handle(removed())
    assert outcome.result is Result.RENDERED
    assert outcome.bytes_in == len(versions[1])
    assert_current(storage)


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
        results = list(pool.map(lambda key: pipeline.handle(created(key)).result, keys))
    assert results == [Result.RENDERED] * len(keys)
    for key in keys:
        assert_current(storage, key)
