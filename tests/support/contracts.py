"""The published contract: docs/schemas/, the JSON Schemas of the manifest and of each
event's detail, and the validation every test's manifests and events go through.

``validating()`` wraps the places every manifest and event passes (the manifest's
``build`` and ``encode``, both publishers' ``publish``: InMemoryPublisher for the
in-memory pipeline, EventBridgePublisher for the handler on emulated AWS) and
collects what breaks a schema; tests/conftest.py fails the test that produced it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, wraps
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
MANIFEST = "manifest.schema.json"
#: Each event's DetailType (resizer.publish) and the schema of its detail.
EVENTS = {
    "Renditions Ready": "renditions-ready.schema.json",
    "Renditions Removed": "renditions-removed.schema.json",
    "Rendition Failed": "rendition-failed.schema.json",
}
READY_SLIM = "renditions-ready-slim.schema.json"


@cache
def registry() -> Registry:
    resources = [
        (path.name, Resource.from_contents(json.loads(path.read_text())))
        for path in sorted(SCHEMAS.glob("*.schema.json"))
    ]
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = registry().contents(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, registry=registry(), format_checker=jsonschema.FormatChecker()
    )


def _leaves(error: jsonschema.ValidationError) -> Iterator[jsonschema.ValidationError]:
    """The innermost errors (a oneOf's reasons rather than "not valid under any")."""
    if not error.context:
        yield error
    for inner in error.context or ():
        yield from _leaves(inner)


def errors(name: str, instance: Any) -> list[str]:
    """Every way ``instance`` breaks the schema ``name`` (empty: valid), briefly."""
    found = [leaf for e in validator(name).iter_errors(instance) for leaf in _leaves(e)]
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:200]}" for e in found]


def check_manifest(manifest: Any) -> None:
    problems = errors(MANIFEST, manifest)
    assert not problems, problems


def check_event(detail_type: str, detail: Any) -> None:
    assert detail_type in EVENTS, f"no schema for the {detail_type!r} event"
    problems = errors(EVENTS[detail_type], detail)
    assert not problems, problems


@contextmanager
def validating(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Collect every schema violation of a manifest built or stored, or an event
    published, while the context lasts."""
    from resizer import manifest, publish

    violations: list[str] = []

    def record(what: str, check: Callable[[], None]) -> None:
        try:
            check()
        except AssertionError as error:
            violations.append(f"{what}: {error}")

    def built(function: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = function(*args, **kwargs)
            record("manifest built", lambda: check_manifest(result))
            return result

        return wrapper

    def encoded(function: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(function)
        def wrapper(value: Any, *args: Any, **kwargs: Any) -> Any:
            record("manifest stored", lambda: check_manifest(value))
            return function(value, *args, **kwargs)

        return wrapper

    def published(function: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(function)
        def wrapper(self: Any, detail_type: str, detail: Any) -> Any:
            record(f"{detail_type!r} event", lambda: check_event(detail_type, detail))
            return function(self, detail_type, detail)

        return wrapper

    monkeypatch.setattr(manifest, "build", built(manifest.build))
    monkeypatch.setattr(manifest, "encode", encoded(manifest.encode))
    for publisher in (publish.InMemoryPublisher, publish.EventBridgePublisher):
        monkeypatch.setattr(publisher, "publish", published(publisher.publish))
    yield violations
