"""quality=auto and format=auto (issue 19): the grammar, QUALITY_TARGET and the
fingerprint, the search on real photos, the keep rule, graphics, alpha, animations,
and the memory a searched rendition reserves (resizer.imaging._auto)."""

from __future__ import annotations

import io
from pathlib import Path

import images
import pytest
from PIL import Image

from resizer import config, layout, manifest
from resizer.config import Settings, fingerprint, parse_renditions
from resizer.errors import ConfigurationError
from resizer.imaging import _admission, _auto, _memory, _output, _render, _source, render_set

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = sorted((ROOT / "examples" / "photos").glob("*.jpg"))
AUTO = "m=800x800:format=auto:quality=auto"


def settings(renditions: str = AUTO, **env: str) -> Settings:
    return Settings.from_env({"RENDITIONS": renditions, **env})


# --- grammar, setting, fingerprint -------------------------------------------------------


def test_the_grammar_reads_auto_and_spells_it_back() -> None:
    (rendition,) = parse_renditions(AUTO)
    assert rendition.auto_format
    assert rendition.auto_quality
    assert rendition.formats == ("auto",)
    assert rendition.quality == "auto"
    assert parse_renditions(str(rendition)) == (rendition,)
    (fixed,) = parse_renditions("m=800x800:format=jpeg+webp:quality=80")
    assert not fixed.auto_format
    assert not fixed.auto_quality
    assert fixed.quality == 80


@pytest.mark.parametrize(
    "item",
    [
        "m=800x:format=auto+webp",
        "m=800x:format=webp+auto",
        "m=800x:format=auto:format=auto",
        "m=800x:quality=auto:quality=auto",
        "m=800x:quality=best",
    ],
)
def test_auto_is_alone_and_given_once(item: str) -> None:
    with pytest.raises(ConfigurationError, match="auto"):
        parse_renditions(item)


def test_quality_target_is_a_setting_30_to_95_default_80() -> None:
    assert settings().quality_target == 80
    assert settings(QUALITY_TARGET="95").quality_target == 95
    for bad in ("29", "96", "high"):
        with pytest.raises(ConfigurationError, match="QUALITY_TARGET"):
            settings(QUALITY_TARGET=bad)


def test_the_fingerprint_changes_with_quality_target_for_auto_quality_only() -> None:
    both = "a=800x800:format=auto:quality=auto,f=800x800:format=jpeg+webp,q=400x:quality=auto"
    low, high = settings(both, QUALITY_TARGET="70"), settings(both, QUALITY_TARGET="85")
    changed = {r.name for r in low.renditions if fingerprint(low, r) != fingerprint(high, r)}
    assert changed == {"a", "q"}
    assert fingerprint(low) != fingerprint(high)


def test_the_fingerprint_covers_the_auto_rules_version(monkeypatch: pytest.MonkeyPatch) -> None:
    both = settings("a=800x800:format=auto,f=800x800:format=jpeg+webp")
    before = {r.name: fingerprint(both, r) for r in both.renditions}
    monkeypatch.setattr(config, "AUTO_RULES_VERSION", "test")
    after = {r.name: fingerprint(both, r) for r in both.renditions}
    assert before["a"] != after["a"]
    assert before["f"] == after["f"]


def test_auto_quality_is_not_moved_by_the_fixed_quality_settings() -> None:
    one, other = settings(JPEG_QUALITY="60"), settings(JPEG_QUALITY="95")
    assert fingerprint(one, one.renditions[0]) == fingerprint(other, other.renditions[0])


# --- the search on real photos -----------------------------------------------------------


@pytest.fixture(scope="module")
def photos() -> list[Image.Image]:
    """examples/photos' 800 px renditions, as the encoders receive them."""
    found = settings("m=800x800")
    return [_render.resample(path.read_bytes(), found)[0] for path in PHOTOS]


@pytest.mark.parametrize("output", [_output.JPEG, _output.WEBP, _output.AVIF], ids=str)
@pytest.mark.parametrize("target", [70, 85])
def test_the_search_lands_within_2_of_the_target_on_real_photos(
    photos: list[Image.Image], output: _output.Output, target: int
) -> None:
    encoding = _output.Encoding.of(settings())
    for photo in photos:
        found = _auto.search(photo, output, encoding, target)
        assert found.quality is not None
        assert found.score is not None
        assert target - 2 <= found.score <= target + 2, (output.format, found.quality)
        # The score is the output's own, measured against the pixels encoded.
        decoded = _auto.decoded(found.data, "RGB")
        assert abs(_auto.ssimulacra2(photo.convert("RGB"))(decoded) - found.score) < 1e-6


