"""Events to EventBridge: what applications listen to instead of polling the bucket.

``Source: "resizer"`` on the bus EVENT_BUS_NAME (the template's ``EventBusName``;
empty publishes nothing), DetailTypes:

* ``Renditions Ready``: Detail is the manifest, once a source's set is complete; a
  manifest whose entry would reach EventBridge's entry limit (:data:`ENTRY_LIMIT`,
  256 KB) is announced with a slim detail instead (:func:`slim`: ``"slim": true``,
  the source, config, ``manifest_key``, ``counts`` and placeholder), since AWS
  rejects such an entry on every retry (the emulator accepts it);
* ``Renditions Removed``: ``{"bucket", "key"}``, once a removal deleted them;
* ``Rendition Failed``: ``{"bucket", "key", "error_type", "reason"}``, beside the
  dead-letter message of a permanent failure.

At least once: the pipeline marks a manifest announced only after PutEvents
succeeded (see resizer.pipeline). PutEvents itself is retried by botocore on
throttling and 5xx; an entry it reports failed (``FailedEntryCount`` > 0) is sent
again here, up to :data:`ATTEMPTS` times, then the record fails as a TransientError
and SQS delivers it again.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from resizer import layout
from resizer.errors import TransientError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

SOURCE = "resizer"
READY = "Renditions Ready"
REMOVED = "Renditions Removed"
FAILED = "Rendition Failed"
#: PutEvents calls for one event whose entry failed, before the record is retried.
ATTEMPTS = 3
_BACKOFF_S = 0.2
#: PutEvents' entry limit: "The total entry size must be less than 256KB"
#: (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html;
#: the API reference says "maximum size ... 256 KB": the stricter reading is kept, so
#: an entry of exactly 262,144 bytes is over).
ENTRY_LIMIT = 256 * 1024
#: The field that marks a Ready event's detail as slim (the manifest left out).
SLIM = "slim"


class Publisher(Protocol):
    @property
    def enabled(self) -> bool:
        """False when events are switched off (EVENT_BUS_NAME empty)."""

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        """Publish one event; TransientError when it could not be delivered."""


def encode(detail: Mapping[str, Any]) -> str:
    """An event's Detail as PutEvents receives it (compact JSON)."""
    return json.dumps(detail, separators=(",", ":"))


def entry_size(entry: Mapping[str, Any]) -> int:
    """A PutEvents entry's size as EventBridge counts it: Time 14 bytes if present,
    plus the UTF-8 bytes of Source, DetailType, Detail and each Resources entry (the
    bus name is not counted).
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html"""
    size = 14 if entry.get("Time") is not None else 0
    for field in ("Source", "DetailType", "Detail"):
        if entry.get(field) is not None:
            size += len(str(entry[field]).encode("utf-8"))
    for resource in entry.get("Resources") or ():
        if resource is not None:
            size += len(str(resource).encode("utf-8"))
    return size


def _entry(detail_type: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    return {"Source": SOURCE, "DetailType": detail_type, "Detail": encode(detail)}


def slim(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A Ready detail without the renditions' list: ``"slim": true``, the manifest's
    version, source, config and placeholder, where the whole manifest is
    (``manifest_key``, in the destination bucket) and ``counts`` (distinct
    ``renditions``, ``objects`` listed, their total ``bytes``)."""
    listed = manifest["renditions"]
    return {
        "version": manifest["version"],
        SLIM: True,
        "source": manifest["source"],
        "config": manifest["config"],
        "manifest_key": layout.manifest_key(manifest["source"]["key"]),
        "counts": {
            "renditions": len({entry["name"] for entry in listed}),
            "objects": len(listed),
            "bytes": sum(int(entry["bytes"]) for entry in listed),
        },
        "placeholder": manifest["placeholder"],
    }


def ready_detail(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    """The manifest, or its :func:`slim` detail when its entry would reach ENTRY_LIMIT."""
    if entry_size(_entry(READY, manifest)) < ENTRY_LIMIT:
        return manifest
    return slim(manifest)


def ready(publisher: Publisher, manifest: dict[str, Any]) -> None:
    publisher.publish(READY, dict(ready_detail(manifest)))


def removed(publisher: Publisher, bucket: str, key: str) -> None:
    publisher.publish(REMOVED, {"bucket": bucket, "key": key})


def failed(publisher: Publisher, bucket: str, key: str, error_type: str, reason: str) -> None:
    detail = {"bucket": bucket, "key": key, "error_type": error_type, "reason": reason}
    publisher.publish(FAILED, detail)


class EventBridgePublisher:
    """PutEvents on one bus; an empty bus name publishes nothing."""

    def __init__(
        self,
        client: EventBridgeClient | None,
        bus: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self._bus = bus
        self._sleep = sleep

    @property
    def enabled(self) -> bool:
        return bool(self._bus) and self.client is not None

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        if self.client is None or not self._bus:
            return
        entry = {**_entry(detail_type, detail), "EventBusName": self._bus}
        reason = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                self._sleep(_BACKOFF_S * 2 ** (attempt - 1))
            response = self.client.put_events(Entries=[entry])  # type: ignore[list-item]
            if not response.get("FailedEntryCount"):
                return
            failure = response["Entries"][0]
            reason = f"{failure.get('ErrorCode')}: {failure.get('ErrorMessage')}"
        raise TransientError(
            f"EventBridge refused the {detail_type!r} event {ATTEMPTS} times ({reason}); "
            "the record will be retried"
        )


class InMemoryPublisher:
    """Events kept in a list (tests, and running the pipeline without AWS).

    ``fail`` (a count) makes the next publishes raise TransientError, as PutEvents
    failing for good would.
    """

    def __init__(self, enabled: bool = True) -> None:
        self._enabled = enabled
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.fail = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._enabled

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        if not self._enabled:
            return
        with self._lock:
            if self.fail:
                self.fail -= 1
                raise TransientError(f"PutEvents failed for {detail_type!r} (injected)")
            self.events.append((detail_type, json.loads(json.dumps(detail))))
