"""How much memory a render needs, and a budget shared by the renders of a batch.

MAX_INPUT_PIXELS bounds pixels, not bytes: a 418 KB RGBA PNG at 100 MP decodes to
400 MB, plus its premultiplied working copy. The handler renders several records at
once, so without a budget four such uploads in one batch exhaust the function's
memory and the runtime kills the whole batch (retried, then dead-lettered with no
reason). With it, big renders wait for each other, and one that can never fit is a
permanent error that says which setting to raise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from resizer.errors import ImageTooLargeError, no_deadline
from resizer.imaging import _decode
from resizer.imaging._source import OpenedImage

MB = 1024 * 1024
#: How often a render waiting for memory checks its invocation's deadline.
WAIT_POLL_S = 0.1
#: What looking for faces adds to a render with a cover crop, on top of the renditions
#: held (resizer.imaging._faces: its grid of 4-byte images on bands of 128 window rows
#: of the 560 px copy, and the integral image): 17 MB measured on a 560 x 560 copy of a
#: busy photo (docs/performance.md, "Faces in cover crops").
FACE_DETECTION_BYTES = 24 * MB
# Renditions, encoder buffers and libjpeg's own tables on top of a JPEG's decoded
# pixels (measured: 7-10 MB for the default 150/800/1600 renditions).
_RENDER_OVERHEAD = 16 * MB


def estimate_bytes(opened: OpenedImage, data_size: int, largest: tuple[int, int]) -> int:
    """A generous estimate of a render's peak memory, from the header alone.

    ``largest`` is the largest rendition's size in the stored orientation: JPEGs
    decode shrunk on load to cover it (_decode), everything else whole.
    """
    image = opened.image
    width, height = image.size
    if opened.jpeg is not None:
        # The decoded pixels at the shrink-on-load scale: Pillow keeps RGB in 4 bytes
        # a pixel; through simplejpeg a 3-byte array is copied into one (7). Then the
        # renditions and the encoders' buffers.
        per_pixel = 7 if _decode.uses_turbo(opened) else 4
        decoded = _decode.decoded_pixels(opened, largest) * per_pixel
        peak = decoded + _RENDER_OVERHEAD
        if opened.jpeg.buffered:
            # A progressive (or multi-scan) JPEG: libjpeg holds every DCT coefficient
            # of the whole image until its last scan (3 bytes a pixel with 4:2:0
            # chroma, 6 with 4:4:4), next to the output it decodes into, and frees
            # them before the resampling starts. Measured within 2-9 % of this
            # (tests/reliability/test_memory.py): 291 MB for 100 MP at 4:2:0.
            peak = max(peak, opened.jpeg.coefficient_bytes() + decoded)
        return peak + data_size
    bands = len(image.getbands())
    sample = 2 if image.mode.startswith("I;16") else 4 if image.mode in ("I", "F") else 1
    # Decoded pixels, the working copy (RGBA, premultiplied) made from them, and
    # about a byte a pixel for the reduce() step (measured: 838 MB for a 100 MP
    # RGBA PNG, tests/reliability/test_memory.py; this gives 858 MB).
    per_pixel = max(4, bands * sample) * 2 + 1
    return width * height * per_pixel + data_size


#: Bytes a rendition's pixel costs from the moment it is made until the last one is
#: encoded: each rendition is held (premultiplied RGBA, 4 bytes a pixel) meanwhile.
HELD_BYTES_PER_PIXEL = 4
#: Bytes an output pixel costs while one rendition is encoded, on top of the renditions
#: held: the straight (un-premultiplied) copy _output hands the encoder, JPEG's
#: flattened copy of an image with alpha, and the encoder's own buffers (libjpeg's
#: progressive coefficients, zlib's window, libwebp's ARGB and YUVA pictures, libavif's
#: YUV planes and libaom's frame buffers; with alpha, AVIF encodes a second image).
#: Per Pillow encoder name: (opaque source, source with alpha). Measured at 6000 x 3375
#: (20 MP) as the process' peak RSS, with the renditions held and the base estimate
#: subtracted, then rounded up (docs/reliability.md, "Encoders";
#: tests/reliability/test_memory.py checks it): AVIF at config.AVIF_SPEED needed
#: 16 / 26, WebP 2 / 14, JPEG 0 / 11, PNG 0 / 1, GIF (a GIF source kept as GIF) 4 / 4.
ENCODER_BYTES_PER_PIXEL: dict[str, tuple[int, int]] = {
    "AVIF": (19, 29),
    "WEBP": (4, 16),
    "JPEG": (2, 13),
    "PNG": (2, 3),
    "GIF": (6, 6),
}


#: Bytes a pixel of the scored size costs while SSIMULACRA2 (_ssimulacra2) scores
#: candidates against one reference: the prepared Reference held (its XYB pyramid,
#: blurred means and variances) plus the planes of one score, (opaque, with alpha: two
#: backgrounds, so two pyramids). Measured as the peak RSS of a fresh process at 800
#: and 1600 px (bench/ssimulacra2.py): 90-91 / 129-138, rounded up;
#: tests/reliability/test_metric_memory.py checks it. The candidates' encoded bytes
#: and decoded images are the caller's.
METRIC_BYTES_PER_PIXEL = (96, 144)


def metric_bytes(size: tuple[int, int], alpha: bool) -> int:
    """Peak memory of scoring candidates of ``size`` against one prepared reference."""
    return METRIC_BYTES_PER_PIXEL[int(alpha)] * size[0] * size[1]


# format=auto / quality=auto (resizer.imaging._auto). While a rendition is searched,
# each candidate's encode and then its measurement run beside what the search holds:
# the metric's reference and one score (METRIC_BYTES_PER_PIXEL, above), a second
# (opaque) reference where JPEG's flattened pixels differ from the other formats' (a
# source with alpha and a listed jpeg), the proxy's references (PROXY_BYTES), the
# candidate's decoded pixels (4 bytes) and the encoded candidates chosen so far, at
# most 4 (AVIF, WebP, the fallback, and PNG or lossless WebP for a graphic), each at
# most an uncompressed RGBA pixel (5 bytes with PNG's filters and framing). Measured
# (tests/reliability/test_memory.py): a 3000 x 1688 format=auto:quality=auto
# rendition peaked at 408 MB opaque (estimate 764), 646 MB with alpha (1,044), decode included.
#: The decoded candidate and the encoded candidates held, per rendition pixel.
CANDIDATES_BYTES_PER_PIXEL = 4 + 4 * 5
#: The proxy's references, two at most (alpha and JPEG's): the proxy is at most
#: PROXY_GRID x PROXY_GRID tiles of PROXY_TILE px (resizer.imaging._auto).
PROXY_BYTES = 2 * metric_bytes((3 * 96, 3 * 96), alpha=True)


def search_bytes(size: tuple[int, int], alpha: bool, references: int) -> int:
    """What a searched rendition of ``size`` costs beside each of its encodes, with
    ``references`` (1 or 2) metric references held."""
    flattened = metric_bytes(size, alpha=False) * (references - 1) * alpha
    candidates = CANDIDATES_BYTES_PER_PIXEL * size[0] * size[1]
    return metric_bytes(size, alpha) + flattened + candidates + PROXY_BYTES


def encode_bytes(
    renditions: Sequence[tuple[tuple[int, int], Sequence[tuple[str, tuple[int, int]]]]],
    alpha: bool,
    searched: Sequence[int] = (),
) -> int:
    """Peak memory of the encode phase beyond the decode's: every rendition held, plus
    the largest single encode (encodes run one after another).

    ``renditions``: per rendition, the size it is held at (a cover crop's scaled image)
    and its encodes as (Pillow encoder name, encoded size). ``searched``: per rendition,
    how many metric references its search holds (0: not searched; format=auto or
    quality=auto: 1, or 2 for a listed jpeg beside another lossy format): each of its
    encodes then costs :func:`search_bytes` too. An Ultra HDR source's gain map is
    reserved on top (``_admission.gain_map_bytes``).
    """
    held = sum(width * height for (width, height), _ in renditions) * HELD_BYTES_PER_PIXEL
    counts = list(searched) + [0] * (len(renditions) - len(searched))
    largest = max(
        (
            ENCODER_BYTES_PER_PIXEL[name][int(alpha)] * width * height
            + (search_bytes((width, height), alpha, count) if count else 0)
            for (_, encodes), count in zip(renditions, counts, strict=True)
            for name, (width, height) in encodes
        ),
        default=0,
    )
    return held + largest


class MemoryBudget:
    """A counting semaphore in bytes; ``capacity=0`` means unlimited."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._used = 0
        self._changed = threading.Condition()

    @contextmanager
    def reserve(
        self, amount: int, check_deadline: Callable[[], None] = no_deadline
    ) -> Iterator[None]:
        """Wait until ``amount`` bytes are free, and hold them; ``check_deadline`` is
        called every WAIT_POLL_S while waiting (a render out of time stops waiting)."""
        if not self.capacity:
            yield
            return
        if amount > self.capacity:
            raise ImageTooLargeError(
                f"rendering this image (decode, renditions, encoders) needs about "
                f"{amount // MB:,} MB, more than the {self.capacity // MB:,} MB the function "
                "can give a render (MEMORY_BUDGET_MB); raise the function's MemorySize, or "
                "lower MAX_INPUT_PIXELS or the largest renditions (AVIF needs the most)"
            )
        with self._changed:
            while not self._changed.wait_for(
                lambda: self._used + amount <= self.capacity, timeout=WAIT_POLL_S
            ):
                check_deadline()
            self._used += amount
        try:
            yield
        finally:
            with self._changed:
                self._used -= amount
                self._changed.notify_all()