def test_the_first_guess_follows_the_model() -> None:
    for name, points in _auto.MODEL.items():
        output = _output.NAMED[name.lower()]
        qualities = [q for q, _ in points]
        assert qualities == sorted(qualities)
        assert [_auto.guess(output, s) for _, s in points] == qualities
        assert _auto.guess(output, 200) == 100


def test_the_proxy_is_tiles_at_full_scale_and_a_small_image_is_its_own() -> None:
    big = images.picture(1600, 1000)
    proxy = _auto.proxy(big)
    side = _auto.PROXY_GRID * _auto.PROXY_TILE
    assert proxy.size == (side, side)
    # The first tile is the image's own pixels at its scale, not a shrunk copy.
    tile, grid = _auto.PROXY_TILE, _auto.PROXY_GRID
    top = round(0.5 * 1000 / grid - tile / 2)
    left = round(0.5 * 1600 / grid - tile / 2)
    assert (
        proxy.crop((0, 0, tile, tile)).tobytes()
        == big.crop((left, top, left + tile, top + tile)).tobytes()
    )
    small = images.picture(300, 300)
    assert _auto.proxy(small) is small


# --- format=auto -------------------------------------------------------------------------


def _choice(size: int, name: str = "JPEG") -> _auto.Choice:
    output = {"JPEG": _output.JPEG, "WEBP": _output.WEBP, "AVIF": _output.AVIF}[name]
    return _auto.Choice(output, b"x" * size, 80, 80.0)


def test_a_candidate_is_kept_only_when_smaller_than_every_one_kept_after_it() -> None:
    avif, webp, jpeg = _choice(30, "AVIF"), _choice(50, "WEBP"), _choice(40)
    assert _auto.keep_smaller([avif, webp, jpeg]) == [avif, jpeg]
    avif = _choice(40, "AVIF")  # as large as the fallback: not kept
    assert _auto.keep_smaller([avif, webp, jpeg]) == [jpeg]
    small = [_choice(10, "AVIF"), _choice(20, "WEBP"), jpeg]
    assert _auto.keep_smaller(small) == small
    assert _auto.keep_smaller([jpeg]) == [jpeg]


@pytest.mark.parametrize("path", PHOTOS[:3], ids=lambda p: p.name)
def test_format_auto_writes_smallest_first_fallback_last_at_the_first_key(path: Path) -> None:
    found = settings()
    rendered = render_set(path.read_bytes(), found)
    made = rendered.images
    sizes = [len(image.data) for image in made]
    assert sizes == sorted(set(sizes)), "never bigger: each output smaller than the next"
    assert made[-1].format == "JPEG"
    assert made[-1].suffix == ""
    assert all(image.suffix == image.extension for image in made[:-1])
    assert {image.format for image in made[:-1]} <= {"AVIF", "WEBP"}
    for image in made:
        assert image.quality is not None
        assert image.score is not None
        assert abs(image.score - found.quality_target) <= 2
    # The manifest lists them in that order, at the layout's keys, and is current.
    built = manifest.build("b", "a.jpg", "e", rendered, found)
    entries = built["renditions"]
    assert [e["bytes"] for e in entries] == sizes
    assert [e["key"] for e in entries] == [layout.image_key(i, "a.jpg") for i in made]
    assert [(e["quality"], e["score"]) for e in entries] == [(i.quality, i.score) for i in made]
    assert layout.rendition_key("a.jpg", "m") == entries[-1]["key"]
    assert set(layout.configured_keys(found, "a.jpg")) >= {e["key"] for e in entries}
    heads = {
        e["key"]: {
            manifest.META_SOURCE_ETAG: "e",
            manifest.META_CONFIG: fingerprint(found, found.renditions[0]),
        }
        for e in entries
    }
    found_meta = {manifest.META_SOURCE_ETAG: "e", manifest.META_ANNOUNCED: "true"}
    plan = manifest.plan(found, "a.jpg", "e", manifest=built, found=found_meta, heads=heads)
    assert plan.state is manifest.SetState.CURRENT
    # A manifest listing the fallback first is not where the layout puts it: stale.
    moved = {**built, "renditions": [entries[-1], *entries[:-1]]}
    if len(entries) > 1:
        plan = manifest.plan(found, "a.jpg", "e", manifest=moved, found=found_meta, heads=heads)
        assert plan.stale == found.renditions


