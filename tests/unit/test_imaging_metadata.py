"""METADATA (issue 20): rights kept, location and device identity gone, per mode and format.

Sources are real files carrying EXIF, XMP and (JPEG) IPTC, built by tests/support/images.py;
every assertion reads the rendition back with Pillow, or looks for the secret's bytes.
"""

from __future__ import annotations

import io
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from images import (
    RIGHTS,
    SECRETS,
    encode,
    picture,
    rights_exif,
    rights_tagged,
    rights_xmp,
    stored_for,
    with_iptc,
)
from PIL import ExifTags, Image, PngImagePlugin

from resizer.config import Settings, parse_renditions
from resizer.imaging import RenderedImage, render
from resizer.imaging._metadata import MAX_SEGMENT, MAX_XMP_IN, NOTHING, Kept, save_options

OUTPUTS = "jpeg+webp+png+avif"
_DC = "{http://purl.org/dc/elements/1.1/}"


def settings(mode: str, renditions: str = f"a=200x200:format={OUTPUTS}") -> Settings:
    return Settings(renditions=parse_renditions(renditions), metadata=mode)


def exif_of(rendered: RenderedImage) -> dict[str, object]:
    """IFD0, the Exif IFD and the GPS IFD of a rendition, flattened by tag number."""
    with Image.open(io.BytesIO(rendered.data)) as image:
        assert image.format == rendered.format
        exif = image.getexif()
        flat: dict[str, object] = {f"0:{t}": v for t, v in exif.items()}
        flat |= {f"exif:{t}": v for t, v in exif.get_ifd(0x8769).items()}
        flat |= {f"gps:{t}": v for t, v in exif.get_ifd(0x8825).items()}
        return flat


def xmp_of(rendered: RenderedImage) -> str:
    with Image.open(io.BytesIO(rendered.data)) as image:
        raw = image.info.get("xmp", b"")
        return raw.decode() if isinstance(raw, bytes) else str(raw)


def xmp_texts(xmp: str) -> set[str]:
    """Every text and attribute value of an XMP packet (parsed: it must be well-formed)."""
    root = ET.fromstring(xmp.strip())
    texts = {element.text.strip() for element in root.iter() if element.text}
    texts |= {value for element in root.iter() for value in element.attrib.values()}
    return texts - {""}


def assert_no_secrets(rendered: RenderedImage) -> None:
    for name, value in SECRETS.items():
        assert value.encode() not in rendered.data, (rendered.format, name)
    flat = exif_of(rendered)
    assert not [t for t in flat if t.startswith("gps:")], rendered.format
    assert "0:274" not in flat, "the Orientation tag: the pixels are upright already"
    assert "0:34853" not in flat, "no GPS IFD pointer"


# --- per mode and output format ------------------------------------------------------


@pytest.mark.parametrize("source", ["JPEG", "PNG", "WEBP", "AVIF"])
def test_copyright_keeps_the_rights_fields_in_every_output(source: str) -> None:
    """The default: EXIF Artist and Copyright, XMP dc:creator, dc:rights, xmpRights:*."""
    assert Settings().metadata == "copyright"
    rendered = render(rights_tagged(source), settings("copyright"))
    assert [r.format for r in rendered] == ["JPEG", "WEBP", "PNG", "AVIF"]
    for image in rendered:
        assert exif_of(image) == {"0:315": RIGHTS["artist"], "0:33432": RIGHTS["copyright"]}
        texts = xmp_texts(xmp_of(image))
        assert {RIGHTS["xmp_creator"], RIGHTS["xmp_rights"], RIGHTS["usage_terms"]} <= texts
        assert "True" in texts  # xmpRights:Marked, an attribute
        assert RIGHTS["description"] not in texts  # not a rights field
        assert RIGHTS["make"].encode() not in image.data
        assert_no_secrets(image)


