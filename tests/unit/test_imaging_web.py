"""Web renditions: cover crops and the focal point, output formats, animation, quality,
placeholders (issue 11)."""

from __future__ import annotations

import io

import blurhash
import images
import pytest
from PIL import Image, ImageDraw

from resizer.config import Settings, parse_renditions
from resizer.imaging import RenderedImage, parse_focal_point, render, render_set
from resizer.imaging._crop import attention, cover_size, energy, window


def settings(renditions: str, **values: int) -> Settings:
    return Settings(renditions=parse_renditions(renditions), **values)  # type: ignore[arg-type]


def decoded(rendered: RenderedImage) -> Image.Image:
    image = Image.open(io.BytesIO(rendered.data))
    assert image.format == rendered.format
    assert image.size == (rendered.width, rendered.height)
    return image


def marked(size: tuple[int, int], at: tuple[int, int]) -> bytes:
    """A flat grey PNG with one busy, red 40 px patch centred at ``at``."""
    image = Image.new("RGB", size, (128, 128, 128))
    draw = ImageDraw.Draw(image)
    x, y = at
    for step in range(0, 40, 4):
        draw.rectangle((x - 20 + step, y - 20, x - 18 + step, y + 20), fill=(250, 0, 0))
    return images.encode(image, "PNG")


def red_centre(image: Image.Image) -> tuple[float, float]:
    """Centre of the red pixels, as fractions of the image."""
    rgb = image.convert("RGB")
    xs, ys = [], []
    for y in range(rgb.height):
        for x in range(rgb.width):
            r, g, _ = rgb.getpixel((x, y))  # type: ignore[misc]
            if r > 200 and g < 80:
                xs.append(x)
                ys.append(y)
    assert xs, "the red patch was cropped away"
    return sum(xs) / len(xs) / rgb.width, sum(ys) / len(ys) / rgb.height


# --- cover geometry -------------------------------------------------------------


@pytest.mark.parametrize(
    ("upright", "box", "scaled", "crop"),
    [
        ((4000, 3000), (150, 150), (200, 150), (150, 150)),
        ((3000, 4000), (150, 150), (150, 200), (150, 150)),
        ((1000, 500), (400, 400), (800, 400), (400, 400)),
        # Smaller than the box: never upscaled, the largest crop of the box's aspect.
        ((100, 80), (150, 150), (100, 80), (80, 80)),
        ((300, 100), (200, 400), (300, 100), (50, 100)),
        ((120, 200), (150, 100), (120, 200), (120, 80)),
        ((1, 1000), (10, 10), (1, 1000), (1, 1)),
    ],
)
def test_cover_size(
    upright: tuple[int, int],
    box: tuple[int, int],
    scaled: tuple[int, int],
    crop: tuple[int, int],
) -> None:
    assert cover_size(upright, box) == (scaled, crop)