@pytest.mark.parametrize("kind", ["chart", "screenshot"])
def test_a_graphic_picks_a_lossless_output_that_meets_the_target(kind: str) -> None:
    """A graphic's WebP candidate is the smaller of lossy and lossless WebP, and its
    fallback the smaller of JPEG and PNG: on these, a lossless output is kept (the
    rendition's pixels exactly, score 100), smaller than everything kept after it."""
    found = settings()
    made = render_set(images.graphic_png(kind), found).images
    sizes = [len(image.data) for image in made]
    assert sizes == sorted(set(sizes))
    (flat,) = [image for image in made if image.quality is None and image.format == "WEBP"]
    assert flat.score == 100.0
    with Image.open(io.BytesIO(flat.data)) as image:
        decoded = image.convert("RGB")
    expected = _render.resample(images.graphic_png(kind), found)[0].convert("RGB")
    assert decoded.tobytes() == expected.tobytes()
    assert made[-1].suffix == ""
    assert made[-1].format in ("PNG", "JPEG")
    for image in made:  # lossy ones (AVIF may be smaller still) hold the target too
        assert image.score is not None
        assert image.score >= found.quality_target - 2


def test_photos_are_not_graphics_and_generated_graphics_are(photos: list[Image.Image]) -> None:
    assert not any(_auto.is_graphic(photo) for photo in photos)
    for kind in images.GRAPHIC_KINDS:
        for size in ((300, 200), (800, 600), (1600, 1000)):
            assert _auto.is_graphic(images.graphic(kind, size)), (kind, size)
    assert _auto.is_graphic(images.graphic("chart", (800, 500)))


@pytest.mark.parametrize("source", ["photo", "logo"])
def test_an_alpha_source_keeps_alpha_in_every_output(source: str) -> None:
    if source == "logo":
        data = images.encode(images.graphic("logo"), "PNG")
    else:
        data = images.png(640, 480, "RGBA")
    made = render_set(data, settings()).images
    assert made[-1].format == "PNG"
    assert made[-1].suffix == ""
    for image in made:
        with Image.open(io.BytesIO(image.data)) as opened:
            alpha = opened.convert("RGBA").getchannel("A")
        assert alpha.getextrema()[0] < 255, image.format
        assert image.score is not None
        assert image.score >= 80 - 2


def test_an_animation_has_no_avif_candidate() -> None:
    data = images.animated("GIF", 6, size=96)
    made = render_set(data, settings("m=96x96:format=auto:quality=auto")).images
    assert made[-1].format == "GIF"
    assert made[-1].suffix == ""
    assert "AVIF" not in {image.format for image in made}
    sizes = [len(image.data) for image in made]
    assert sizes == sorted(set(sizes))
    for image in made:
        with Image.open(io.BytesIO(image.data)) as opened:
            assert getattr(opened, "n_frames", 1) == 6


def test_quality_auto_with_named_formats_searches_each_lossy_one() -> None:
    found = settings("m=800x800:format=jpeg+webp+png:quality=auto")
    made = render_set(PHOTOS[0].read_bytes(), found).images
    assert [image.format for image in made] == ["JPEG", "WEBP", "PNG"]
    for image in made[:2]:
        assert image.quality is not None
        assert image.score is not None
        assert abs(image.score - 80) <= 2
    assert (made[2].quality, made[2].score) == (None, 100.0)


def test_fixed_quality_records_the_setting_and_no_score() -> None:
    made = render_set(PHOTOS[0].read_bytes(), settings("m=400x400:format=jpeg+webp")).images
    assert [(i.quality, i.score) for i in made] == [(85, None), (80, None)]


# --- memory -------------------------------------------------------------------------------


def test_a_searched_rendition_reserves_the_metric_and_the_candidates() -> None:
    data = PHOTOS[0].read_bytes()
    opened = _source.open_image(data, 10**9, 10**9, 10, 100)
    fixed = settings("m=800x800:format=jpeg+webp+avif")
    auto = settings("m=800x800:format=jpeg+webp+avif:quality=auto")
    ((_, encodes),) = _admission._encodes(opened.image.size, opened.format, fixed)
    width, height = encodes[0][1]
    more = _admission.estimate(opened, len(data), auto) - _admission.estimate(
        opened, len(data), fixed
    )
    opaque = _memory.METRIC_BYTES_PER_PIXEL[0]
    per_pixel = opaque + _memory.CANDIDATES_BYTES_PER_PIXEL
    assert more == per_pixel * width * height + _memory.PROXY_BYTES
    # format=auto may encode every candidate: the largest encoder (AVIF) is reserved.
    assert _admission._encoders("auto", "JPEG") == {"AVIF", "WEBP", "JPEG", "PNG"}
    # JPEG's flattened reference beside the others' (alpha): a second reference.
    assert _admission._searched(auto) == [2]
    assert _admission._searched(settings()) == [1]
    assert _admission._searched(fixed) == [0]
    two = _memory.search_bytes((width, height), alpha=True, references=2)
    assert two - _memory.search_bytes((width, height), alpha=True, references=1) == (
        opaque * width * height
    )
    assert (
        2 * (_auto.PROXY_GRID * _auto.PROXY_TILE) ** 2 * max(_memory.METRIC_BYTES_PER_PIXEL)
        <= _memory.PROXY_BYTES
    )
