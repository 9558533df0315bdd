"""S3 reads and writes, and the key layout of the destination bucket.

Output key: ``<rendition name>/<source key>``, whatever the output format (the
Content-Type says it), so the mapping is one-to-one and a removal can find the
renditions without knowing the deleted source's format.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from resizer.config import Rendition, Settings
from resizer.errors import ImageTooLargeError, KeyTooLongError, SourceGoneError, TransientError
from resizer.imaging import RenderedImage

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: Metadata keys on every rendition (S3 lower-cases them and prefixes ``x-amz-meta-``).
META_SOURCE_ETAG = "source-etag"
META_SOURCE_KEY = "source-key"

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
#: S3's limits: a key is at most 1,024 bytes of UTF-8; user metadata at most 2 KB.
MAX_KEY_BYTES = 1024
_MAX_SOURCE_KEY_META = 1024


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def output_key(rendition: Rendition | str, source_key: str) -> str:
    name = rendition.name if isinstance(rendition, Rendition) else rendition
    return f"{name}/{source_key}"


@dataclass(frozen=True)
class SourceObject:
    data: bytes
    etag: str


class Storage:
    """The S3 side of the pipeline: one client, shared by every thread."""

    def __init__(self, s3: S3Client, settings: Settings) -> None:
        self.s3 = s3
        self._settings = settings

    def check_key(self, source_key: str) -> None:
        """Refuse, before any work, a source whose rendition keys S3 would reject."""
        longest = max(len(output_key(r, source_key).encode()) for r in self._settings.renditions)
        if longest > MAX_KEY_BYTES:
            raise KeyTooLongError(
                f"the rendition key would be {longest:,} bytes, over S3's limit of "
                f"{MAX_KEY_BYTES:,}; shorten the source key (or the rendition names) "
                f"by {longest - MAX_KEY_BYTES:,} bytes"
            )

    def source_etag(self, bucket: str, key: str) -> str | None:
        """The source's current ETag, or None when it does not exist."""
        try:
            head = self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if _error_code(error) in _NOT_FOUND:
                return None
            raise
        return head["ETag"].strip('"')

    def fetch(self, bucket: str, key: str) -> SourceObject:
        """Download the source, refusing more than MAX_INPUT_BYTES before reading it."""
        try:
            response = self.s3.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if _error_code(error) in _NOT_FOUND:
                raise SourceGoneError(
                    f"s3://{bucket}/{key} no longer exists; it was deleted before it was processed"
                ) from None
            raise
        body = response["Body"]
        size = response["ContentLength"]
        limit = self._settings.max_input_bytes
        if size > limit:
            body.close()  # do not pull the rest of a huge object over the network
            raise ImageTooLargeError(
                f"s3://{bucket}/{key} is {size:,} bytes, over MAX_INPUT_BYTES={limit:,}; "
                "raise the limit (and the function's memory) or upload a smaller file"
            )
        return SourceObject(data=body.read(), etag=response["ETag"].strip('"'))

    def renditions_match(self, source_key: str, source_etag: str) -> bool:
        """Whether every rendition was made from the source with ``source_etag``.

        Renditions are written largest first, so the smallest is checked first: for a
        new image that is one 404 instead of one per rendition.
        """
        for rendition in reversed(self._settings.renditions):
            try:
                head = self.s3.head_object(
                    Bucket=self._settings.destination_bucket,
                    Key=output_key(rendition, source_key),
                )
            except ClientError as error:
                if _error_code(error) not in _NOT_FOUND:
                    raise
                return False
            if head.get("Metadata", {}).get(META_SOURCE_ETAG) != source_etag:
                return False
        return True

    def store(self, source_key: str, source_etag: str, images: Iterable[RenderedImage]) -> int:
        """Write the renditions in the order given; returns the bytes written."""
        written = 0
        for image in images:
            extra: dict[str, Any] = {}
            if image.converted:
                # The key keeps the source's name; tell browsers and downloads the real type.
                stem = source_key.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "image"
                extra["ContentDisposition"] = (
                    f"inline; filename*=UTF-8''{quote(stem + image.extension, safe='')}"
                )
            metadata = {
                META_SOURCE_ETAG: source_etag,
                "width": str(image.width),
                "height": str(image.height),
            }
            # Metadata must be ASCII, so the key is URL-encoded; a long non-ASCII key can
            # triple in size and break S3's 2 KB metadata limit. The output key names the
            # source anyway, so the copy is left out then.
            encoded_key = quote(source_key, safe="/")
            if len(encoded_key) <= _MAX_SOURCE_KEY_META:
                metadata[META_SOURCE_KEY] = encoded_key
            self.s3.put_object(
                Bucket=self._settings.destination_bucket,
                Key=output_key(image.rendition, source_key),
                Body=image.data,
                ContentType=image.content_type,
                CacheControl=self._settings.cache_control,
                Metadata=metadata,
                **extra,
            )
            written += len(image.data)
        return written

    def delete_renditions(self, source_key: str) -> None:
        response = self.s3.delete_objects(
            Bucket=self._settings.destination_bucket,
            Delete={
                "Objects": [{"Key": output_key(r, source_key)} for r in self._settings.renditions],
                "Quiet": True,
            },
        )
        errors = response.get("Errors", [])
        if errors:
            raise TransientError(
                f"could not delete {len(errors)} rendition(s) of {source_key!r}: "
                f"{errors[0].get('Code')} {errors[0].get('Message')}"
            )
