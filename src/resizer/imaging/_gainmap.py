"""HDR gain maps (Ultra HDR JPEG, ISO 21496-1): found in the source, kept in JPEG renditions.

An Ultra HDR JPEG is an SDR JPEG (the primary image) followed by a second JPEG, the
gain map, that HDR displays apply to the primary to rebuild the HDR picture. The two
are tied together by the primary's MPF segment (CIPA DC-007: an index of the images in
the file, with their sizes and offsets) and described by either or both of:

- ISO 21496-1 metadata: an APP2 segment ``urn:iso:std:iso:ts:21496:-1`` in the primary
  (version only) and in the gain map (the gain map's parameters, in binary);
- Adobe's ``hdrgm`` XMP (the Ultra HDR v1 format Android writes): ``hdrgm:Version`` and
  a GContainer directory in the primary's XMP, the parameters in the gain map's XMP.

The parameters say how to apply the map (its range, gamma, offsets, headroom), not where:
the map covers the primary's pixels whatever its resolution. So a rendition keeps HDR
when its gain map goes through the same geometry as its pixels (EXIF orientation, the
fit's scale, the cover crop) at the source map's resolution ratio, and is written with
the source's parameter segments unchanged, a fresh MPF index and, for XMP sources, a
fresh GContainer directory (the map's length changed). Readers built on libultrahdr
(Chrome, Android, libvips' ``uhdrload``) rebuild the HDR picture from that.

Bounded like the rest: the map is read only from offsets inside the file, and a map
with more pixels than the primary is not kept (the rendition is SDR, as before).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from PIL import Image

from resizer.imaging import _metadata
from resizer.imaging._geometry import TRANSPOSE

_SOI = b"\xff\xd8"
_APP1, _APP2 = 0xE1, 0xE2
_ISO = b"urn:iso:std:iso:ts:21496:-1\x00"
_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_MPF = b"MPF\x00"
_HDRGM = b"http://ns.adobe.com/hdr-gain-map/1.0/"
# MPF (CIPA DC-007) tags and the attribute of a baseline primary image (type 0x030000).
_MP_VERSION, _MP_COUNT, _MP_ENTRY = 0xB000, 0xB001, 0xB002
_PRIMARY = 0x030000


@dataclass(frozen=True)
class GainMap:
    """A source's gain map: its JPEG and the segments that describe it."""

    jpeg: bytes  # the gain map image as stored in the source
    primary_segments: bytes  # for each rendition's primary: ISO version (APP2), if any
    map_segments: bytes  # for each rendition's map: its ISO (APP2) and XMP (APP1) segments
    xmp: bool  # the source described it in hdrgm XMP: renditions get a GContainer too


def _segments(data: bytes, start: int = 0) -> list[tuple[int, int, int]]:
    """(marker, offset, end) of each marker segment of the JPEG at ``start``, up to SOS."""
    found: list[tuple[int, int, int]] = []
    at = start + 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xDA:  # start of scan: the headers are over
            break
        end = at + 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
        found.append((marker, at, end))
        at = end
    return found


def _payload(data: bytes, segment: tuple[int, int, int]) -> bytes:
    return data[segment[1] + 4 : segment[2]]


def _mp_offsets(payload: bytes) -> list[tuple[int, int, int]]:
    """(attribute, size, offset) of each MP entry of an MPF payload (after ``MPF\\0``)."""
    order = {b"MM": ">", b"II": "<"}.get(payload[:2])
    if order is None or len(payload) < 8:
        return []
    (ifd,) = struct.unpack(order + "I", payload[4:8])
    if ifd + 2 > len(payload):
        return []
    (count,) = struct.unpack(order + "H", payload[ifd : ifd + 2])
    for index in range(count):
        at = ifd + 2 + 12 * index
        if at + 12 > len(payload):
            return []
        tag, _, length, value = struct.unpack(order + "HHII", payload[at : at + 12])
        if tag == _MP_ENTRY:
            entries = payload[value : value + length]
            return [
                struct.unpack(order + "III", entries[i : i + 12])
                for i in range(0, len(entries) - 15, 16)
            ]
    return []


def kept(data: bytes, hdr: str) -> GainMap | None:
    """The gain map the renditions keep: :func:`find`'s with ``HDR=keep``, else None.
    Read from the bytes, not from what Pillow calls the file: it opens ISO 21496-1
    files as MPO, and Ultra HDR v1 (hdrgm XMP) ones as JPEG ("Ultra HDR images are
    not yet supported")."""
    return find(data) if hdr == "keep" else None


def find(data: bytes) -> GainMap | None:
    """The gain map of an Ultra HDR / ISO 21496-1 JPEG, or None (any other file)."""
    if not data.startswith(_SOI):
        return None
    primary = _segments(data)
    mpf = next((s for s in primary if s[0] == _APP2 and _payload(data, s).startswith(_MPF)), None)
    if mpf is None:
        return None
    header = mpf[1] + 4 + len(_MPF)  # offsets in MP entries count from the TIFF header
    entries = _mp_offsets(_payload(data, mpf)[len(_MPF) :])
    if len(entries) < 2:
        return None
    _, size, offset = entries[1]
    start = header + offset
    if size < 4 or start + size > len(data) or not data[start:].startswith(_SOI):
        return None
    jpeg = data[start : start + size]
    iso = [s for s in primary if s[0] == _APP2 and _payload(data, s).startswith(_ISO)]
    xmp = any(
        s[0] == _APP1 and _payload(data, s).startswith(_XMP) and _HDRGM in _payload(data, s)
        for s in primary
    )
    described = [
        s
        for s in _segments(jpeg)
        if (s[0] == _APP2 and _payload(jpeg, s).startswith(_ISO))
        or (s[0] == _APP1 and _payload(jpeg, s).startswith(_XMP) and _HDRGM in _payload(jpeg, s))
    ]
    if not (iso or xmp) or not described:
        return None  # an MPO of another kind (a stereo pair, a preview): no gain map
    return GainMap(
        jpeg,
        b"".join(data[s[1] : s[2]] for s in iso),
        b"".join(jpeg[s[1] : s[2]] for s in described),
        xmp,
    )