@pytest.mark.parametrize("source", ["JPEG", "PNG", "WEBP", "AVIF"])
def test_all_keeps_everything_but_location_and_device_identity(source: str) -> None:
    rendered = render(rights_tagged(source), settings("all"))
    for image in rendered:
        flat = exif_of(image)
        assert flat["0:315"] == RIGHTS["artist"]
        assert flat["0:33432"] == RIGHTS["copyright"]
        assert flat["0:271"] == RIGHTS["make"]
        assert flat["exif:33434"] == RIGHTS["exposure"][0] / RIGHTS["exposure"][1]
        for serial in (42033, 42037, 37500):  # Body/LensSerialNumber, MakerNote
            assert f"exif:{serial}" not in flat
        assert "0:50735" not in flat  # DNG CameraSerialNumber
        texts = xmp_texts(xmp_of(image))
        assert {RIGHTS["xmp_creator"], RIGHTS["xmp_rights"], RIGHTS["description"]} <= texts
        assert_no_secrets(image)


@pytest.mark.parametrize("source", ["JPEG", "PNG", "WEBP", "AVIF"])
def test_none_keeps_nothing(source: str) -> None:
    for image in render(rights_tagged(source), settings("none")):
        assert exif_of(image) == {}
        assert xmp_of(image) == ""
        assert b"Exif\x00\x00" not in image.data
        for value in (*RIGHTS.values(), *SECRETS.values()):
            if isinstance(value, str):
                assert value.encode() not in image.data, (image.format, value)


# --- IPTC ------------------------------------------------------------------------------


def test_iptc_rights_travel_as_xmp_and_its_location_never() -> None:
    """Pillow writes IPTC into no output: By-line and Copyright Notice become dc:creator
    and dc:rights; with "all" the caption becomes dc:description; city and country never."""
    source = with_iptc(encode(picture(320, 240), "JPEG", quality=90))
    for mode, expected, absent in (
        ("copyright", {RIGHTS["iptc_byline"], RIGHTS["iptc_copyright"]}, RIGHTS["iptc_caption"]),
        ("all", {RIGHTS["iptc_byline"], RIGHTS["iptc_copyright"], RIGHTS["iptc_caption"]}, None),
    ):
        for image in render(source, settings(mode)):
            xmp = xmp_of(image)
            assert expected <= xmp_texts(xmp), (mode, image.format)
            assert absent is None or absent not in xmp
            assert f"{_DC}creator" in {e.tag for e in ET.fromstring(xmp).iter()}
            assert SECRETS["iptc_city"].encode() not in image.data
            assert SECRETS["iptc_country"].encode() not in image.data
            assert b"Photoshop 3.0" not in image.data


def test_the_xmp_rights_win_over_the_iptc_ones() -> None:
    """Where the XMP has dc:creator/dc:rights already, the IPTC copies are not added."""
    (image,) = render(rights_tagged("JPEG"), settings("copyright", "a=200x200:format=jpeg"))
    texts = xmp_texts(xmp_of(image))
    assert {RIGHTS["xmp_creator"], RIGHTS["xmp_rights"]} <= texts
    assert RIGHTS["iptc_byline"] not in texts
    assert RIGHTS["iptc_copyright"] not in texts


# --- orientation ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["copyright", "all"])
def test_the_orientation_is_dropped_with_the_pixels_upright(mode: str) -> None:
    source = rights_tagged("JPEG", size=(400, 200), orientation=6)
    (image,) = render(source, settings(mode, "a=400x400:format=jpeg"))
    assert (image.width, image.height) == (400, 200)  # upright
    assert "0:274" not in exif_of(image)
    assert "Orientation" not in xmp_of(image)
    with Image.open(io.BytesIO(image.data)) as opened:
        # The top-left quadrant is red (images.CORNERS): no viewer rotates it again.
        red = opened.convert("RGB").getpixel((50, 50))
        assert isinstance(red, tuple)
        assert red[0] > 150 > red[2]


# --- what each output holds ---------------------------------------------------------------


