"""The pipeline's hook for EventBridge keys (Pipeline.resolve_key), on InMemoryStorage.

The decision itself is resizer.notifications.resolve_key (tests/unit/test_notifications.py); here,
what the pipeline asks storage to decide it: for a render, whether the source exists;
for a removal, whether the key has a manifest. The functional test runs it through the
handler on emulated AWS (tests/functional/test_handler_eventbridge_keys.py).
"""

from __future__ import annotations

import json

import pytest
from pipeline_cases import SOURCE, VERSIONS

from resizer.layout import manifest_key
from resizer.memory_storage import InMemoryStorage
from resizer.notifications import KeyForm, ObjectChange, parse_body
from resizer.pipeline import Pipeline, Result

DECODED = "a b+c%.jpg"
#: How an S3 notification would write it, should EventBridge ever encode keys too.
ENCODED = "a+b%2Bc%25.jpg"


def eventbridge(key: str, detail_type: str = "Object Created") -> ObjectChange:
    envelope = {
        "source": "aws.s3",
        "detail-type": detail_type,
        "detail": {"bucket": {"name": SOURCE}, "object": {"key": key, "size": 1}},
    }
    (event,) = parse_body(json.dumps(envelope))
    return event


@pytest.mark.parametrize("key", ["a b+c%.jpg", "x:y=1 (2).jpg", "été/ü.jpg"])
def test_a_raw_key_renders_under_its_own_name(
    storage: InMemoryStorage, pipeline: Pipeline, key: str
) -> None:
    storage.upload(SOURCE, key, VERSIONS[0])
    event, form = pipeline.resolve_key(eventbridge(key))
    assert event.key == key
    assert form is (KeyForm.RAW if key == DECODED else None)
    assert pipeline.handle(event).kind is Result.RENDERED
    assert set(storage.renditions(key)) == {"big", "small"}


def test_an_encoded_key_falls_back_to_the_object_it_decodes_to(
    storage: InMemoryStorage, pipeline: Pipeline
) -> None:
    storage.upload(SOURCE, DECODED, VERSIONS[0])
    event, form = pipeline.resolve_key(eventbridge(ENCODED))
    assert (event.key, form) == (DECODED, KeyForm.DECODED)
    assert [key for op, _, key in storage.calls if op == "head"] == [ENCODED, DECODED]
    assert pipeline.handle(event).kind is Result.RENDERED
    assert set(storage.renditions(DECODED)) == {"big", "small"}


def test_a_missing_object_keeps_the_key_as_it_arrived(
    storage: InMemoryStorage, pipeline: Pipeline
) -> None:
    event, form = pipeline.resolve_key(eventbridge(ENCODED))
    assert (event.key, form) == (ENCODED, KeyForm.RAW)


def test_a_removal_goes_by_the_manifest(storage: InMemoryStorage, pipeline: Pipeline) -> None:
    """A deleted source exists in neither form: the key whose renditions exist is meant."""
    storage.upload(SOURCE, DECODED, VERSIONS[0])
    pipeline.handle(eventbridge(DECODED))
    storage.remove(SOURCE, DECODED)
    dest = storage.settings.destination_bucket
    assert storage.get(dest, manifest_key(DECODED)) is not None

    event, form = pipeline.resolve_key(eventbridge(ENCODED, "Object Deleted"))
    assert (event.key, form) == (DECODED, KeyForm.DECODED)
    assert pipeline.handle(event).kind is Result.REMOVED
    assert storage.renditions(DECODED) == {}
    assert storage.get(dest, manifest_key(DECODED)) is None


def test_a_removal_of_a_raw_key_with_renditions_keeps_it(
    storage: InMemoryStorage, pipeline: Pipeline
) -> None:
    storage.upload(SOURCE, DECODED, VERSIONS[0])
    pipeline.handle(eventbridge(DECODED))
    storage.remove(SOURCE, DECODED)
    event, form = pipeline.resolve_key(eventbridge(DECODED, "Object Deleted"))
    assert (event.key, form) == (DECODED, KeyForm.RAW)
