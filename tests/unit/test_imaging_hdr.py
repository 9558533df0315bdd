"""HDR gain maps (resizer.imaging._gainmap): Ultra HDR sources give Ultra HDR JPEG renditions.

The fixtures are written by libvips' ``uhdrsave`` (libultrahdr, a dev dependency only:
pyvips-binary) from a real photo whose highlights are pushed above SDR white, and read
back with ``uhdrload`` + ``uhdr2scRGB``: what Chrome and Android do with the file.
"""

from __future__ import annotations

import io
from pathlib import Path

import images
import numpy as np
import pytest
from PIL import Image

from resizer.config import Settings, fingerprint, parse_renditions
from resizer.errors import ConfigurationError
from resizer.imaging import _admission, _gainmap, render

pyvips = pytest.importorskip("pyvips")

PHOTO = Path(__file__).parents[2] / "examples" / "photos" / "Wine_by_Jakkub_Mede.jpg"
RENDITIONS = "thumb=200x200:cover,hero=600x:format=jpeg+webp,wide=300x100:cover"


#: A gain map's hdrgm XMP segment (APP1), as Ultra HDR v1 (Android) writes one.
_XMP = (
    b"http://ns.adobe.com/xap/1.0/\x00"
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
    b'xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0" '
    b'hdrgm:GainMapMax="2.0"/></rdf:RDF></x:xmpmeta>'
)
HDRGM_XMP = b"\xff\xe1" + (len(_XMP) + 2).to_bytes(2, "big") + _XMP


def ultra_hdr(width: int = 900, orientation: int = 1) -> bytes:
    return images.ultra_hdr(str(PHOTO), width, orientation)


def scrgb(data: bytes) -> np.ndarray:
    """The HDR picture a libultrahdr reader rebuilds (linear light, 1.0 = SDR white)."""
    image = pyvips.Image.uhdrload_buffer(data).uhdr2scRGB()
    return np.asarray(image.numpy()[..., :3], dtype=np.float64)


def gain_map_size(data: bytes) -> tuple[int, int]:
    gain_map = _gainmap.find(data)
    assert gain_map is not None
    with Image.open(io.BytesIO(gain_map.jpeg)) as image:
        return image.size


@pytest.fixture(scope="module")
def source() -> bytes:
    return ultra_hdr()


def settings(**env: str) -> Settings:
    return Settings.from_env({"RENDITIONS": RENDITIONS, **env})


def test_find_reads_the_map_only_from_ultra_hdr_files(source: bytes) -> None:
    gain_map = _gainmap.find(source)
    assert gain_map is not None
    assert gain_map.jpeg.startswith(b"\xff\xd8")
    assert b"urn:iso:std:iso:ts:21496:-1" in gain_map.map_segments
    assert _gainmap.find(PHOTO.read_bytes()) is None  # a plain JPEG
    # An MPO of another kind (two frames, no gain-map metadata): not a gain map.
    buffer = io.BytesIO()
    with Image.open(PHOTO) as photo:
        small = photo.resize((64, 48))
    small.save(buffer, "MPO", save_all=True, append_images=[small])
    assert _gainmap.find(buffer.getvalue()) is None


def test_find_never_raises_on_damaged_files(source: bytes) -> None:
    """Offsets are read only inside the file: any truncation or garbage gives None or a
    map inside the bytes, never an exception."""
    for end in range(0, 2000, 7):
        _gainmap.find(source[:end])
    damaged = bytearray(source)
    for at in range(1400, 1600):
        damaged[at] ^= 0xFF
        _gainmap.find(bytes(damaged))


