"""Animations: their size and frame count read from the container, before Pillow
decodes (or, for WebP, allocates) anything; and the frame-level rules of rendering.

Pillow counts a GIF's frames by walking all of them, and libwebp's animation
decoder allocates two canvases the moment Pillow opens the file. So the facts that
bound the work - the largest canvas, the number of frames - are read here from the
bytes (a few bytes per frame, stopping one past the limit), and checked before
``Image.open`` sees the file. Damage is left for the decoder to report: a scan that
meets garbage just stops.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image

from resizer.errors import ImageTooLargeError

#: The longest frame each output format can say (GIF: 16-bit centiseconds; APNG:
#: 16-bit numerator over 1000; WebP: 24-bit milliseconds). Pillow merges identical
#: consecutive frames by adding their durations and then fails to write the sum
#: (OverflowError: 10,000 identical 100 ms frames make 1,000 s), so resizer merges
#: them itself and clamps.
MAX_FRAME_MS = {"GIF": 655_350, "PNG": 65_535, "WEBP": 2**24 - 1}


@dataclass(frozen=True)
class Container:
    """What the container says, before decoding: canvas and frames (at most limit + 1)."""

    width: int
    height: int
    frames: int


def scan(data: bytes, fmt: str | None, frame_limit: int) -> Container | None:
    """The canvas and frame count of a GIF, WebP or PNG (APNG), else None."""
    stop = frame_limit + 1
    try:
        if fmt == "GIF":
            return _gif(data, stop)
        if fmt == "WebP":
            return _webp(data, stop)
        if fmt == "PNG":
            return _png(data)
    except (IndexError, struct.error):
        return None
    return None


def check(fmt: str, container: Container, max_pixels: int, max_frames: int) -> None:
    """Refuse more frames than MAX_INPUT_FRAMES, or more pixels (all frames counted)
    than MAX_INPUT_PIXELS."""
    width, height, frames = container.width, container.height, container.frames
    if frames > max_frames:
        raise ImageTooLargeError(
            f"the {fmt} animation has at least {frames:,} frames, over the limit of "
            f"{max_frames:,} (MAX_INPUT_FRAMES); upload a shorter animation or a video"
        )
    pixels = width * height * frames
    if pixels > max_pixels:
        what = f"{frames} frames of {width}x{height}" if frames > 1 else f"{width}x{height}"
        raise ImageTooLargeError(
            f"the {fmt} image is {what} = {pixels:,} pixels, over the limit of "
            f"{max_pixels:,} (MAX_INPUT_PIXELS); upload a smaller image"
        )


def _gif(data: bytes, stop: int) -> Container:
    """Walk the blocks: the largest canvas any frame asks for, and the frames.

    Pillow quirk: a GIF frame may extend past the logical screen, and Pillow then
    grows the whole image (and allocates "dispose" buffers of the frame's size) when
    it seeks to that frame: a 1 KB GIF whose third frame claims 65535 x 65535 would
    allocate 4 GB. The real canvas is the union of the frames.
    """
    width, height = struct.unpack_from("<HH", data, 6)
    frames = 0
    flags = data[10]
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while position < len(data) and frames < stop:
        block = data[position]
        if block == 0x21:  # extension: label, then sub-blocks
            position += 2
        elif block == 0x2C:  # image descriptor: x, y, w, h, flags
            x, y, w, h, flags = struct.unpack_from("<HHHHB", data, position + 1)
            width, height = max(width, x + w), max(height, y + h)
            frames += 1
            position += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
        else:  # trailer (0x3B) or garbage
            break
        while (length := data[position]) != 0:  # sub-blocks, up to the terminator
            position += length + 1
        position += 1
    return Container(width, height, max(frames, 1))


def _webp(data: bytes, stop: int) -> Container | None:
    """RIFF chunks: the canvas (VP8X, or the one bitstream's header), ANMF frames."""
    size: tuple[int, int] | None = None
    frames = 0
    position = 12
    while position + 8 <= len(data) and frames < stop:
        kind = data[position : position + 4]
        length = struct.unpack_from("<I", data, position + 4)[0]
        body = position + 8
        if kind == b"VP8X":
            size = (
                int.from_bytes(data[body + 4 : body + 7], "little") + 1,
                int.from_bytes(data[body + 7 : body + 10], "little") + 1,
            )
        elif kind == b"ANMF":
            frames += 1
        elif kind == b"VP8 " and size is None and data[body + 3 : body + 6] == b"\x9d\x01\x2a":
            w, h = struct.unpack_from("<HH", data, body + 6)
            size = (w & 0x3FFF, h & 0x3FFF)
        elif kind == b"VP8L" and size is None and data[body] == 0x2F:
            bits = struct.unpack_from("<I", data, body + 1)[0]
            size = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        position = body + length + (length & 1)
    return None if size is None else Container(size[0], size[1], max(frames, 1))


def _png(data: bytes) -> Container | None:
    """IHDR's size and acTL's frame count (both precede the first IDAT)."""
    size: tuple[int, int] | None = None
    frames = 1
    position = 8
    while position + 8 <= len(data):
        length = struct.unpack_from(">I", data, position)[0]
        kind = data[position + 4 : position + 8]
        if kind == b"IHDR":
            size = struct.unpack_from(">II", data, position + 8)
        elif kind == b"acTL":
            claimed = struct.unpack_from(">I", data, position + 8)[0]
            # Pillow ignores (renders as a still) what it calls an invalid APNG.
            frames = claimed if 0 < claimed <= 0x80000000 else 1
        elif kind in (b"IDAT", b"IEND"):
            break
        position += 12 + length
    return None if size is None else Container(size[0], size[1], frames)


def merge_repeats(
    frames: Sequence[Image.Image], durations: Sequence[int], longest_ms: int
) -> tuple[list[Image.Image], list[int]]:
    """Identical consecutive frames become one frame showing for their summed time.

    What the encoders would do anyway, minus their overflow: each duration is clamped
    to what the output format can say (``longest_ms``).
    """
    kept: list[Image.Image] = []
    times: list[int] = []
    previous = b""
    for frame, duration in zip(frames, durations, strict=True):
        pixels = frame.tobytes()
        if kept and pixels == previous and kept[-1].size == frame.size:
            times[-1] = min(times[-1] + duration, longest_ms)
            continue
        kept.append(frame)
        times.append(min(duration, longest_ms))
        previous = pixels
    return kept, times


#: Bytes a canvas pixel costs while an animation (or any WebP) decodes: Pillow's frame
#: and its dispose/previous buffers, the RGBA and premultiplied copies, the first
#: resample, and for WebP libwebp's two canvases and the frame it hands over as bytes.
#: Measured 21-30 (tests/reliability/test_hostile_imaging.py checks the estimate).
CANVAS_BYTES_PER_PIXEL = 32
#: The same for a still WebP (no per-frame conversions): measured 16-17.
STILL_WEBP_BYTES_PER_PIXEL = 20


def animation_bytes(canvas: tuple[int, int], frames: int, sizes: Sequence[tuple[int, int]]) -> int:
    """Peak memory of rendering an animation (or a WebP), beyond its compressed bytes.

    The decoding canvas (CANVAS_BYTES_PER_PIXEL, or STILL_WEBP_BYTES_PER_PIXEL for
    one frame); every frame of every rendition held
    until it is encoded (RGBa, 4 bytes a pixel); while the largest is encoded, its
    straight copies and the encoder's palette frames (about 6 bytes a pixel more).
    """
    areas = [width * height for width, height in sizes]
    per_pixel = CANVAS_BYTES_PER_PIXEL if frames > 1 else STILL_WEBP_BYTES_PER_PIXEL
    decoder = canvas[0] * canvas[1] * per_pixel
    return decoder + frames * (4 * sum(areas) + 6 * max(areas, default=0))


DeadlineCheck = Callable[[], None]
