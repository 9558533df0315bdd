"""A JPEG's structure read from its markers, before a single pixel is decoded.

Two decisions need it: the scan limit (a progressive JPEG can repeat a scan
thousands of times, and every scan walks the whole image again, so the decode cost
grows with scans x pixels, not with bytes) and the memory estimate (a progressive
JPEG keeps every DCT coefficient of the whole image until its last scan; how many
depends on the chroma subsampling). Reading the markers costs a regex search per
marker over the entropy-coded data, in C: milliseconds even for a 20 MB file.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass

from resizer.errors import ImageTooLargeError

# A marker inside entropy-coded data: 0xFF followed by anything but 0x00 (a stuffed
# 0xFF byte), 0xFF (fill) or RST0-7 (restart markers carry no segment).
_NEXT_MARKER = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")
_SOS = 0xDA
_EOI = 0xD9
# SOF markers: 0xC0-0xCF except DHT (C4), JPG (C8) and DAC (CC). Progressive: C2,
# C6, CA, CE (Huffman and arithmetic, with or without hierarchy).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
# Markers without a length field: TEM, RST0-7, SOI, EOI.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xDA)})
_COEFFICIENT_BYTES = 64 * 2  # one 8x8 block of 16-bit DCT coefficients


# Huffman-coded DCT frames (baseline, extended, progressive): what TurboJPEG's
# scaled decode handles; arithmetic-coded and lossless frames stay with Pillow.
HUFFMAN_DCT = frozenset({0xC0, 0xC1, 0xC2})


@dataclass(frozen=True)
class JpegInfo:
    width: int
    height: int
    sof: int  # the start-of-frame marker (0xC0 baseline, 0xC2 progressive, ...)
    sampling: tuple[tuple[int, int], ...]  # (horizontal, vertical) factor per component
    scans: int  # start-of-scan markers counted, up to the limit + 1

    @property
    def progressive(self) -> bool:
        return self.sof in _PROGRESSIVE

    @property
    def buffered(self) -> bool:
        """libjpeg holds the whole image's coefficients: progressive or multi-scan."""
        return self.progressive or self.scans > 1

    def coefficient_bytes(self) -> int:
        """libjpeg's whole-image coefficient buffer (what a progressive decode holds).

        Per component: its blocks, rounded up to whole MCUs, 128 bytes each. 4:2:0
        colour gives 3 bytes per pixel, 4:4:4 gives 6, greyscale 2.
        """
        h_max = max(h for h, _ in self.sampling)
        v_max = max(v for _, v in self.sampling)
        total = 0
        for h, v in self.sampling:
            columns = math.ceil(math.ceil(self.width * h / h_max) / 8)
            rows = math.ceil(math.ceil(self.height * v / v_max) / 8)
            total += (math.ceil(columns / h) * h) * (math.ceil(rows / v) * v)
        return total * _COEFFICIENT_BYTES


def read(data: bytes, scan_limit: int) -> JpegInfo | None:
    """The frame header and the scan count of ``data``; None without a frame header.

    Counting stops at ``scan_limit + 1`` scans. Damage is the decoder's to report:
    the walk stops where the structure breaks and returns what it found.
    """
    frame: tuple[int, int, int, tuple[tuple[int, int], ...]] | None = None
    scans = 0
    position = 2  # after SOI
    try:
        while position + 4 <= len(data) and scans <= scan_limit:
            if data[position] != 0xFF:
                break
            marker = data[position + 1]
            if marker == 0xFF:  # fill byte before a marker
                position += 1
                continue
            if marker == _EOI:
                break
            if marker in _STANDALONE:
                position += 2
                continue
            (length,) = struct.unpack_from(">H", data, position + 2)
            if marker in _SOF and frame is None:
                frame = _frame(data, position + 4, marker)
            end = position + 2 + length
            if marker == _SOS:
                scans += 1
                found = _NEXT_MARKER.search(data, end)
                end = found.start() if found else len(data)
            position = end
    except (IndexError, struct.error):
        pass
    if frame is None:
        return None
    width, height, sof, sampling = frame
    return JpegInfo(width, height, sof, sampling, scans)


def checked(data: bytes, max_scans: int) -> JpegInfo | None:
    """:func:`read`, refusing a JPEG of more than ``max_scans`` scans (MAX_JPEG_SCANS)."""
    info = read(data, max_scans)
    if info is not None and info.scans > max_scans:
        raise ImageTooLargeError(
            f"the JPEG has more than {max_scans} scans (MAX_JPEG_SCANS; photos have about "
            "10): every scan decodes the whole image again, so it would take minutes; "
            "re-encode it (for example as a baseline JPEG)"
        )
    return info


def _frame(
    data: bytes, offset: int, marker: int
) -> tuple[int, int, int, tuple[tuple[int, int], ...]] | None:
    _precision, height, width, count = struct.unpack_from(">BHHB", data, offset)
    sampling = []
    for index in range(count):
        factors = data[offset + 6 + 3 * index + 1]
        horizontal, vertical = factors >> 4, factors & 0x0F
        if not (1 <= horizontal <= 4 and 1 <= vertical <= 4):
            return None  # the decoder will refuse it with its own message
        sampling.append((horizontal, vertical))
    if not sampling or width < 1 or height < 1:
        return None
    return width, height, marker, tuple(sampling)