def test_window_centres_on_the_focal_point_within_the_edges() -> None:
    assert window((200, 150), (150, 150), (0.5, 0.5)) == (25, 0, 175, 150)
    assert window((200, 150), (150, 150), (0.0, 0.5)) == (0, 0, 150, 150)
    assert window((200, 150), (150, 150), (1.0, 0.2)) == (50, 0, 200, 150)
    assert window((150, 300), (150, 150), (0.5, 0.4)) == (0, 45, 150, 195)


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("0.5,0.3", (0.5, 0.3)),
        (" 1 , 0 ", (1.0, 0.0)),
        (".25,.75", (0.25, 0.75)),
        ("1.5,0.2", None),
        ("-0.1,0.2", None),
        ("0.5", None),
        ("a,b", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_focal_point(text: str | None, point: tuple[float, float] | None) -> None:
    assert parse_focal_point(text) == point


def test_attention_is_none_on_a_flat_image() -> None:
    flat = energy(Image.new("RGB", (64, 48), (90, 90, 90)))
    assert attention(flat, (200, 150), (150, 150)) is None
    assert attention(flat, (150, 150), (150, 150)) is None


# --- cover renders --------------------------------------------------------------


@pytest.mark.parametrize("source", ["jpeg", "png"])
def test_cover_is_exactly_the_box(source: str) -> None:
    data = images.jpeg(640, 480) if source == "jpeg" else images.png(480, 640, "RGBA")
    result = render(data, settings("thumb=150x150:cover,banner=300x100:cover,fit=200x200"))
    assert [(r.rendition.name, r.width, r.height) for r in result] == [
        ("fit", 150, 200) if source == "png" else ("fit", 200, 150),
        ("banner", 300, 100),
        ("thumb", 150, 150),
    ]
    for rendered in result:
        decoded(rendered)


def test_cover_is_never_upscaled() -> None:
    (rendered,) = render(images.jpeg(100, 80), settings("thumb=150x150:cover"))
    assert (rendered.width, rendered.height) == (80, 80)
    (wide,) = render(images.jpeg(100, 80), settings("wide=400x100:cover"))
    assert (wide.width, wide.height) == (100, 25)


def test_cover_honours_the_focal_point() -> None:
    # A 400x100 strip: the square crop can be anywhere along x.
    data = images.encode(images.picture(400, 100), "PNG")
    config = settings("sq=100x100:cover")
    for fx in (0.0, 0.5, 1.0):
        (rendered,) = render(data, config, focal=(fx, 0.5))
        expected = images.picture(400, 100).crop((round(fx * 300), 0, round(fx * 300) + 100, 100))
        got = decoded(rendered).convert("RGB")
        assert got.tobytes() == expected.tobytes()


def test_cover_without_a_focal_point_finds_the_busy_part() -> None:
    data = marked((800, 200), at=(680, 100))
    (rendered,) = render(data, settings("sq=100x100:cover"))
    x, _ = red_centre(decoded(rendered))
    assert 0.2 < x < 0.8  # the patch is inside the crop, near its middle
    (centred,) = render(data, settings("sq=100x100:cover"), focal=(0.5, 0.5))
    with pytest.raises(AssertionError, match="cropped away"):
        red_centre(decoded(centred))


def test_cover_of_an_image_without_edges_is_centred() -> None:
    # A smooth ramp has no edges (a Laplacian of zero): nothing to prefer, the centre.
    ramp = Image.linear_gradient("L").rotate(90).resize((400, 100)).convert("RGB")
    data = images.encode(ramp, "PNG")
    config = settings("sq=100x100:cover")
    (chosen,) = render(data, config)
    (centred,) = render(data, config, focal=(0.5, 0.5))
    (left,) = render(data, config, focal=(0.0, 0.5))
    assert chosen.data == centred.data != left.data


def test_cover_follows_exif_orientation() -> None:
    # Stored 200x400, shown upright 400x200: the crop is cut from the upright picture.
    data = images.oriented_jpeg(6, (400, 200))
    (rendered,) = render(data, settings("sq=100x100:cover"), focal=(0.0, 0.5))
    image = decoded(rendered).convert("RGB")
    assert image.size == (100, 100)
    top_left, bottom_left = image.getpixel((10, 10)), image.getpixel((10, 90))
    assert isinstance(top_left, tuple)
    assert isinstance(bottom_left, tuple)
    assert max(abs(a - b) for a, b in zip(top_left, images.RED, strict=False)) < 40
    assert max(abs(a - b) for a, b in zip(bottom_left, images.BLUE, strict=False)) < 40


# --- formats --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "pillow", "mode"),
    [
        ("jpeg", "JPEG", "RGB"),
        ("png", "PNG", "RGB"),
        ("webp", "WEBP", "RGB"),
        ("avif", "AVIF", "RGB"),
    ],
)
def test_each_format_decodes_with_the_right_size_and_mode(fmt: str, pillow: str, mode: str) -> None:
    (rendered,) = render(images.jpeg(640, 480), settings(f"m=200x200:format={fmt}"))
    image = decoded(rendered)
    assert (rendered.format, rendered.suffix, image.size, image.mode) == (
        pillow,
        "",
        (200, 150),
        mode,
    )
    assert rendered.converted == (fmt != "jpeg")


def test_further_formats_get_their_extension_in_order() -> None:
    result = render(images.png(640, 480), settings("m=200x200:format=original+webp+avif+jpeg"))
    assert [(r.format, r.suffix, r.content_type) for r in result] == [
        ("PNG", "", "image/png"),
        ("WEBP", ".webp", "image/webp"),
        ("AVIF", ".avif", "image/avif"),
        ("JPEG", ".jpg", "image/jpeg"),
    ]
    for rendered in result:
        assert decoded(rendered).size == (200, 150)


def test_a_format_that_resolves_like_an_earlier_one_is_written_once() -> None:
    result = render(images.jpeg(), settings("m=200x200:format=original+jpeg+webp"))
    assert [(r.format, r.suffix) for r in result] == [("JPEG", ""), ("WEBP", ".webp")]