def decode(gain_map: GainMap, primary_size: tuple[int, int]) -> Image.Image | None:
    """The map's pixels (stored orientation), or None when it has more pixels than the
    primary (no real map does; a hostile one would cost memory the budget did not see),
    is neither grey nor RGB, or cannot be decoded."""
    try:
        with Image.open(io.BytesIO(gain_map.jpeg)) as image:
            if image.width * image.height > primary_size[0] * primary_size[1]:
                return None
            if image.mode not in ("L", "RGB"):
                return None
            image.load()
            return image.copy()
    except (OSError, SyntaxError, ValueError):
        return None  # a damaged map: the renditions are SDR, the primary is still a photo


def transform(
    stored: Image.Image,
    *,
    orientation: int,
    upright: tuple[int, int],
    scaled: tuple[int, int],
    box: tuple[int, int, int, int] | None,
    size: tuple[int, int],
) -> Image.Image:
    """The rendition's map: ``stored`` (the source map) upright, scaled like the primary
    (``upright`` -> ``scaled``), cut at ``box`` (in ``scaled`` pixels) and resized so its
    ratio to the rendition's ``size`` is the source map's ratio to the primary (an
    integer, as libultrahdr writes them; at least one pixel)."""
    image = stored.transpose(TRANSPOSE[orientation]) if orientation != 1 else stored
    ratio = max(1, round(upright[0] / image.width))
    left, top, right, bottom = box or (0, 0, scaled[0], scaled[1])
    sx, sy = image.width / scaled[0], image.height / scaled[1]
    target = (max(1, round(size[0] / ratio)), max(1, round(size[1] / ratio)))
    return image.resize(
        target, Image.Resampling.LANCZOS, box=(left * sx, top * sy, right * sx, bottom * sy)
    )


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _mpf(primary_size: int, map_size: int, header_at: int) -> bytes:
    """The primary's MPF segment: two MP entries, the map's offset from the TIFF header
    (which sits ``header_at`` bytes into the primary)."""
    entries_at = 8 + 2 + 3 * 12 + 4
    ifd = struct.pack(">H", 3) + b"".join(
        (
            struct.pack(">HHI4s", _MP_VERSION, 7, 4, b"0100"),
            struct.pack(">HHII", _MP_COUNT, 4, 1, 2),
            struct.pack(">HHII", _MP_ENTRY, 7, 32, entries_at),
        )
    )
    entries = struct.pack(">IIIHH", _PRIMARY, primary_size, 0, 0, 0) + struct.pack(
        ">IIIHH", 0, map_size, primary_size - header_at, 0, 0
    )
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + ifd + struct.pack(">I", 0)
    return _segment(_APP2, _MPF + tiff + entries)


def _container(map_size: int, kept: bytes = b"") -> bytes:
    """The primary's hdrgm XMP: the version and a GContainer directory (Ultra HDR v1),
    merged with the XMP packet METADATA kept (``kept``), as a file holds one packet."""
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'xmlns:Container="http://ns.google.com/photos/1.0/container/" '
        'xmlns:Item="http://ns.google.com/photos/1.0/container/item/" '
        'xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0">'
        "<Container:Directory><rdf:Seq>"
        '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="Primary" '
        'Item:Mime="image/jpeg"/></rdf:li>'
        '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="GainMap" '
        f'Item:Mime="image/jpeg" Item:Length="{map_size}"/></rdf:li>'
        "</rdf:Seq></Container:Directory></rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()
    merged = _metadata.merge_xmp(xmp, kept) if kept else xmp
    return _segment(_APP1, _XMP + (merged if len(merged) <= _metadata.MAX_SEGMENT else xmp))


def _without_xmp(jpeg: bytes) -> tuple[bytes, bytes]:
    """(``jpeg`` without its XMP APP1 segment, that segment's packet or b"")."""
    for segment in _segments(jpeg):
        if segment[0] == _APP1 and _payload(jpeg, segment).startswith(_XMP):
            packet = _payload(jpeg, segment)[len(_XMP) :]
            return jpeg[: segment[1]] + jpeg[segment[2] :], packet
    return jpeg, b""


def attach(primary: bytes, map_jpeg: bytes, gain_map: GainMap) -> bytes:
    """One Ultra HDR JPEG: ``primary`` (a rendition's JPEG) with ``map_jpeg`` (its map,
    encoded) behind it, described by the source's segments, a GContainer for XMP
    sources, and an MPF index. The new segments go after the primary's JFIF (APP0)."""
    mapped = _SOI + gain_map.map_segments + map_jpeg[2:]
    kept = b""
    if gain_map.xmp:  # the primary's XMP (METADATA's) joins the GContainer's packet
        primary, kept = _without_xmp(primary)
    first = _segments(primary)[:1]
    split = first[0][2] if first and first[0][0] == 0xE0 else 2
    container = _container(len(mapped), kept) if gain_map.xmp else b""
    described = gain_map.primary_segments + container
    mpf_length = len(_mpf(0, 0, 0))
    header_at = split + len(described) + 4 + len(_MPF)
    total = len(primary) + len(described) + mpf_length
    head = primary[:split] + described + _mpf(total, len(mapped), header_at)
    return head + primary[split:] + mapped
