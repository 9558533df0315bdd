"""The watermark (issue 20): placement, scale, opacity and the min-width rule, measured
on the pixels of real renditions (PNG outputs: lossless, so the blend is exact)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from images import MARK, encode, picture, watermark_png
from PIL import Image, ImageChops

from resizer import watermark
from resizer.config import Settings, WatermarkImage, parse_renditions
from resizer.errors import ConfigurationError
from resizer.imaging import RenderedImage, decode_watermark, render
from resizer.imaging._watermark import MARGIN, placement

GREY = (100, 100, 100)


def settings(renditions: str, mark: bytes | None = None, **options: object) -> Settings:
    return Settings(
        renditions=parse_renditions(renditions),
        watermark="mark.png",
        watermark_image=WatermarkImage(mark or watermark_png(), "etag-1"),
        **options,  # type: ignore[arg-type]
    )


def flat(size: tuple[int, int], colour: tuple[int, ...] = GREY, mode: str = "RGB") -> bytes:
    return encode(Image.new(mode, size, colour), "PNG")


def pixels(rendered: RenderedImage) -> Image.Image:
    with Image.open(io.BytesIO(rendered.data)) as image:
        image.load()
        return image


def marked_box(rendered: RenderedImage, base: tuple[int, ...] = GREY) -> tuple[int, ...] | None:
    """Where a rendition of a flat picture differs from that picture."""
    image = pixels(rendered).convert("RGB")
    return ImageChops.difference(image, Image.new("RGB", image.size, base[:3])).getbbox()


def expected_box(size: tuple[int, int], scale: float, mark: tuple[int, int] = (200, 50)) -> tuple:
    width, height = size
    margin = round(width * MARGIN)
    mark_width = round(width * scale)
    mark_height = round(mark_width * mark[1] / mark[0])
    return (
        width - margin - mark_width,
        height - margin - mark_height,
        width - margin,
        height - margin,
    )


# --- placement and scale ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "scale"), [((1000, 500), 0.2), ((1600, 1200), 0.2), ((640, 960), 0.35)]
)
def test_the_mark_sits_bottom_right_at_its_scale(source: tuple[int, int], scale: float) -> None:
    """WATERMARK_SCALE of the rendition's width, aspect kept, 2 % of the width from the
    right and bottom edges."""
    config = settings("a=2000x2000:watermark:format=png", watermark_scale=scale)
    (rendered,) = render(flat(source), config)
    assert (rendered.width, rendered.height) == source
    assert marked_box(rendered) == expected_box(source, scale)


def test_the_default_scale_opacity_and_min_width() -> None:
    defaults = Settings()
    assert (defaults.watermark_scale, defaults.watermark_opacity) == (0.2, 0.6)
    assert defaults.watermark_min_width == 300
    assert MARGIN == 0.02


def test_a_mark_too_tall_for_a_strip_is_shrunk_to_fit() -> None:
    """Margins of 20 px on a 1000 px wide strip: 80 px tall leaves 40 px, so the 200x50
    mark becomes 160x40; 40 px tall leaves no room, and the strip stays unmarked."""
    (rendered,) = render(flat((1000, 80)), settings("a=1000x1000:watermark:format=png"))
    assert marked_box(rendered) == (980 - 160, 20, 980, 60)
    assert placement((1000, 40), (200, 50), 0.2) is None
    (strip,) = render(flat((1000, 40)), settings("a=1000x1000:watermark:format=png"))
    assert marked_box(strip) is None


def test_cover_crops_are_marked_at_the_crops_corner() -> None:
    (rendered,) = render(flat((1200, 600)), settings("sq=500x500:cover:watermark:format=png"))
    assert (rendered.width, rendered.height) == (500, 500)
    assert marked_box(rendered) == expected_box((500, 500), 0.2)


# --- opacity and alpha ------------------------------------------------------------------


@pytest.mark.parametrize("opacity", [0.6, 0.3, 1.0])
def test_opacity_blends_the_mark_over_the_picture(opacity: float) -> None:
    config = settings("a=1000x1000:watermark:format=png", watermark_opacity=opacity)
    (rendered,) = render(flat((1000, 500)), config)
    left, top, right, bottom = expected_box((1000, 500), 0.2)
    inside = pixels(rendered).convert("RGB").getpixel(((left + right) // 2, (top + bottom) // 2))
    expected = tuple(round(g + opacity * (m - g)) for g, m in zip(GREY, MARK, strict=True))
    assert isinstance(inside, tuple)
    assert all(abs(a - e) <= 1 for a, e in zip(inside, expected, strict=True)), (inside, expected)


def test_the_marks_transparent_parts_leave_the_picture_alone() -> None:
    config = settings("a=1000x1000:watermark:format=png", mark=watermark_png(hole=True))
    (rendered,) = render(flat((1000, 500)), config)
    left, top, right, bottom = expected_box((1000, 500), 0.2)
    assert marked_box(rendered) == ((left + right) // 2, top, right, bottom)


def test_a_transparent_picture_gets_the_mark_at_its_opacity() -> None:
    (rendered,) = render(
        flat((1000, 500), (0, 0, 0, 0), "RGBA"), settings("a=1000x1000:watermark:format=png")
    )
    image = pixels(rendered)
    assert image.mode == "RGBA"
    left, top, right, bottom = expected_box((1000, 500), 0.2)
    centre = image.getpixel(((left + right) // 2, (top + bottom) // 2))
    assert isinstance(centre, tuple)
    assert centre[:3] == MARK
    assert abs(centre[3] - round(0.6 * 255)) <= 1
    assert image.getpixel((10, 10)) == (0, 0, 0, 0)


def test_a_grey_picture_stays_grey() -> None:
    (rendered,) = render(flat((1000, 500), 100, "L"), settings("a=1000x1000:watermark:format=png"))
    image = pixels(rendered)
    assert image.mode == "L"
    left, top, right, bottom = expected_box((1000, 500), 0.2)
    assert image.getpixel(((left + right) // 2, (top + bottom) // 2)) != 100
    assert image.getpixel((10, 10)) == 100


def test_jpeg_photos_are_marked() -> None:
    photo = encode(picture(1200, 800), "JPEG", quality=90)
    plain, marked = render(
        photo, settings("plain=1000x1000:format=jpeg,marked=1000x1000:watermark:format=jpeg")
    )
    difference = ImageChops.difference(pixels(plain), pixels(marked)).convert("L")
    box = difference.point(lambda v: 255 if v > 40 else 0).getbbox()
    # Marked where the mark is, and only there (JPEG blocks of 8 px around it at most).
    assert box is not None
    expected = expected_box((1000, 667), 0.2)
    assert all(abs(a - e) <= 8 for a, e in zip(box, expected, strict=True)), (box, expected)


# --- which renditions -------------------------------------------------------------------


def test_renditions_narrower_than_the_min_width_and_those_without_the_option_are_unmarked() -> None:
    config = settings(
        "big=800x800:watermark:format=png,edge=300x300:watermark:format=png,"
        "narrow=299x299:watermark:format=png,plain=800x800:format=png"
    )
    by_name = {r.rendition.name: r for r in render(flat((1000, 500)), config)}
    assert marked_box(by_name["big"]) == expected_box((800, 400), 0.2)
    assert marked_box(by_name["edge"]) == expected_box((300, 150), 0.2)  # at the min: marked
    assert marked_box(by_name["narrow"]) is None
    # Same size as "big" (the cascade shares that image): the mark did not leak into it.
    assert marked_box(by_name["plain"]) is None


def test_the_min_width_is_a_setting() -> None:
    config = settings("a=800x800:watermark:format=png", watermark_min_width=801)
    (rendered,) = render(flat((1000, 500)), config)
    assert marked_box(rendered) is None


def test_every_frame_of_an_animation_is_marked() -> None:
    frames = [Image.new("RGB", (400, 200), GREY), Image.new("RGB", (400, 200), (101, 100, 100))]
    data = encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)
    (rendered,) = render(data, settings("a=400x400:watermark:format=png"))
    with Image.open(io.BytesIO(rendered.data)) as image:
        assert image.n_frames == 2
        for index in range(2):
            image.seek(index)
            pixel = image.convert("RGB").getpixel((400 - 8 - 40, 200 - 8 - 10))
            assert isinstance(pixel, tuple)
            assert pixel[1] < 60, index  # MARK's green is 0: blended in


# --- the mark itself ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [encode(Image.new("RGB", (20, 20)), "JPEG"), b"not a png", watermark_png()[:40]],
    ids=["jpeg", "garbage", "truncated"],
)
def test_a_mark_that_is_no_png_is_a_configuration_error(data: bytes) -> None:
    with pytest.raises(ConfigurationError, match="WATERMARK is not a readable PNG"):
        decode_watermark(data)


def test_a_huge_mark_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="over 16,000,000"):
        decode_watermark(encode(Image.new("LA", (4001, 4000)), "PNG"))


def test_rendering_a_mark_never_loaded_is_a_configuration_error() -> None:
    config = Settings(renditions=parse_renditions("a=800x800:watermark"), watermark="x")
    with pytest.raises(ConfigurationError, match="not loaded"):
        render(flat((1000, 500)), config)


def test_resize_reads_the_mark_from_a_file_its_etag_the_md5(tmp_path: Path) -> None:
    path = tmp_path / "mark.png"
    path.write_bytes(watermark_png())
    config = Settings.from_env({"RENDITIONS": "a=800x800:watermark", "WATERMARK": str(path)})
    loaded = watermark.from_file(config).watermark_image
    assert loaded is not None
    assert loaded.etag == hashlib.md5(watermark_png(), usedforsecurity=False).hexdigest()
    with pytest.raises(ConfigurationError, match="cannot be read"):
        watermark.from_file(
            Settings.from_env(
                {**{"RENDITIONS": "a=8x8:watermark"}, "WATERMARK": str(tmp_path / "none.png")}
            )
        )
    # No rendition asks for it: nothing is read.
    unused = Settings.from_env({"WATERMARK": str(tmp_path / "none.png")})
    assert watermark.from_file(unused) is unused


@pytest.mark.parametrize("uri", ["bucket/key.png", "s3://bucket", "s3:///key.png", "/tmp/m.png"])
def test_the_function_takes_an_s3_uri(uri: str) -> None:
    with pytest.raises(ConfigurationError, match="give s3://bucket/key"):
        watermark.parse_uri(uri)
    assert watermark.parse_uri("s3://brand-assets/marks/logo.png") == (
        "brand-assets",
        "marks/logo.png",
    )


def test_a_mark_over_the_byte_limit_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mark.png"
    path.write_bytes(watermark_png())
    monkeypatch.setattr(watermark, "MAX_MARK_BYTES", 100)
    config = Settings.from_env({"RENDITIONS": "a=800x800:watermark", "WATERMARK": str(path)})
    with pytest.raises(ConfigurationError, match="over 100 bytes"):
        watermark.from_file(config)


def test_the_function_reads_nothing_when_no_rendition_asks_for_the_mark() -> None:
    class NoS3:
        def get_object(self, **_: object) -> None:
            raise AssertionError("read although no rendition is marked")

    unused = Settings.from_env({"WATERMARK": "s3://brand/mark.png"})
    assert watermark.from_s3(unused, NoS3()) is unused  # type: ignore[arg-type]
