"""WATERMARK, loaded once: from S3 when the function starts, from a file for the CLI.

The function reads ``s3://bucket/key`` with GetObject once per container (the
handler's ``runtime()``; the template grants ``s3:GetObject`` on that object alone) and
records its ETag, which is part of every marked rendition's fingerprint. A new mark
uploaded under the same key reaches containers started after it (publish a new version,
or wait for them to be recycled); the renditions made since then carry the new ETag in
their fingerprint, so ``resizer backfill`` finds the ones made before. ``resizer resize``
reads a file path instead; its "ETag" is the file's MD5, what S3 gives an object
uploaded in one part, so the same file yields the same fingerprint either way.

Nothing is read when no rendition asks for a watermark. A mark that cannot be read or
is not a PNG stops the function at start (ConfigurationError, naming the fix).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from resizer.config import Settings, WatermarkImage, needs_watermark
from resizer.errors import ConfigurationError
from resizer.imaging import decode_watermark

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: A larger WATERMARK object is refused before its body is read.
MAX_MARK_BYTES = 20 * 1024 * 1024
_SCHEME = "s3://"


def _wanted(settings: Settings) -> bool:
    return needs_watermark(settings.renditions, settings.watermark)


def parse_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of ``s3://bucket/key``; a ConfigurationError for anything else."""
    bucket, _, key = uri.removeprefix(_SCHEME).partition("/")
    if not uri.startswith(_SCHEME) or not bucket or not key:
        raise ConfigurationError(
            f"WATERMARK={uri!r}: the function reads the mark from S3, give s3://bucket/key"
        )
    return bucket, key


def _loaded(settings: Settings, data: bytes, etag: str) -> Settings:
    decode_watermark(data)  # checked (and decoded) now, not at the first render
    return replace(settings, watermark_image=WatermarkImage(data, etag))


def from_s3(settings: Settings, s3: S3Client) -> Settings:
    """``settings`` with the WATERMARK object loaded, when a rendition asks for it."""
    if not _wanted(settings):
        return settings
    # Imported here: `resizer resize` loads this module for from_file, without botocore.
    from botocore.exceptions import ClientError  # noqa: PLC0415

    bucket, key = parse_uri(settings.watermark)
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise ConfigurationError(
            f"WATERMARK {settings.watermark} cannot be read ({code}): upload the PNG there, "
            "or point the template's Watermark parameter at it (the role may read it alone)"
        ) from None
    body = response["Body"]
    try:
        if response.get("ContentLength", 0) > MAX_MARK_BYTES:
            raise ConfigurationError(
                f"WATERMARK {settings.watermark} is over {MAX_MARK_BYTES:,} bytes; a mark "
                "is a small PNG"
            )
        data = body.read()
    finally:
        body.close()
    return _loaded(settings, data, response["ETag"].strip('"'))


def from_file(settings: Settings) -> Settings:
    """``settings`` with WATERMARK read from a file path (``resizer resize``)."""
    if not _wanted(settings):
        return settings
    path = Path(settings.watermark)
    try:
        if path.stat().st_size > MAX_MARK_BYTES:
            raise ConfigurationError(f"WATERMARK {path} is over {MAX_MARK_BYTES:,} bytes")
        data = path.read_bytes()
    except OSError as error:
        raise ConfigurationError(
            f"WATERMARK {path} cannot be read ({error.strerror or error}); "
            "`resizer resize` takes the path of a PNG"
        ) from None
    return _loaded(settings, data, hashlib.md5(data, usedforsecurity=False).hexdigest())