def test_jpeg_renditions_are_ultra_hdr_with_the_base_geometry(source: bytes) -> None:
    with Image.open(io.BytesIO(source)) as image:
        primary = image.size
    ratio = round(primary[0] / gain_map_size(source)[0])
    images = render(source, settings())
    jpegs = [im for im in images if im.format == "JPEG"]
    assert {im.rendition.name for im in jpegs} == {"thumb", "hero", "wide"}
    for image in jpegs:
        assert Image.open(io.BytesIO(image.data)).format == "MPO"
        loaded = pyvips.Image.uhdrload_buffer(image.data)
        assert "gainmap-data" in loaded.get_fields()
        assert (loaded.width, loaded.height) == (image.width, image.height)
        expected = (round(image.width / ratio), round(image.height / ratio))
        assert gain_map_size(image.data) == expected, image.rendition.name


def test_the_rebuilt_hdr_matches_the_sources(source: bytes) -> None:
    """Fit renditions rebuild the source's HDR picture resized (median relative error
    under 10 %, highlights above SDR white kept); with HDR=drop they cannot."""
    reference = pyvips.Image.uhdrload_buffer(source).uhdr2scRGB()
    for mode, limit in (("keep", 0.10), ("drop", None)):
        (hero,) = [im for im in render(source, settings(HDR=mode)) if im.rendition.name == "hero"][
            :1
        ]
        expected = reference.resize(
            hero.width / reference.width, vscale=hero.height / reference.height, kernel="lanczos3"
        )
        want = np.asarray(expected.numpy()[..., :3], dtype=np.float64)
        if limit is None:
            assert Image.open(io.BytesIO(hero.data)).format == "JPEG"
            assert _gainmap.find(hero.data) is None
            continue
        got = scrgb(hero.data)
        rows, cols = min(got.shape[0], want.shape[0]), min(got.shape[1], want.shape[1])
        got, want = got[:rows, :cols], want[:rows, :cols]
        error = np.abs(got - want) / np.maximum(want, 0.01)
        assert np.median(error) < limit
        assert got.max() > 2.0  # the highlights are HDR again


def test_webp_outputs_are_the_sdr_base_either_way(source: bytes) -> None:
    kept = {im.rendition.name: im for im in render(source, settings()) if im.format == "WEBP"}
    dropped = {
        im.rendition.name: im for im in render(source, settings(HDR="drop")) if im.format == "WEBP"
    }
    assert kept["hero"].data == dropped["hero"].data


def test_orientation_applies_to_the_map() -> None:
    """A source stored sideways (EXIF 6): rendition and map upright, the same aspect."""
    data = ultra_hdr(600, orientation=6)
    with Image.open(io.BytesIO(data)) as image:
        stored = image.size
    (hero,) = [im for im in render(data, settings()) if im.rendition.name == "hero"][:1]
    # Shown with its axes swapped: the stored portrait is a landscape rendition.
    assert (hero.width > hero.height) == (stored[1] > stored[0])
    width, height = gain_map_size(hero.data)
    assert abs(width / height - hero.width / hero.height) < 0.02
    # The map's pixels turned too: the HDR picture rebuilt from the rendition matches
    # the source's, turned and resized (a map left stored would misplace highlights).
    reference = pyvips.Image.uhdrload_buffer(data).uhdr2scRGB().rot90()
    expected = reference.resize(
        hero.width / reference.width, vscale=hero.height / reference.height, kernel="lanczos3"
    )
    want = np.asarray(expected.numpy()[..., :3], dtype=np.float64)
    got = scrgb(hero.data)
    rows, cols = min(got.shape[0], want.shape[0]), min(got.shape[1], want.shape[1])
    error = np.abs(got[:rows, :cols] - want[:rows, :cols]) / np.maximum(want[:rows, :cols], 0.01)
    assert np.median(error) < 0.10


def test_a_map_larger_than_its_primary_is_not_kept(source: bytes) -> None:
    """Hostile input: a gain map with more pixels than the primary is dropped (SDR)."""
    gain_map = _gainmap.find(source)
    assert gain_map is not None
    big = io.BytesIO()
    Image.new("L", (2000, 2000), 128).save(big, "JPEG")
    small = io.BytesIO()
    with Image.open(PHOTO) as photo:
        photo.resize((300, 200)).save(small, "JPEG")
    hostile = _gainmap.attach(small.getvalue(), big.getvalue(), gain_map)
    assert _gainmap.find(hostile) is not None
    (hero,) = [im for im in render(hostile, settings()) if im.rendition.name == "hero"][:1]
    assert _gainmap.find(hero.data) is None