def test_png_outputs_carry_an_exif_chunk_and_an_xmp_itxt_chunk() -> None:
    (image,) = render(rights_tagged("JPEG"), settings("copyright", "a=200x200:format=png"))
    assert b"eXIf" in image.data
    assert b"iTXtXML:com.adobe.xmp" in image.data


def test_gif_outputs_carry_nothing() -> None:
    kept = Kept(exif=rights_exif(), xmp=rights_xmp())
    assert save_options(kept, "GIF") == {}
    assert set(save_options(kept, "JPEG")) == {"exif", "xmp"}
    assert save_options(NOTHING, "JPEG") == {}


def test_animations_keep_the_metadata_too() -> None:
    frames = [stored_for(1, (120, 80)), stored_for(3, (120, 80))]
    data = encode(
        frames[0], "WEBP", save_all=True, append_images=frames[1:], exif=rights_exif(), lossless=1
    )
    rendered = render(data, settings("copyright", "a=60x60:format=original"))
    assert [r.format for r in rendered] == ["WEBP"]
    with Image.open(io.BytesIO(rendered[0].data)) as image:
        assert image.n_frames == 2
    assert exif_of(rendered[0]) == {"0:315": RIGHTS["artist"], "0:33432": RIGHTS["copyright"]}


# --- bad and hostile metadata -------------------------------------------------------------


def _png_with_xmp(xmp: str, exif: bytes = b"") -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp, zip=False)
    options: dict[str, object] = {"pnginfo": info}
    if exif:
        options["exif"] = exif
    return encode(picture(160, 120), "PNG", **options)


_RDF_OPEN = (
    "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
    "xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
    "xmlns:dc='http://purl.org/dc/elements/1.1/'>"
)
_RDF_CLOSE = "</rdf:Description></rdf:RDF></x:xmpmeta>"


@pytest.mark.parametrize(
    "xmp",
    [
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF",  # truncated
        "not xml at all",
        # A billion-laughs declaration: refused before parsing.
        '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'>&b;</x:xmpmeta>",
        # Well-formed, without rdf:RDF.
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><nothing/></x:xmpmeta>",
        "x" * (MAX_XMP_IN + 1),
        # Nested 30,000 deep (under MAX_XMP_IN): no recursion limit reached unhandled.
        _RDF_OPEN
        + "<dc:description>"
        + "<a>" * 30_000
        + "</a>" * 30_000
        + "</dc:description>"
        + _RDF_CLOSE,
        # 10,000 rights properties: too large for a JPEG segment even as copyright.
        _RDF_OPEN + "<dc:rights>r</dc:rights>" * 10_000 + _RDF_CLOSE,
    ],
    ids=["truncated", "not-xml", "entities", "no-rdf", "too-large", "deep", "wide"],
)
def test_bad_xmp_is_dropped_and_the_rendition_made(xmp: str) -> None:
    rendered = render(_png_with_xmp(xmp, rights_exif()), settings("all"))
    assert len(rendered) == 4
    for image in rendered:
        assert xmp_of(image) == ""
        assert exif_of(image)["0:315"] == RIGHTS["artist"]


def test_metadata_too_large_for_a_jpeg_segment_falls_back_to_the_rights_fields() -> None:
    exif = Image.Exif()
    exif[0x013B] = RIGHTS["artist"]
    exif[0x010E] = "d" * (MAX_SEGMENT + 1000)  # ImageDescription: 66 KB
    padding = "<dc:description>" + "p" * (MAX_SEGMENT + 1000) + "</dc:description>"
    xmp = rights_xmp().decode().replace("</rdf:Description>", padding + "</rdf:Description>")
    data = _png_with_xmp(xmp, exif.tobytes())
    for image in render(data, settings("all")):  # JPEG among them: it would not fit
        assert exif_of(image) == {"0:315": RIGHTS["artist"]}
        texts = xmp_texts(xmp_of(image))
        assert RIGHTS["xmp_rights"] in texts
        assert RIGHTS["description"] not in texts


