"""The errors resizer raises.

Whether a failure is retried is a property of the error's *type* (``permanent``),
never of its message text. Permanent failures go to the dead-letter queue at once
with their reason; anything else is reported back to SQS and retried.
"""

from __future__ import annotations

from typing import ClassVar


class ResizerError(Exception):
    """Base of every error resizer raises on purpose."""

    permanent: ClassVar[bool] = False

    @property
    def reason(self) -> str:
        """A readable sentence for logs and the DLQ's ``ErrorReason`` attribute."""
        return str(self) or type(self).__name__


class PermanentError(ResizerError):
    """Retrying cannot help: the input itself is wrong. Goes straight to the DLQ."""

    permanent = True


class TransientError(ResizerError):
    """May succeed later (throttling, 5xx, time running out). Retried by SQS."""


class ConfigurationError(ResizerError):
    """A setting is missing or malformed: fix the function's environment."""


class MalformedMessageError(PermanentError):
    """The SQS message is not an S3 event notification."""


class InvalidImageError(PermanentError):
    """The bytes are not an image resizer can read."""


class UnsupportedFormatError(InvalidImageError):
    """A real file, but in a format resizer does not render (SVG, PDF, ...)."""


class CorruptImageError(InvalidImageError):
    """A supported format, but truncated or damaged data."""


class ImageTooLargeError(PermanentError):
    """Over MAX_INPUT_PIXELS or MAX_INPUT_BYTES."""


class EncodingError(PermanentError):
    """The image decoded, but an encoder cannot write it (a format limit the same bytes
    always reach, e.g. a frame duration GIF cannot express)."""


class KeyTooLongError(PermanentError):
    """The source key leaves no room for the rendition prefix within S3's 1,024 bytes."""


class UnreachableKeyError(PermanentError):
    """The source key has a ``.`` or ``..`` path segment: browsers and CDNs resolve
    those before requesting, so no URL would reach its renditions (resizer.layout)."""


class ForeignBucketError(PermanentError):
    """The record names a bucket other than the function's SOURCE_BUCKET."""


class SourceGoneError(PermanentError):
    """The source object no longer exists (deleted before it was processed)."""


class BrokenReadError(TransientError):
    """The source's download broke after its headers arrived (read again in-process,
    READ_ATTEMPTS times, by resizer.storage.S3Storage; then retried by SQS)."""


class DeadlineError(TransientError):
    """Not enough of the invocation's time left to finish this record safely."""


def no_deadline() -> None:
    """The deadline check of work done outside an invocation: it never raises.

    Long steps (an animation's frames, a download's retries) take a check that raises
    :class:`DeadlineError` when too little of the invocation is left."""
