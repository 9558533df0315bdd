"""What of the source's EXIF, XMP and IPTC a rendition keeps: the METADATA setting.

* ``copyright``: EXIF Artist and Copyright; XMP ``dc:creator``, ``dc:rights`` and every
  ``xmpRights:`` property; IPTC By-line and Copyright Notice.
* ``all``: everything except location (the EXIF GPS IFD, XMP ``exif:GPS*`` and the IPTC
  Core location properties) and device identity (body, camera and lens serial numbers
  in EXIF and XMP, maker notes).
* ``none``: nothing.

In every mode the orientation (EXIF and XMP ``tiff:Orientation``: the pixels are upright
already), the source's size fields (a rendition has its own size) and embedded
thumbnails (EXIF IFD1, ``xmp:Thumbnails``: they show the uncropped source) are dropped.

IPTC-IIM (the JPEG APP13 block) is never written: Pillow writes it into none of the
output formats. Its kept fields travel as their XMP equivalents instead (the IPTC Photo
Metadata standard's mapping: By-line -> ``dc:creator``, Copyright Notice ->
``dc:rights``; with ``all`` also title, caption, keywords, headline, credit, source and
instructions), added when the XMP lacks them. IIM location fields are never carried.

What each output holds (:func:`save_options`): JPEG, WebP and AVIF get EXIF and XMP,
PNG an ``eXIf`` chunk and an XMP ``iTXt`` chunk, GIF nothing.

Metadata is the source's word, not resizer's: a part that cannot be parsed (or is
hostile: an XML DOCTYPE, more than :data:`MAX_XMP_IN` bytes) is dropped, and the
rendition is made without it. A part too large for a JPEG segment falls back to the
copyright fields alone, then to nothing.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageFile, IptcImagePlugin, PngImagePlugin

from resizer.config import METADATA_MODES

#: XMP larger than this in the source is dropped unread.
MAX_XMP_IN = 256 * 1024
#: A JPEG APP1 segment holds 65,533 bytes less its identifier; kept metadata stays below.
MAX_SEGMENT = 65_000

# EXIF tags (CIPA DC-008 Exif 2.32; TIFF 6.0).
_ARTIST, _COPYRIGHT = 0x013B, 0x8298
_ORIENTATION = 0x0112
_EXIF_IFD, _GPS_IFD, _INTEROP_IFD = 0x8769, 0x8825, 0xA005
_SIZE_TAGS = frozenset({0x0100, 0x0101, 0xA002, 0xA003})  # Image/Pixel X/Y dimension
# Device identity: BodySerialNumber, LensSerialNumber, MakerNote; and DNG's
# CameraSerialNumber, which names the same body in IFD0.
_DEVICE_TAGS = frozenset({0xA431, 0xA435, 0x927C, 0xC62F})
# A TIFF source's IFD0 is its EXIF too: the tags that lay out its pixels (strips, tiles,
# compression, samples, sub-IFDs, the JPEG thumbnail's offset) describe that file, and
# those holding other blocks are written by their own rules or not at all (XMP, IPTC,
# Photoshop's resources and layers, the ICC profile: _colour).
_FILE_TAGS = frozenset(
    {
        *range(0x00FE, 0x0104),  # NewSubfileType, SubfileType, size, BitsPerSample, Compression
        0x0106,  # PhotometricInterpretation
        0x0111,  # StripOffsets
        *range(0x0115, 0x0118),  # SamplesPerPixel, RowsPerStrip, StripByteCounts
        0x011C,  # PlanarConfiguration
        0x0140,  # ColorMap
        *range(0x0142, 0x0146),  # TileWidth, TileLength, TileOffsets, TileByteCounts
        0x014A,  # SubIFDs
        *range(0x0152, 0x0154),  # ExtraSamples, SampleFormat
        0x0201,  # JPEGInterchangeFormat (a thumbnail)
        0x0202,  # JPEGInterchangeFormatLength
        0x02BC,  # XMP
        0x83BB,  # IPTC
        0x8649,  # Photoshop image resources
        0x8773,  # ICC profile
        0x935C,  # Photoshop ImageSourceData (layers)
    }
)
_IFD0_DROPPED = frozenset(
    {_ORIENTATION, _EXIF_IFD, _GPS_IFD, *_SIZE_TAGS, *_DEVICE_TAGS, *_FILE_TAGS}
)

# XMP namespaces.
_X = "adobe:ns:meta/"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XML = "http://www.w3.org/XML/1998/namespace"
_DC = "http://purl.org/dc/elements/1.1/"
_XMP_RIGHTS = "http://ns.adobe.com/xap/1.0/rights/"
_XMP = "http://ns.adobe.com/xap/1.0/"
_EXIF = "http://ns.adobe.com/exif/1.0/"
_EXIF_EX = "http://cipa.jp/exif/1.0/"
_AUX = "http://ns.adobe.com/exif/1.0/aux/"
_TIFF = "http://ns.adobe.com/tiff/1.0/"
_PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
_IPTC_CORE = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
_XMP_NOTE = "http://ns.adobe.com/xmp/note/"
_PREFIXES = {
    "x": _X,
    "rdf": _RDF,
    "dc": _DC,
    "xmpRights": _XMP_RIGHTS,
    "xmp": _XMP,
    "exif": _EXIF,
    "exifEX": _EXIF_EX,
    "aux": _AUX,
    "tiff": _TIFF,
    "photoshop": _PHOTOSHOP,
    "Iptc4xmpCore": _IPTC_CORE,
    "Iptc4xmpExt": _IPTC_EXT,
    "xmpNote": _XMP_NOTE,
    # The prefixes Ultra HDR readers (libultrahdr) look for by name, in _gainmap's packet.
    "hdrgm": "http://ns.adobe.com/hdr-gain-map/1.0/",
    "Container": "http://ns.google.com/photos/1.0/container/",
    "Item": "http://ns.google.com/photos/1.0/container/item/",
    "GCamera": "http://ns.google.com/photos/1.0/camera/",
}
# The file's structure, not the picture's: an Ultra HDR gain map's hdrgm and GContainer
# properties (written afresh by _gainmap, or not at all), Google's camera properties
# (motion photos: the video is not in a rendition).
_STRUCTURE = frozenset(_PREFIXES[name] for name in ("hdrgm", "Container", "Item", "GCamera"))
for _prefix, _uri in _PREFIXES.items():
    ET.register_namespace(_prefix, _uri)  # at import, once: the serialiser's prefixes

# (namespace, property) dropped in every mode, and with "all": location and device.
_ALWAYS_DROPPED = frozenset(
    {
        (_TIFF, "Orientation"),
        (_TIFF, "ImageWidth"),
        (_TIFF, "ImageLength"),
        (_EXIF, "PixelXDimension"),
        (_EXIF, "PixelYDimension"),
        (_XMP, "Thumbnails"),
        (_XMP_NOTE, "HasExtendedXMP"),  # extended XMP is not carried
    }
)
_LOCATION = frozenset(
    {
        (_PHOTOSHOP, "City"),
        (_PHOTOSHOP, "State"),
        (_PHOTOSHOP, "Country"),
        (_IPTC_CORE, "Location"),
        (_IPTC_CORE, "CountryCode"),
        (_IPTC_EXT, "LocationCreated"),
        (_IPTC_EXT, "LocationShown"),
    }
)
_DEVICE = frozenset(
    {
        (_EXIF_EX, "BodySerialNumber"),
        (_EXIF_EX, "LensSerialNumber"),
        (_AUX, "SerialNumber"),
        (_AUX, "LensSerialNumber"),
    }
)

# IPTC-IIM datasets (record 2) carried as XMP: (dataset, namespace, property, container).
_IPTC_RIGHTS = ((80, _DC, "creator", "Seq"), (116, _DC, "rights", "Alt"))
_IPTC_DESCRIPTIVE = (
    (5, _DC, "title", "Alt"),
    (120, _DC, "description", "Alt"),
    (25, _DC, "subject", "Bag"),
    (105, _PHOTOSHOP, "Headline", ""),
    (110, _PHOTOSHOP, "Credit", ""),
    (115, _PHOTOSHOP, "Source", ""),
    (40, _PHOTOSHOP, "Instructions", ""),
)
_UTF8_ESCAPE = b"\x1b%G"  # IIM 1:90, coded character set: UTF-8

# What Pillow, or the bytes it reads, may raise on malformed metadata.
_PARSE_ERRORS = (
    ET.ParseError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OSError,
    SyntaxError,
    EOFError,
    struct.error,
    RecursionError,
)


@dataclass(frozen=True)
class Kept:
    """The metadata every rendition of one source carries (encoded, ready to write)."""

    exif: bytes = b""
    xmp: bytes = b""


NOTHING = Kept()


def _copyright_exif(source: Image.Exif) -> Image.Exif:
    kept = Image.Exif()
    for tag in (_ARTIST, _COPYRIGHT):
        if source.get(tag):
            kept[tag] = source[tag]
    return kept


def _all_exif(source: Image.Exif) -> Image.Exif:
    kept = Image.Exif()
    for tag, value in source.items():
        if tag not in _IFD0_DROPPED:
            kept[tag] = value
    sub = {k: v for k, v in source.get_ifd(_EXIF_IFD).items() if k not in _DEVICE_TAGS}
    sub = {k: v for k, v in sub.items() if k not in _SIZE_TAGS and k != _INTEROP_IFD}
    interop = source.get_ifd(_INTEROP_IFD)
    if interop:
        sub[_INTEROP_IFD] = interop
    if sub:
        kept.get_ifd(_EXIF_IFD).update(sub)
    return kept


def _exif(image: Image.Image, mode: str) -> bytes:
    try:
        source = image.getexif()
        for attempt in ((_all_exif,) if mode == "all" else ()) + (_copyright_exif,):
            kept = attempt(source)
            data = kept.tobytes() if len(kept) or kept.get_ifd(_EXIF_IFD) else b""
            if len(data) <= MAX_SEGMENT:
                return data
    except _PARSE_ERRORS:
        pass
    return b""


def _keeps(name: str, mode: str) -> bool:
    """Whether a top-level XMP property ``{namespace}local`` stays in ``mode``."""
    namespace, _, local = name[1:].partition("}")
    key = (namespace, local)
    if key in _ALWAYS_DROPPED or namespace in _STRUCTURE:
        return False
    if mode == "copyright":
        return key in ((_DC, "creator"), (_DC, "rights")) or namespace == _XMP_RIGHTS
    if namespace == _EXIF and local.startswith("GPS"):
        return False
    return key not in _LOCATION and key not in _DEVICE


def _descriptions(root: ET.Element) -> tuple[ET.Element, list[ET.Element]]:
    """(rdf:RDF, its rdf:Description elements), the packet normalised under x:xmpmeta."""
    rdf = root if root.tag == f"{{{_RDF}}}RDF" else root.find(f"{{{_RDF}}}RDF")
    if rdf is None:
        raise ValueError("no rdf:RDF in the XMP packet")
    return rdf, list(rdf.findall(f"{{{_RDF}}}Description"))


def _filter(rdf: ET.Element, descriptions: Iterable[ET.Element], mode: str) -> None:
    """Drop every property ``mode`` does not keep; drop anything else rdf:RDF holds."""
    for child in list(rdf):
        if child.tag != f"{{{_RDF}}}Description":
            rdf.remove(child)
    for description in descriptions:
        for name in list(description.attrib):
            structural = name.startswith(("{" + _RDF, "{" + _XML)) or not name.startswith("{")
            if not structural and not _keeps(name, mode):
                del description.attrib[name]
        for child in list(description):
            if not _keeps(child.tag, mode):
                description.remove(child)


def _has_properties(rdf: ET.Element) -> bool:
    for description in rdf:
        named = [n for n in description.attrib if not n.startswith(("{" + _RDF, "{" + _XML))]
        if named or len(description):
            return True
    return False


def _present(rdf: ET.Element) -> set[tuple[str, str]]:
    found = set()
    for description in rdf:
        names = [*description.attrib, *(child.tag for child in description)]
        for name in names:
            namespace, _, local = name[1:].partition("}")
            found.add((namespace, local))
    return found


def _iptc_text(value: bytes, utf8: bool) -> str:
    if utf8:
        return value.decode("utf-8", "replace")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


_Property = tuple[str, str, str, list[str]]  # namespace, name, container, values


def _iptc_properties(image: ImageFile.ImageFile, mode: str) -> list[_Property]:
    """(namespace, property, container, values) for the IPTC-IIM datasets ``mode`` keeps."""
    try:
        info: dict[tuple[int, int], Any] = IptcImagePlugin.getiptcinfo(image) or {}
    except _PARSE_ERRORS:
        return []
    charset = info.get((1, 90), b"")
    utf8 = _UTF8_ESCAPE in (charset if isinstance(charset, bytes) else b"")
    wanted = _IPTC_RIGHTS + (_IPTC_DESCRIPTIVE if mode == "all" else ())
    found = []
    for dataset, namespace, local, container in wanted:
        raw = info.get((2, dataset))
        values = raw if isinstance(raw, list) else [raw] if raw else []
        texts = [_iptc_text(v, utf8).strip() for v in values if isinstance(v, bytes)]
        texts = [text for text in texts if text]
        if texts:
            found.append((namespace, local, container, texts if container else texts[:1]))
    return found


def _add_iptc(rdf: ET.Element, properties: list[_Property]) -> None:
    present = _present(rdf)
    description: ET.Element | None = None
    for namespace, local, container, values in properties:
        if (namespace, local) in present:
            continue  # the XMP says it already (and XMP is the newer word)
        if description is None:
            description = ET.SubElement(rdf, f"{{{_RDF}}}Description", {f"{{{_RDF}}}about": ""})
        prop = ET.SubElement(description, f"{{{namespace}}}{local}")
        if not container:
            prop.text = values[0]
            continue
        holder = ET.SubElement(prop, f"{{{_RDF}}}{container}")
        for value in values:
            item = ET.SubElement(holder, f"{{{_RDF}}}li")
            item.text = value
            if container == "Alt":
                item.set(f"{{{_XML}}}lang", "x-default")


def _packet(rdf: ET.Element) -> bytes:
    meta = ET.Element(f"{{{_X}}}xmpmeta")
    meta.append(rdf)
    body = ET.tostring(meta, encoding="unicode")
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>' + body + '<?xpacket end="r"?>'
    ).encode()


def _source_xmp(image: Image.Image) -> str:
    """The source's XMP packet as text; "" when absent, too large or declaring entities."""
    raw = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    if len(raw) > MAX_XMP_IN:
        return ""
    text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8")  # XMP is UTF-8
    text = text.strip("\x00 \t\r\n")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        return ""  # entities are how XML bombs work; XMP never needs them
    return text