# --- Ultra HDR sources (HDR=keep): one XMP packet, the structure never copied ---------------

_STRUCTURE_XMP = (
    b' xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/"'
    b' xmlns:Container="http://ns.google.com/photos/1.0/container/"'
    b' xmlns:Item="http://ns.google.com/photos/1.0/container/item/" hdrgm:Version="1.0"'
)
_STALE_DIRECTORY = (
    b'<Container:Directory><rdf:Seq><rdf:li rdf:parseType="Resource"><Container:Item '
    b'Item:Semantic="GainMap" Item:Mime="image/jpeg" Item:Length="1"/></rdf:li>'
    b"</rdf:Seq></Container:Directory>"
)


def _android_xmp() -> bytes:
    """The rights XMP plus what Android's camera writes: hdrgm and a GContainer directory
    (here a stale one: its length is the source's map's)."""
    marked = b' xmpRights:Marked="True"'
    xmp = rights_xmp().replace(marked, marked + _STRUCTURE_XMP)
    return xmp.replace(b"<dc:creator>", _STALE_DIRECTORY + b"<dc:creator>")


@pytest.mark.parametrize("mode", ["copyright", "all"])
def test_the_files_structure_in_xmp_is_never_copied(mode: str) -> None:
    """hdrgm and GContainer describe the source file (its gain map's length), not the
    picture: _gainmap writes them afresh where a rendition keeps the map."""
    data = encode(picture(320, 240), "JPEG", xmp=_android_xmp())
    for image in render(data, settings(mode)):
        xmp = xmp_of(image)
        assert RIGHTS["xmp_rights"] in xmp_texts(xmp)
        assert "Container" not in xmp
        assert "hdrgm" not in xmp


def test_an_ultra_hdr_primary_holds_one_xmp_packet_with_the_rights_and_the_container() -> None:
    """A v1 (hdrgm XMP) source's JPEG renditions get a GContainer packet: what METADATA
    kept joins it (a file holds one XMP packet)."""
    pytest.importorskip("pyvips")
    from images import ultra_hdr

    from resizer.imaging import _gainmap

    photo = Path(__file__).parents[2] / "examples" / "photos" / "Wine_by_Jakkub_Mede.jpg"
    found = _gainmap.find(ultra_hdr(str(photo), 600))
    assert found is not None
    v1 = _gainmap.GainMap(found.jpeg, b"", found.map_segments, xmp=True)
    (rendition,) = render(
        encode(picture(320, 240), "JPEG", xmp=_android_xmp()),
        settings("copyright", "a=300x300:format=jpeg"),
    )
    data = _gainmap.attach(rendition.data, found.jpeg, v1)
    again = _gainmap.find(data)
    assert again is not None
    assert again.xmp
    primary = data[: len(data) - len(again.jpeg)]
    assert primary.count(b"http://ns.adobe.com/xap/1.0/\x00") == 1
    with Image.open(io.BytesIO(data)) as image:
        xmp = image.info["xmp"].decode()
    assert {RIGHTS["xmp_creator"], RIGHTS["xmp_rights"]} <= xmp_texts(xmp)
    assert f'Item:Length="{len(again.jpeg)}"' in xmp
    assert 'Item:Length="1"' not in xmp


# --- always dropped: embedded thumbnails and the source's size ------------------------------