def test_alpha_is_kept_by_png_webp_avif_and_flattened_on_white_by_jpeg() -> None:
    transparent = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    data = images.encode(transparent, "PNG")
    result = render(data, settings("m=50x50:format=png+webp+avif+jpeg"))
    modes = {r.format: decoded(r).mode for r in result}
    assert modes == {"PNG": "RGBA", "WEBP": "RGBA", "AVIF": "RGBA", "JPEG": "RGB"}
    jpeg = next(decoded(r) for r in result if r.format == "JPEG")
    assert jpeg.getpixel((25, 25)) == pytest.approx((255, 255, 255), abs=2)


def test_animation_is_kept_in_webp_and_first_frame_elsewhere() -> None:
    data = images.animated("GIF", 5, size=64)
    result = render(data, settings("a=32x32:format=original+webp+avif+jpeg"))
    frames = {r.format: getattr(decoded(r), "n_frames", 1) for r in result}
    assert frames == {"GIF": 5, "WEBP": 5, "AVIF": 1, "JPEG": 1}
    assert all((r.width, r.height) == (32, 32) for r in result)


def test_animated_cover_crops_every_frame() -> None:
    data = images.animated("WEBP", 3, size=64)
    (rendered,) = render(data, settings("a=40x20:cover:format=webp"))
    image = decoded(rendered)
    assert (image.size, getattr(image, "n_frames", 1)) == ((40, 20), 3)


def test_quality_overrides_the_lossy_settings_per_rendition() -> None:
    data = images.jpeg(640, 480)
    spec = "lo=400x400:format=jpeg+webp+avif:quality=20,hi=401x401:format=jpeg+webp+avif"
    result = render(data, settings(spec, jpeg_quality=95, webp_quality=95, avif_quality=95))
    low = {r.format: len(r.data) for r in result if r.rendition.name == "lo"}
    high = {r.format: len(r.data) for r in result if r.rendition.name == "hi"}
    assert all(low[fmt] * 2 < high[fmt] for fmt in ("JPEG", "WEBP", "AVIF")), (low, high)


def test_avif_quality_setting_reaches_the_encoder() -> None:
    data = images.jpeg(640, 480)
    small = render(data, settings("m=400x400:format=avif", avif_quality=20))[0]
    large = render(data, settings("m=400x400:format=avif", avif_quality=90))[0]
    assert len(small.data) * 2 < len(large.data)


# --- the set: source description and placeholder --------------------------------


def test_render_set_describes_the_upright_source() -> None:
    data = images.oriented_jpeg(6, (400, 200))
    result = render_set(data, settings("m=100x100"))
    assert (result.source.width, result.source.height) == (400, 200)
    assert (result.source.format, result.source.bytes) == ("JPEG", len(data))


def test_placeholder_is_a_blurhash_and_the_dominant_colour() -> None:
    image = Image.new("RGB", (300, 200), (200, 40, 40))
    image.paste((20, 40, 200), (0, 0, 60, 200))  # a blue fifth
    result = render_set(images.encode(image, "PNG"), settings("m=100x100"))
    assert result.placeholder.color == "#c82828"
    hashed = result.placeholder.blurhash
    assert blurhash.components(hashed) == (4, 3)  # landscape: 4 across, 3 down
    decoded_hash = blurhash.decode(hashed, 30, 20)
    # The decoded placeholder is red on the right, blue on the left.
    assert decoded_hash[10][28][0] > decoded_hash[10][28][2]
    assert decoded_hash[10][1][2] > decoded_hash[10][1][0]


def test_placeholder_of_a_transparent_image_is_over_white() -> None:
    data = images.encode(Image.new("RGBA", (64, 64), (0, 0, 0, 0)), "PNG")
    assert render_set(data, settings("m=32x32")).placeholder.color == "#ffffff"


def test_placeholder_of_a_portrait_has_more_rows() -> None:
    data = images.jpeg(300, 600)
    assert blurhash.components(render_set(data, settings("m=100x100")).placeholder.blurhash) == (
        3,
        4,
    )


def test_the_blurhash_is_encoded_from_a_copy_of_at_most_hash_size_px(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from resizer.imaging import _placeholder

    seen: list[tuple[int, int]] = []
    encode = _placeholder.encode

    def spy(image: Image.Image, x: int, y: int) -> str:
        seen.append(image.size)
        return encode(image, x, y)

    monkeypatch.setattr(_placeholder, "encode", spy)
    render_set(images.jpeg(900, 600), settings("m=300x300"))
    assert seen == [(_placeholder.HASH_SIZE, round(_placeholder.HASH_SIZE * 2 / 3))]
    assert _placeholder.HASH_SIZE < _placeholder.SIZE
