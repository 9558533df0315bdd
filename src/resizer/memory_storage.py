"""Storage in memory: for tests, and for running the pipeline without AWS.

In the spirit of httpx's ``MockTransport``: the pipeline runs unchanged against
:class:`InMemoryStorage`, which keeps every bucket in a dict and shares the key
layout, metadata and write order of :class:`resizer.storage.S3Storage` (both are
:class:`resizer.storage.Storage`, which owns those rules; this module is only a
backend's object operations over dicts). Races are injected through the storage's
hooks, not by patching: ``after_fetch`` runs each time a source has been downloaded
(between fetch and store, while the pipeline renders), ``before_delete`` each time a
deletion of renditions has started (before anything is removed). A hook may upload,
replace or delete objects, or run another pipeline on the same storage.

Every operation is recorded in :attr:`InMemoryStorage.calls` as
``(operation, bucket, key)`` with operation one of ``head``, ``get`` (the download
starts: size and ETag known), ``read`` (its body is read), ``put`` and ``delete``.
Thread-safe, like the S3 client.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from resizer.config import Settings
from resizer.layout import rendition_key
from resizer.storage import (
    DeleteHook,
    FetchHook,
    Head,
    ObjectWrite,
    OpenedObject,
    Storage,
    object_etag,
)


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    etag: str
    content_type: str = "application/octet-stream"
    metadata: Mapping[str, str] = field(default_factory=dict)
    cache_control: str = ""
    content_disposition: str | None = None


class InMemoryStorage(Storage):
    """Buckets in a dict. ``settings.destination_bucket`` receives the renditions
    (``"renditions"`` when the settings name none)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        after_fetch: FetchHook | None = None,
        before_delete: DeleteHook | None = None,
    ) -> None:
        settings = settings or Settings()
        if not settings.destination_bucket:
            settings = replace(settings, destination_bucket="renditions")
        super().__init__(settings, after_fetch=after_fetch, before_delete=before_delete)
        self.objects: dict[tuple[str, str], StoredObject] = {}
        self.calls: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()

    # ---- what a test (or an embedder) does to the buckets
    def upload(
        self, bucket: str, key: str, data: bytes, metadata: Mapping[str, str] | None = None
    ) -> str:
        """Create or replace an object, as a client's PUT would; returns its ETag."""
        etag = object_etag(data)
        with self._lock:
            self.objects[bucket, key] = StoredObject(data, etag, metadata=dict(metadata or {}))
        return etag

    def remove(self, bucket: str, key: str) -> None:
        """Delete an object, as a client's DELETE would (missing is no error)."""
        with self._lock:
            self.objects.pop((bucket, key), None)

    def get(self, bucket: str, key: str) -> StoredObject | None:
        with self._lock:
            return self.objects.get((bucket, key))

    def renditions(self, source_key: str) -> dict[str, StoredObject]:
        """Rendition name -> object, for the renditions of ``source_key`` that exist."""
        found = {}
        for rendition in self.settings.renditions:
            key = rendition_key(source_key, rendition.name)
            stored = self.get(self.settings.destination_bucket, key)
            if stored is not None:
                found[rendition.name] = stored
        return found

    def writes(self) -> list[tuple[str, str, str]]:
        """The recorded puts and deletes, in order."""
        with self._lock:
            return [call for call in self.calls if call[0] in {"put", "delete"}]

    # ---- the object operations
    def _head(self, bucket: str, key: str) -> Head | None:
        with self._lock:
            self.calls.append(("head", bucket, key))
            stored = self.objects.get((bucket, key))
        return None if stored is None else Head(stored.etag, stored.metadata)

    def _open(self, bucket: str, key: str) -> OpenedObject | None:
        with self._lock:
            self.calls.append(("get", bucket, key))
            stored = self.objects.get((bucket, key))
        if stored is None:
            return None
        return OpenedObject(
            len(stored.data),
            stored.etag,
            _Body(stored.data, lambda: self._record("read", bucket, key)),
            stored.metadata,
        )

    def _put(self, bucket: str, write: ObjectWrite) -> None:
        stored = StoredObject(
            data=write.data,
            etag=object_etag(write.data),
            content_type=write.content_type,
            metadata=dict(write.metadata),
            cache_control=write.cache_control,
            content_disposition=write.content_disposition,
        )
        with self._lock:
            self.calls.append(("put", bucket, write.key))
            self.objects[bucket, write.key] = stored

    def _delete(self, bucket: str, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self.calls.append(("delete", bucket, key))
                self.objects.pop((bucket, key), None)

    def _record(self, operation: str, bucket: str, key: str) -> None:
        with self._lock:
            self.calls.append((operation, bucket, key))


class _Body:
    """A download's body: reading it is recorded, as is any call."""

    def __init__(self, data: bytes, on_read: Callable[[], None]) -> None:
        self._data = data
        self._on_read = on_read

    def read(self) -> bytes:
        self._on_read()
        return self._data

    def close(self) -> None:
        """Nothing to release: the bytes are already in memory."""
