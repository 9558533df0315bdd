"""A Renditions Ready event within EventBridge's PutEvents entry limit (issue 22, item 6).

AWS rejects an entry of 256 KB or more on every retry (the emulator accepts it), so a
Ready event whose manifest would reach the limit is published with a slim detail that
says so (``"slim": true``) and where the full manifest is. The entry's size is
computed as AWS documents it:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
(Time 14 bytes if present, plus the UTF-8 bytes of Source, DetailType, Detail and
each Resources entry; "the total entry size must be less than 256KB").
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from resizer import publish
from resizer.publish import ENTRY_LIMIT, EventBridgePublisher, InMemoryPublisher, entry_size


def _manifest(renditions: int = 1, key: str = "photos/cat.jpg") -> dict[str, Any]:
    return {
        "version": 1,
        "source": {
            "bucket": "uploads",
            "key": key,
            "etag": "d41d8cd98f00b204e9800998ecf8427e",
            "width": 4000,
            "height": 3000,
            "format": "JPEG",
            "bytes": 1_234_567,
        },
        "config": "c0ffee",
        "renditions": [
            {
                "name": f"r{index}",
                "key": f"r{index}/{key}",
                "format": "WEBP",
                "content_type": "image/webp",
                "width": 100,
                "height": 75,
                "bytes": 2_000,
                "fit": "fit",
                "sha256": "0" * 64,
            }
            for index in range(renditions)
        ],
        "placeholder": {"blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj", "color": "#a0b0c0"},
    }


def _full_size(manifest: dict[str, Any]) -> int:
    return entry_size(
        {"Source": publish.SOURCE, "DetailType": publish.READY, "Detail": publish.encode(manifest)}
    )


def _sized(size: int) -> dict[str, Any]:
    """A manifest whose full Ready entry is exactly ``size`` bytes (one long key)."""
    manifest = _manifest(renditions=100)
    manifest["renditions"][0]["key"] += "x" * (size - _full_size(manifest))
    assert _full_size(manifest) == size
    return manifest


class Client:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}


def _published(manifest: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the entry PutEvents got, the detail an InMemoryPublisher kept)."""
    client = Client()
    publish.ready(EventBridgePublisher(client, "bus"), manifest)  # type: ignore[arg-type]
    memory = InMemoryPublisher()
    publish.ready(memory, manifest)
    ((kind, detail),) = memory.events
    assert kind == publish.READY
    (entry,) = client.entries
    assert json.loads(entry["Detail"]) == detail
    return entry, detail


def test_the_entry_size_is_computed_as_aws_documents_it() -> None:
    entry = {"Source": "résizer", "DetailType": "Ready", "Detail": '{"k":"é"}'}
    assert entry_size(entry) == len("résizer".encode()) + 5 + len('{"k":"é"}'.encode())
    assert entry_size({**entry, "Time": 1_700_000_000}) == entry_size(entry) + 14
    with_resources = {**entry, "Resources": ["arn:aws:s3:::b/ü", "arn:x"]}
    assert entry_size(with_resources) == entry_size(entry) + len("arn:aws:s3:::b/ü".encode()) + 5
    # The bus name is not part of the entry's size.
    assert entry_size({**entry, "EventBusName": "x" * 100}) == entry_size(entry)


def test_just_under_the_limit_the_whole_manifest_is_published() -> None:
    manifest = _sized(ENTRY_LIMIT - 1)
    entry, detail = _published(manifest)
    assert detail == manifest
    assert "slim" not in detail
    assert entry_size(entry) == ENTRY_LIMIT - 1


@pytest.mark.parametrize("over", [0, 1], ids=["exactly-at", "just-over"])
def test_at_or_over_the_limit_the_detail_is_slim(over: int) -> None:
    manifest = _sized(ENTRY_LIMIT + over)
    original = copy.deepcopy(manifest)
    entry, detail = _published(manifest)
    assert manifest == original  # the manifest itself (stored in S3) is untouched
    assert entry_size(entry) < ENTRY_LIMIT
    assert detail == {
        "version": 1,
        "slim": True,
        "source": manifest["source"],
        "config": manifest["config"],
        "manifest_key": "manifests/photos/cat.jpg.json",
        "counts": {"renditions": 100, "objects": 100, "bytes": 100 * 2_000},
        "placeholder": manifest["placeholder"],
    }


def test_many_renditions_with_long_keys_are_announced_slim() -> None:
    """The issue's case: 288 KB of manifest, which AWS would refuse on every retry."""
    key = "catalogue/" + "très-long-nom/" * 60 + "photo.jpg"
    manifest = _manifest(renditions=300, key=key)
    for index, rendition in enumerate(manifest["renditions"]):
        rendition["name"] = f"r{index // 3}"  # three formats a rendition
    assert _full_size(manifest) > ENTRY_LIMIT
    entry, detail = _published(manifest)
    assert detail["slim"] is True
    assert detail["counts"] == {"renditions": 100, "objects": 300, "bytes": 300 * 2_000}
    assert entry_size(entry) < 4_000


def test_a_slim_detail_of_the_longest_source_key_is_far_under_the_limit() -> None:
    """S3 keys are at most 1,024 bytes of UTF-8; JSON escapes each 3-byte character
    in 6 bytes, twice in the slim detail (the source's key and the manifest's)."""
    key = "漢" * (1024 // 3)
    manifest = _manifest(renditions=2_000, key=key)
    entry, detail = _published(manifest)
    assert detail["slim"] is True
    assert entry_size(entry) < 8_000


def test_other_events_are_unchanged() -> None:
    memory = InMemoryPublisher()
    publish.removed(memory, "b", "k")
    assert memory.events == [(publish.REMOVED, {"bucket": "b", "key": "k"})]