def _exif_with_thumbnail(thumbnail: bytes) -> bytes:
    """A little-endian EXIF whose IFD0 holds Artist and PixelXDimension-free camera
    fields, and whose IFD1 points at ``thumbnail`` (as cameras write it; Pillow writes
    no IFD1, so the bytes are laid out here)."""
    artist = RIGHTS["artist"].encode() + b"\x00"
    ifd0_at, ifd0_size = 8, 2 + 12 + 4
    ifd1_at, ifd1_size = ifd0_at + ifd0_size, 2 + 2 * 12 + 4
    artist_at = ifd1_at + ifd1_size
    thumbnail_at = artist_at + len(artist)
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x013B, 2, len(artist), artist_at)
    ifd0 += struct.pack("<I", ifd1_at)
    ifd1 = struct.pack("<H", 2) + struct.pack("<HHII", 0x0201, 4, 1, thumbnail_at)
    ifd1 += struct.pack("<HHII", 0x0202, 4, 1, len(thumbnail)) + struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", ifd0_at) + ifd0 + ifd1 + artist + thumbnail
    return b"Exif\x00\x00" + tiff  # as an APP1 payload (Pillow adds no prefix to bytes)


def test_embedded_thumbnails_and_the_sources_size_are_always_dropped() -> None:
    """IFD1's thumbnail and xmp:Thumbnails show the whole, uncropped source; the size
    fields name the source's size, not the rendition's."""
    thumbnail = encode(picture(160, 120), "JPEG", quality=50, comment=b"THUMBNAIL-MARK")
    exif_bytes = _exif_with_thumbnail(thumbnail)
    xmp = rights_xmp().replace(
        b"<dc:creator>",
        b'<xmp:Thumbnails xmlns:xmp="http://ns.adobe.com/xap/1.0/">XMP-THUMBNAIL-DATA'
        b"</xmp:Thumbnails><exif:PixelXDimension>320</exif:PixelXDimension><dc:creator>",
    )
    data = encode(picture(320, 240), "JPEG", exif=exif_bytes, xmp=xmp)
    with Image.open(io.BytesIO(data)) as source:
        assert source.getexif().get_ifd(ExifTags.IFD.IFD1)  # IFD1 is there
    exif_ifd = Image.Exif()
    for image in render(data, settings("all")):
        assert exif_of(image)["0:315"] == RIGHTS["artist"]
        assert b"THUMBNAIL-MARK" not in image.data
        with Image.open(io.BytesIO(image.data)) as opened:
            assert not opened.getexif().get_ifd(ExifTags.IFD.IFD1)
        xmp_text = xmp_of(image)
        assert "XMP-THUMBNAIL-DATA" not in xmp_text
        assert "PixelXDimension" not in xmp_text
        assert RIGHTS["description"] in xmp_texts(xmp_text)
    # The EXIF size fields too.
    exif_ifd.get_ifd(0x8769).update({0xA002: 320, 0xA003: 240, 0x829A: 0.01})
    exif_ifd[0x013B] = RIGHTS["artist"]
    sized = encode(picture(320, 240), "JPEG", exif=exif_ifd.tobytes())
    for image in render(sized, settings("all")):
        flat = exif_of(image)
        assert "exif:40962" not in flat
        assert "exif:40963" not in flat
        assert "exif:33434" in flat


def test_a_tiffs_own_layout_tags_are_not_copied_as_exif() -> None:
    """A TIFF's IFD0 is also its EXIF: with "all", the camera fields stay, the tags that
    lay out the TIFF's strips (and hold its XMP, ICC) do not."""
    exif = Image.Exif()
    exif.update({0x013B: RIGHTS["artist"], 0x010F: RIGHTS["make"]})
    buffer = io.BytesIO()
    exif[0x02BC] = rights_xmp()  # XMP lives in IFD0 in a TIFF
    picture(320, 240).save(buffer, "TIFF", exif=exif, compression="tiff_lzw")
    for image in render(buffer.getvalue(), settings("all")):
        flat = exif_of(image)
        assert (flat["0:315"], flat["0:271"]) == (RIGHTS["artist"], RIGHTS["make"])
        # Compression, StripOffsets, StripByteCounts, BitsPerSample, XMP: gone.
        assert not {"0:259", "0:273", "0:279", "0:258", "0:700"} & set(flat), flat
        assert RIGHTS["xmp_rights"] in xmp_texts(xmp_of(image))