def test_xmp_sources_get_a_gcontainer_with_the_maps_length(source: bytes) -> None:
    """Ultra HDR v1 (hdrgm XMP, as Android writes): the rendition's primary XMP names
    the map's new length, and the map keeps its hdrgm parameters."""
    found = _gainmap.find(source)
    assert found is not None
    v1 = _gainmap.GainMap(found.jpeg, b"", HDRGM_XMP, xmp=True)
    with Image.open(PHOTO) as photo:
        buffer = io.BytesIO()
        photo.resize((300, 200)).save(buffer, "JPEG")
    data = _gainmap.attach(buffer.getvalue(), found.jpeg, v1)
    again = _gainmap.find(data)
    assert again is not None
    assert again.xmp
    assert b'hdrgm:GainMapMax="2.0"' in again.map_segments
    length = len(again.jpeg)
    assert f'Item:Length="{length}"'.encode() in data[: len(data) - length]


def test_ultra_hdr_v1_sources_pillow_opens_as_jpeg_keep_their_map(source: bytes) -> None:
    """Android's Ultra HDR v1 (hdrgm XMP, no ISO segment) is opened by Pillow as JPEG,
    not MPO: its renditions are Ultra HDR all the same."""
    found = _gainmap.find(source)
    assert found is not None
    with Image.open(io.BytesIO(source)) as image:
        primary = io.BytesIO()
        image.save(primary, "JPEG", quality=90)  # the first frame alone, no MPF
    v1 = _gainmap.attach(
        primary.getvalue(), found.jpeg, _gainmap.GainMap(b"", b"", HDRGM_XMP, True)
    )
    with Image.open(io.BytesIO(v1)) as image:
        assert image.format == "JPEG"
    (hero,) = [im for im in render(v1, settings()) if im.rendition.name == "hero"][:1]
    kept = _gainmap.find(hero.data)
    assert kept is not None
    assert kept.xmp
    assert b'hdrgm:GainMapMax="2.0"' in kept.map_segments


def test_hdr_is_a_setting_of_the_fingerprint() -> None:
    keep, drop = settings(), settings(HDR="drop")
    assert keep.hdr == "keep"
    jpeg = parse_renditions("a=100x100:format=jpeg")[0]
    webp = parse_renditions("a=100x100:format=webp")[0]
    assert fingerprint(keep, jpeg) != fingerprint(drop, jpeg)
    assert fingerprint(keep, webp) == fingerprint(drop, webp)  # WebP is SDR either way
    with pytest.raises(ConfigurationError, match="HDR='maybe' is not one of keep, drop"):
        settings(HDR="maybe")


def test_the_map_is_reserved_before_anything_is_decoded(source: bytes) -> None:
    """The render's reservation covers the map (three copies of its pixels), only when
    it will be kept."""
    opened = _admission.open_within_limits(source, settings())
    map_width, map_height = gain_map_size(source)
    kept = _gainmap.kept(source, "keep")
    assert _admission.gain_map_bytes(kept, opened) == 3 * map_width * map_height
    assert _admission.gain_map_bytes(_gainmap.kept(source, "drop"), opened) == 0
    plain = PHOTO.read_bytes()
    opened_plain = _admission.open_within_limits(plain, settings())
    assert _admission.gain_map_bytes(_gainmap.kept(plain, "keep"), opened_plain) == 0


def test_a_damaged_map_renders_sdr(source: bytes) -> None:
    gain_map = _gainmap.find(source)
    assert gain_map is not None
    start = source.index(gain_map.jpeg)
    damaged = source[: start + 700] + bytes(len(gain_map.jpeg) - 700)
    (hero,) = [im for im in render(damaged, settings()) if im.rendition.name == "hero"][:1]
    assert _gainmap.find(hero.data) is None
