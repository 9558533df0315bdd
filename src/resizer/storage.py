"""Where sources and renditions live: :class:`Storage`, the one seam between the
pipeline and a bucket, and its S3 backend (:class:`S3Storage`).

:class:`Storage` owns every rule about what is stored: the metadata, the order of
writes, what a removal deletes, what "up to date" means (:meth:`Storage.plan`) and the
retries of a broken download. A backend supplies only object operations: ``_head``,
``_open``, ``_read`` (may classify how a body breaks), ``_put`` and ``_delete``. The
keys come from :mod:`resizer.layout`; the manifest's JSON from :mod:`resizer.manifest`.
"""

from __future__ import annotations

import hashlib
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import quote

from botocore.exceptions import (
    ClientError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from resizer import layout
from resizer import manifest as manifests
from resizer.config import Settings, fingerprint
from resizer.errors import (
    BrokenReadError,
    ImageTooLargeError,
    SourceGoneError,
    TransientError,
    no_deadline,
)
from resizer.imaging import RenderedImage
from resizer.manifest import META_CONFIG, META_SOURCE_ETAG, META_SOURCE_KEY, Manifest, Plan

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: Metadata keys on every rendition (S3 lower-cases them and prefixes ``x-amz-meta-``),
#: with META_SOURCE_ETAG, META_CONFIG and META_SOURCE_KEY (resizer.manifest).
META_WIDTH = "width"
META_HEIGHT = "height"
#: The source's user metadata naming the focal point of cover crops, "X,Y" in 0..1.
META_FOCAL_POINT = "focal-point"

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
T = TypeVar("T")
#: S3's limits: user metadata at most 2 KB; DeleteObjects takes at most 1,000 keys a
#: request (the key's 1,024 bytes: resizer.layout.MAX_KEY_BYTES).
MAX_DELETE_KEYS = 1000
_MAX_SOURCE_KEY_META = 1024
#: A GetObject whose body breaks mid-stream is outside botocore's retries (they end
#: when the response headers arrive). Without these, one reset while reading failed
#: the record and SQS redelivered it a visibility timeout later (360 s with the
#: template's defaults). Attempts in all, and the backoff before the second (doubling,
#: full jitter, capped): worst case about 0.2 + 0.4 + 0.8 s of waiting.
READ_ATTEMPTS = 4
READ_BACKOFF_S = 0.2
READ_BACKOFF_CAP_S = 2.0

#: ``after_fetch(bucket, key)`` and ``before_delete(source_key)``: see :class:`Storage`.
FetchHook = Callable[[str, str], None]
DeleteHook = Callable[[str], None]


def object_etag(data: bytes) -> str:
    """The ETag S3 gives an object uploaded in one part: the MD5 of its bytes, in hex."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class SourceObject:
    data: bytes
    etag: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Head:
    """What a HEAD tells: the object's ETag and its user metadata."""

    etag: str
    metadata: Mapping[str, str]


class Readable(Protocol):
    def read(self) -> bytes: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class OpenedObject:
    """An object whose download has started: its size is known, its body not yet read."""

    size: int
    etag: str
    body: Readable
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectWrite:
    """One object to write, described the same way for every backend."""

    key: str
    data: bytes
    content_type: str
    cache_control: str
    metadata: Mapping[str, str]
    content_disposition: str | None = None


class Storage(ABC):
    """What the pipeline stores and reads, built on a backend's object operations.

    Two hooks inject races without patching (tests): ``after_fetch(bucket, key)`` runs
    each time a source has been downloaded (between fetch and store, while the pipeline
    renders), ``before_delete(source_key)`` each time a deletion of renditions has
    started. A hook may upload, replace or delete objects, or run another pipeline.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        after_fetch: FetchHook | None = None,
        before_delete: DeleteHook | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.after_fetch = after_fetch
        self.before_delete = before_delete
        self._sleep = sleep

    # ---- the backend's object operations
    @abstractmethod
    def _head(self, bucket: str, key: str) -> Head | None:
        """The object's ETag and metadata, or None when it does not exist."""

    @abstractmethod
    def _open(self, bucket: str, key: str) -> OpenedObject | None:
        """Start downloading the object, or None when it does not exist."""

    def _read(self, bucket: str, key: str, opened: OpenedObject) -> bytes:
        """The body of an opened object; BrokenReadError when it breaks mid-stream."""
        return opened.body.read()

    @abstractmethod
    def _put(self, bucket: str, write: ObjectWrite) -> None: ...

    @abstractmethod
    def _delete(self, bucket: str, keys: list[str]) -> None:
        """Delete the keys (missing ones are no error); TransientError if some remain."""

    # ---- the rules
    def check_key(self, source_key: str) -> None:
        """Raise a permanent error, before any work, for a key no rendition can have
        (resizer.layout.check_source_key)."""
        layout.check_source_key(self.settings, source_key)

    def source_etag(self, bucket: str, key: str) -> str | None:
        """The source's current ETag, or None when it does not exist."""
        head = self._head(bucket, key)
        return None if head is None else head.etag

    def fetch(
        self, bucket: str, key: str, check_deadline: Callable[[], None] = no_deadline
    ) -> SourceObject:
        """The source's bytes, ETag and metadata: SourceGoneError, or ImageTooLargeError
        before reading more than MAX_INPUT_BYTES. A body that breaks mid-stream is read
        again (READ_ATTEMPTS, backoff with jitter, ``check_deadline`` before each retry:
        it raises DeadlineError when too little time is left)."""
        attempt = 1
        while True:
            try:
                source = self._download(bucket, key)
                break
            except BrokenReadError:
                if attempt == READ_ATTEMPTS:
                    raise
            check_deadline()
            ceiling = min(READ_BACKOFF_CAP_S, READ_BACKOFF_S * 2 ** (attempt - 1))
            self._sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not secrets
            attempt += 1
        if self.after_fetch is not None:
            self.after_fetch(bucket, key)
        return source

    def _download(self, bucket: str, key: str) -> SourceObject:
        opened = self._open(bucket, key)
        if opened is None:
            raise SourceGoneError(
                f"s3://{bucket}/{key} no longer exists; it was deleted before it was processed"
            )
        limit = self.settings.max_input_bytes
        if opened.size > limit:
            opened.body.close()  # do not pull the rest of a huge object over the network
            raise ImageTooLargeError(
                f"s3://{bucket}/{key} is {opened.size:,} bytes, over MAX_INPUT_BYTES={limit:,}; "
                "raise the limit (and the function's memory) or upload a smaller file"
            )
        return SourceObject(self._read(bucket, key, opened), opened.etag, opened.metadata)

    def plan(self, source_key: str, source_etag: str) -> Plan:
        """What the destination holds for the source at ``source_etag`` and what to
        render (resizer.manifest.plan): the manifest, then a HEAD of every object it
        lists for a configured rendition, so that an object lost since (deleted by hand,
        a lifecycle rule) or made from another source or config is made again."""
        bucket = self.settings.destination_bucket
        key = layout.manifest_key(source_key)
        opened = self._open(bucket, key)
        found = None if opened is None else manifests.decode(self._read(bucket, key, opened))
        heads: dict[str, Mapping[str, str] | None] = {}
        if found is not None and opened is not None:
            listed = manifests.keys_to_check(self.settings, found, opened.metadata, source_etag)
            for listed_key in listed:
                head = self._head(bucket, listed_key)
                heads[listed_key] = None if head is None else head.metadata
        metadata = None if opened is None else opened.metadata
        return manifests.plan(
            self.settings, source_key, source_etag, manifest=found, found=metadata, heads=heads
        )

    def read_manifest(self, source_key: str) -> Manifest | None:
        """The source's manifest, or None (absent or unreadable)."""
        bucket = self.settings.destination_bucket
        key = layout.manifest_key(source_key)
        opened = self._open(bucket, key)
        return None if opened is None else manifests.decode(self._read(bucket, key, opened))

    def write_manifest(self, source_key: str, manifest: Manifest, *, announced: bool) -> None:
        """Write the manifest (after every rendition it lists)."""
        write = ObjectWrite(
            key=layout.manifest_key(source_key),
            data=manifests.encode(manifest),
            content_type=manifests.CONTENT_TYPE,
            cache_control="no-cache",
            metadata=manifests.metadata(manifest, announced=announced),
        )
        self._put(self.settings.destination_bucket, write)

    def delete_manifest(self, source_key: str) -> None:
        """Delete the manifest (last, after the renditions)."""
        self._delete(self.settings.destination_bucket, [layout.manifest_key(source_key)])

    def store(self, source_key: str, source_etag: str, images: Iterable[RenderedImage]) -> int:
        """Write the renditions in the order given; returns the bytes written."""
        written = 0
        for image in images:
            self._put(self.settings.destination_bucket, self._write(source_key, source_etag, image))
            written += len(image.data)
        return written

    def delete_renditions(self, source_key: str, manifest: Manifest | None = None) -> None:
        """Delete every rendition ``manifest`` lists that the layout (or the seed's) gives
        ``source_key`` (a damaged or hand-edited manifest deletes nothing else), and every
        key the config names; missing ones are no error. Not the manifest."""
        if self.before_delete is not None:
            self.before_delete(source_key)
        listed = manifests.listed_keys(manifest) if manifest else []
        own = [key for key in listed if layout.belongs_to(key, source_key)]
        keys = dict.fromkeys([*own, *layout.configured_keys(self.settings, source_key)])
        self._delete(self.settings.destination_bucket, list(keys))

    def _write(self, source_key: str, source_etag: str, image: RenderedImage) -> ObjectWrite:
        disposition = None
        if image.converted:
            # The key keeps the source's name; tell browsers and downloads the real type.
            stem = source_key.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "image"
            disposition = f"inline; filename*=UTF-8''{quote(stem + image.extension, safe='')}"
        metadata = {
            META_SOURCE_ETAG: source_etag,
            META_WIDTH: str(image.width),
            META_HEIGHT: str(image.height),
            META_CONFIG: fingerprint(self.settings, image.rendition),
        }
        # Metadata must be ASCII, so the key is URL-encoded; a long non-ASCII key can
        # triple in size and break S3's 2 KB metadata limit. The output key names the
        # source anyway, so the copy is left out then.
        encoded_key = manifests.encoded_source_key(source_key)
        if len(encoded_key) <= _MAX_SOURCE_KEY_META:
            metadata[META_SOURCE_KEY] = encoded_key
        return ObjectWrite(
            key=layout.image_key(image, source_key),
            data=image.data,
            content_type=image.content_type,
            cache_control=self.settings.cache_control,
            metadata=metadata,
            content_disposition=disposition,
        )


def _unless_missing(call: Callable[[], T]) -> T | None:
    """The call's response, or None when S3 answers that the object does not exist."""
    try:
        return call()
    except ClientError as error:
        if str(error.response.get("Error", {}).get("Code", "")) in _NOT_FOUND:
            return None
        raise


#: How a body breaks while it is read: urllib3's errors as botocore's StreamingBody
#: wraps them (ResponseStreamingError: a reset or an IncompleteRead; ReadTimeoutError),
#: a body shorter than its Content-Length (IncompleteReadError), or a socket error.
_BROKEN_READ = (IncompleteReadError, ResponseStreamingError, ReadTimeoutError, OSError)


class S3Storage(Storage):
    """The S3 backend: one client, shared by every thread. A body that breaks
    mid-stream is classified (BrokenReadError) for :meth:`Storage.fetch` to retry."""

    def __init__(
        self,
        s3: S3Client,
        settings: Settings,
        *,
        after_fetch: FetchHook | None = None,
        before_delete: DeleteHook | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            settings, after_fetch=after_fetch, before_delete=before_delete, sleep=sleep
        )
        self.s3 = s3

    def _read(self, bucket: str, key: str, opened: OpenedObject) -> bytes:
        try:
            return opened.body.read()
        except _BROKEN_READ as error:
            raise BrokenReadError(
                f"the download of s3://{bucket}/{key} broke after its headers "
                f"({type(error).__name__}: {error})"
            ) from error

    def _head(self, bucket: str, key: str) -> Head | None:
        head = _unless_missing(lambda: self.s3.head_object(Bucket=bucket, Key=key))
        if head is None:
            return None
        return Head(etag=head["ETag"].strip('"'), metadata=head.get("Metadata", {}))

    def _open(self, bucket: str, key: str) -> OpenedObject | None:
        response = _unless_missing(lambda: self.s3.get_object(Bucket=bucket, Key=key))
        if response is None:
            return None
        return OpenedObject(
            size=response["ContentLength"],
            etag=response["ETag"].strip('"'),
            body=response["Body"],
            metadata=response.get("Metadata", {}),
        )

    def _put(self, bucket: str, write: ObjectWrite) -> None:
        extra: dict[str, Any] = {}
        if write.content_disposition is not None:
            extra["ContentDisposition"] = write.content_disposition
        self.s3.put_object(
            Bucket=bucket,
            Key=write.key,
            Body=write.data,
            ContentType=write.content_type,
            CacheControl=write.cache_control,
            Metadata=dict(write.metadata),
            **extra,
        )

    def _delete(self, bucket: str, keys: list[str]) -> None:
        errors: list[Any] = []
        for start in range(0, len(keys), MAX_DELETE_KEYS):
            batch = keys[start : start + MAX_DELETE_KEYS]
            response = self.s3.delete_objects(
                Bucket=bucket,
                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
            )
            errors += response.get("Errors", [])
        if errors:
            raise TransientError(
                f"could not delete {len(errors)} of {len(keys)} object(s), e.g. "
                f"{errors[0].get('Key')!r}: {errors[0].get('Code')} {errors[0].get('Message')}"
            )