def _xmp_for(source: str, iptc: list[_Property], mode: str) -> bytes:
    if source:
        # Parsed from text without a DOCTYPE (_source_xmp): no entity can be declared,
        # and ElementTree resolves no external ones.
        root = ET.fromstring(source)  # noqa: S314 - see above
        rdf, descriptions = _descriptions(root)
        _filter(rdf, descriptions, mode)
    else:
        rdf = ET.Element(f"{{{_RDF}}}RDF")
    _add_iptc(rdf, iptc)
    return _packet(rdf) if _has_properties(rdf) else b""


def _xmp(image: ImageFile.ImageFile, mode: str) -> bytes:
    try:
        source = _source_xmp(image)
    except (*_PARSE_ERRORS, UnicodeError):
        source = ""
    for attempt in ("all", "copyright") if mode == "all" else ("copyright",):
        iptc = _iptc_properties(image, attempt)
        try:
            data = _xmp_for(source, iptc, attempt)
        except _PARSE_ERRORS:
            data = _xmp_for("", iptc, attempt)  # unreadable XMP: the IPTC alone
        if len(data) <= MAX_SEGMENT:
            return data
    return b""


def merge_xmp(packet: bytes, kept: bytes) -> bytes:
    """One XMP packet: ``packet`` (written by resizer: _gainmap's GContainer) with the
    rdf:Description elements of ``kept`` (this module's output) added; a file holds one."""
    rdf, _ = _descriptions(ET.fromstring(packet))  # noqa: S314 - resizer's own XML
    for description in _descriptions(ET.fromstring(kept))[1]:  # noqa: S314 - likewise
        rdf.append(description)
    return _packet(rdf)


def read(image: ImageFile.ImageFile, mode: str) -> Kept:
    """What the renditions of ``image`` (opened, its header parsed) keep in ``mode``."""
    if mode not in METADATA_MODES:
        raise ValueError(f"unknown metadata mode {mode!r}")
    if mode == "none":
        return NOTHING
    return Kept(exif=_exif(image, mode), xmp=_xmp(image, mode))


def save_options(kept: Kept, output_format: str) -> dict[str, Any]:
    """Pillow save() options that write ``kept`` into an ``output_format`` file."""
    options: dict[str, Any] = {}
    if output_format in ("JPEG", "WEBP", "AVIF"):
        if kept.exif:
            options["exif"] = kept.exif
        if kept.xmp:
            options["xmp"] = kept.xmp
    elif output_format == "PNG":
        if kept.exif:
            options["exif"] = kept.exif  # an eXIf chunk
        if kept.xmp:
            info = PngImagePlugin.PngInfo()
            info.add_itxt("XML:com.adobe.xmp", kept.xmp.decode(), zip=False)
            options["pnginfo"] = info
    return options  # GIF: Pillow writes neither EXIF nor XMP into it
