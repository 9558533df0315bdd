"""The published contract (docs/schemas/) against what the code produces, and the
check (tests/support/contracts.py, run for every test by tests/conftest.py) catching
what breaks it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from contracts import EVENTS, MANIFEST, READY_SLIM, SCHEMAS, errors, validator
from images import png

from resizer import manifest, publish
from resizer.config import Settings, parse_renditions
from resizer.imaging import render_set

SETTINGS = Settings(
    renditions=parse_renditions("big=64x:format=webp+avif+jpeg,sq=16x16:cover:format=png")
)


def _manifest() -> dict[str, Any]:
    rendered = render_set(png(80, 60, "RGBA"), SETTINGS)
    return manifest.build("uploads", "photos/ü [1].png", "abc123", rendered, SETTINGS)


def test_every_schema_is_valid_and_named_once() -> None:
    names = {path.name for path in SCHEMAS.glob("*.json")}
    assert names == {MANIFEST, READY_SLIM, *EVENTS.values()}
    for name in names:
        validator(name)  # check_schema: a valid Draft 2020-12 schema
        assert json.loads((SCHEMAS / name).read_text())["$id"] == name


def test_the_event_schemas_are_the_events_resizer_publishes() -> None:
    assert set(EVENTS) == {publish.READY, publish.REMOVED, publish.FAILED}


def test_a_rendered_manifest_and_its_events_are_valid() -> None:
    built = _manifest()
    assert len(built["renditions"]) == 4
    assert errors(MANIFEST, built) == []
    assert errors(EVENTS[publish.READY], built) == []
    assert errors(EVENTS[publish.READY], publish.slim(built)) == []
    assert errors(READY_SLIM, publish.slim(built)) == []
    assert errors(EVENTS[publish.REMOVED], {"bucket": "uploads", "key": "a.jpg"}) == []
    failed = {"bucket": "", "key": "", "error_type": "MalformedMessageError", "reason": "junk"}
    assert errors(EVENTS[publish.FAILED], failed) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda m: m.pop("config"), "<root>"),
        (lambda m: m.update(extra=1), "<root>"),
        (lambda m: m.update(version=2), "version"),
        (lambda m: m["source"].pop("etag"), "source"),
        (lambda m: m["renditions"][0].update(format="BMP"), "renditions/0/format"),
        (lambda m: m["renditions"][0].update(width=0), "renditions/0/width"),
        (lambda m: m["renditions"][0].update(sha256="ABC"), "renditions/0/sha256"),
        (lambda m: m["renditions"][0].update(fit="inside"), "renditions/0/fit"),
        (lambda m: m["placeholder"].update(color="red"), "placeholder/color"),
        (lambda m: m.update(slim=True), "<root>"),
    ],
)
def test_a_manifest_that_breaks_the_schema_is_refused(change: Any, where: str) -> None:
    broken = _manifest()
    change(broken)
    found = errors(MANIFEST, broken)
    assert found
    assert found[0].startswith(where), found


def test_the_layout_helpers_optional_fields_are_allowed() -> None:
    """sha256 (64 hex) and url on a rendition entry: optional, declared ahead."""
    built = _manifest()
    built["renditions"][0].update(sha256="0" * 64, url="https://cdn.example/a.webp")
    assert errors(MANIFEST, built) == []


def test_the_slim_and_the_full_detail_are_told_apart() -> None:
    built = _manifest()
    assert errors(READY_SLIM, built) != []  # the full manifest is not a slim detail
    slim = publish.slim(built)
    assert errors(MANIFEST, slim) != []
    no_flag = copy.deepcopy(slim)
    no_flag.pop("slim")
    assert errors(EVENTS[publish.READY], no_flag) != []


def test_an_invalid_event_or_manifest_fails_the_test_that_produced_it(
    contract_violations: list[str],
) -> None:
    """The check every test runs under: it records, the fixture fails the test."""
    memory = publish.InMemoryPublisher()
    publish.removed(memory, "uploads", "")  # a removal must name a key
    manifest.encode({"version": 1})
    assert len(contract_violations) == 2
    assert "'Renditions Removed' event" in contract_violations[0]
    assert "manifest stored" in contract_violations[1]
    contract_violations.clear()  # this test's violations were on purpose
