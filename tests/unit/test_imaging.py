"""Renditions: geometry, orientation, formats, colour modes, metadata."""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from resizer.config import Settings, parse_renditions
from resizer.imaging import RenderedImage, render


def settings(renditions: str = "thumbnails=150x150,medium=800x800,large=1600x1600") -> Settings:
    return Settings(renditions=parse_renditions(renditions))


def opened(rendered: RenderedImage) -> Image.Image:
    image = Image.open(io.BytesIO(rendered.data))
    assert image.format == rendered.format
    assert image.size == (rendered.width, rendered.height)
    return image


def close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


# --- geometry -------------------------------------------------------------------


def test_one_rendition_per_setting_in_settings_order(
    photo_like: Image.Image, encode: Callable[..., bytes]
) -> None:
    config = settings("small=100x100,wide=1000x50,big=300x300")
    result = render(encode(photo_like, "JPEG"), config)
    assert [r.rendition for r in result] == list(config.renditions)
    # 640x480 fitted: into 300x300 -> 300x225, 1000x50 -> 67x50, 100x100 -> 100x75.
    assert {r.rendition.name: (r.width, r.height) for r in result} == {
        "big": (300, 225),
        "wide": (67, 50),
        "small": (100, 75),
    }


def test_never_upscales(photo_like: Image.Image, encode: Callable[..., bytes]) -> None:
    result = render(encode(photo_like, "JPEG"), settings())
    assert [(r.rendition.name, r.width, r.height) for r in result] == [
        ("large", 640, 480),
        ("medium", 640, 480),
        ("thumbnails", 150, 113),
    ]


def test_tiny_1x1_image(encode: Callable[..., bytes]) -> None:
    result = render(encode(Image.new("RGB", (1, 1), (9, 99, 199)), "PNG"), settings())
    assert [(r.width, r.height) for r in result] == [(1, 1)] * 3
    assert opened(result[0]).convert("RGB").getpixel((0, 0)) == (9, 99, 199)


@pytest.mark.parametrize("size", [(1, 10000), (10000, 1)])
def test_extreme_strips_never_get_zero_pixels(
    size: tuple[int, int], encode: Callable[..., bytes]
) -> None:
    result = render(encode(Image.new("L", size, 128), "PNG"), settings())
    long = {"large": 1600, "medium": 800, "thumbnails": 150}
    for rendered in result:
        expected = (1, long[rendered.rendition.name])
        assert (rendered.width, rendered.height) == (expected if size[0] == 1 else expected[::-1])
        opened(rendered).load()


# --- EXIF orientation -----------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(
    orientation: int,
    make_oriented_jpeg: Callable[..., bytes],
    corners: dict[str, tuple[int, int, int]],
) -> None:
    result = render(make_oriented_jpeg(orientation), settings("a=200x200,b=40x40"))
    big, small = (opened(r).convert("RGB") for r in result)
    assert big.size == (200, 100)  # upright 400x200, whatever was stored
    assert small.size == (40, 20)
    for image in (big, small):
        w, h = image.size
        inset_x, inset_y = w // 8, h // 8
        points = {
            "TL": (inset_x, inset_y),
            "TR": (w - 1 - inset_x, inset_y),
            "BL": (inset_x, h - 1 - inset_y),
            "BR": (w - 1 - inset_x, h - 1 - inset_y),
        }
        for corner, point in points.items():
            pixel = image.getpixel(point)
            assert isinstance(pixel, tuple)
            assert close(pixel, corners[corner]), (orientation, image.size, corner, pixel)
        # The orientation tag must not survive: it would rotate the pixels twice.
        assert 0x0112 not in Image.open(io.BytesIO(result[0].data)).getexif()


# --- formats --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "params", "content_type", "extension"),
    [
        ("JPEG", {}, "image/jpeg", ".jpg"),
        ("PNG", {}, "image/png", ".png"),
        ("WEBP", {"quality": 90}, "image/webp", ".webp"),
        ("GIF", {}, "image/gif", ".gif"),
    ],
)
def test_browser_formats_keep_their_family(
    photo_like: Image.Image,
    fmt: str,
    params: dict[str, int],
    content_type: str,
    extension: str,
    encode: Callable[..., bytes],
) -> None:
    for rendered in render(encode(photo_like, fmt, **params), settings("a=320x320,b=64x64")):
        assert (rendered.format, rendered.content_type, rendered.extension) == (
            fmt,
            content_type,
            extension,
        )
        assert rendered.converted is False
        opened(rendered).load()


@pytest.mark.parametrize(
    ("fmt", "mode", "expected"),
    [
        ("TIFF", "RGB", "JPEG"),
        ("TIFF", "RGBA", "PNG"),
        ("BMP", "RGB", "JPEG"),
        ("BMP", "RGBA", "PNG"),
        ("AVIF", "RGB", "JPEG"),
        ("AVIF", "RGBA", "PNG"),
        ("HEIF", "RGB", "JPEG"),
        ("HEIF", "RGBA", "PNG"),
    ],
)
def test_formats_browsers_cannot_show_are_converted(
    fmt: str,
    mode: str,
    expected: str,
    encode: Callable[..., bytes],
    corners: dict[str, tuple[int, int, int]],
    quadrants: Callable[..., Image.Image],
    bmp_with_alpha: Callable[[Image.Image], bytes],
) -> None:
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()  # only to *write* the test file; render() registers itself
    image = quadrants((320, 240), corners).convert(mode)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize((320, 240)))
    data = bmp_with_alpha(image) if (fmt, mode) == ("BMP", "RGBA") else encode(image, fmt)
    assert Image.open(io.BytesIO(data)).mode == mode
    result = render(data, settings("a=160x160"))
    assert [(r.format, r.converted, r.width, r.height) for r in result] == [
        (expected, True, 160, 120)
    ]
    out = opened(result[0])
    assert out.mode == ("RGBA" if mode == "RGBA" else "RGB")
    assert close(out.convert("RGB").getpixel((10, 100)), corners["BL"])  # type: ignore[arg-type]


def test_opaque_alpha_channel_becomes_jpeg(
    encode: Callable[..., bytes],
    corners: dict[str, tuple[int, int, int]],
    quadrants: Callable[..., Image.Image],
) -> None:
    image = quadrants((100, 80), corners).convert("RGBA")  # alpha present but all 255
    [rendered] = render(encode(image, "TIFF"), settings("a=50x50"))
    assert (rendered.format, rendered.converted) == ("JPEG", True)


def test_jpeg_output_is_progressive_with_the_configured_quality(
    photo_like: Image.Image, encode: Callable[..., bytes]
) -> None:
    data = encode(photo_like, "JPEG", quality=95)
    low = render(data, Settings(renditions=parse_renditions("a=320x320"), jpeg_quality=40))
    high = render(data, Settings(renditions=parse_renditions("a=320x320"), jpeg_quality=95))
    assert opened(low[0]).info.get("progressive") == 1
    assert len(low[0].data) < len(high[0].data) * 0.7


def test_webp_quality_is_configurable(
    photo_like: Image.Image, encode: Callable[..., bytes]
) -> None:
    data = encode(photo_like, "WEBP", lossless=True)
    low = render(data, Settings(renditions=parse_renditions("a=320x320"), webp_quality=20))
    high = render(data, Settings(renditions=parse_renditions("a=320x320"), webp_quality=95))
    assert len(low[0].data) < len(high[0].data) * 0.7


def test_animated_gif_keeps_frames_durations_and_loop(
    animated_gif: bytes, corners: dict[str, tuple[int, int, int]]
) -> None:
    result = render(animated_gif, settings("a=150x150,b=30x30"))
    assert [(r.width, r.height) for r in result] == [(150, 100), (30, 20)]
    for rendered in result:
        image = opened(rendered)
        assert getattr(image, "n_frames", 1) == 3
        assert image.info.get("loop") == 0
        durations = []
        colours = []
        for index in range(3):
            image.seek(index)
            durations.append(image.info["duration"])
            colours.append(image.convert("RGB").getpixel((1, image.height - 2)))
        assert durations == [100, 200, 300]
        assert all(close(c, e) for c, e in zip(colours, corners.values(), strict=False)), colours


def test_animated_webp_keeps_frames(encode: Callable[..., bytes]) -> None:
    frames = [Image.new("RGB", (200, 100), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=[80, 160])
    [rendered] = render(data, settings("a=50x50"))
    image = opened(rendered)
    assert (getattr(image, "n_frames", 1), rendered.width, rendered.height) == (2, 50, 25)
    image.seek(1)
    image.load()  # Pillow quirk: WebP frame durations appear in .info only once loaded
    assert image.info["duration"] == 160


def test_animated_gif_counts_every_frame_against_the_pixel_limit(animated_gif: bytes) -> None:
    from resizer.errors import ImageTooLargeError

    limit = Settings(max_input_pixels=2 * 300 * 200)  # one frame fits, three do not
    with pytest.raises(ImageTooLargeError, match="3 frames of 300x200"):
        render(animated_gif, limit)


# --- colour modes ---------------------------------------------------------------


def test_cmyk_jpeg_becomes_rgb_that_looks_right(encode: Callable[..., bytes]) -> None:
    cmyk = Image.new("CMYK", (200, 100), (0, 255, 255, 0))  # pure red ink
    [rendered] = render(encode(cmyk, "JPEG", quality=95), settings("a=100x100"))
    image = opened(rendered)
    assert image.mode == "RGB"
    assert close(image.getpixel((50, 25)), (255, 0, 0))  # type: ignore[arg-type]


def test_cmyk_profile_is_not_attached_to_rgb_output(encode: Callable[..., bytes]) -> None:
    # A profile that cannot convert CMYK (an RGB one) falls back to Pillow's formula,
    # and no profile describing the source's CMYK ends up on RGB pixels.
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    cmyk = Image.new("CMYK", (64, 64), (0, 0, 255, 0))  # yellow
    [rendered] = render(encode(cmyk, "JPEG", icc_profile=srgb), settings("a=32x32"))
    image = opened(rendered)
    assert "icc_profile" not in image.info
    assert close(image.getpixel((16, 16)), (255, 255, 0))  # type: ignore[arg-type]


def test_icc_profile_is_kept(photo_like: Image.Image, encode: Callable[..., bytes]) -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for fmt in ("JPEG", "PNG", "WEBP"):
        for rendered in render(encode(photo_like, fmt, icc_profile=profile), settings()):
            assert opened(rendered).info.get("icc_profile") == profile, fmt


def test_sixteen_bit_grey_png_is_scaled_not_clipped(grey16_png: bytes) -> None:
    [rendered] = render(grey16_png, settings("a=32x32"))
    image = opened(rendered)
    assert (image.mode, image.size) == ("L", (32, 16))
    assert image.getextrema() == (128, 128)  # 32768 / 257, not clipped to 255


def test_48_bit_rgb_png(rgb48_png: bytes) -> None:
    [rendered] = render(rgb48_png, settings("a=32x32"))
    image = opened(rendered)
    assert (image.mode, image.size) == ("RGB", (32, 16))
    assert close(image.getpixel((2, 8)), (128, 128, 128), 2)  # type: ignore[arg-type]
    assert image.getpixel((30, 8)) == (255, 255, 255)


def test_palette_transparency_has_no_dark_halo(transparent_palette_png: bytes) -> None:
    [rendered] = render(transparent_palette_png, settings("a=37x37"))
    image = opened(rendered)
    assert image.mode == "RGBA"
    alphas = [image.getpixel((x, 5))[3] for x in range(image.width)]  # type: ignore[index]
    assert alphas[0] == 0
    assert alphas[-1] == 255
    assert any(0 < a < 255 for a in alphas)  # a real, antialiased edge
    for x in range(image.width):
        r, g, b, a = image.getpixel((x, 5))  # type: ignore[misc]
        if a > 0:
            # Straight (non-premultiplied) resampling would mix in the transparent
            # black and give grey edge pixels; premultiplied keeps them white.
            assert min(r, g, b) >= 250, (x, r, g, b, a)


def test_one_bit_image_is_resampled_smoothly(encode: Callable[..., bytes]) -> None:
    stripes = Image.new("1", (400, 100), 0)
    for x in range(0, 400, 2):
        stripes.paste(1, (x, 0, x + 1, 100))
    [rendered] = render(encode(stripes, "PNG"), settings("a=100x100"))
    image = opened(rendered)
    assert image.mode == "L"
    low, high = image.getextrema()  # type: ignore[misc]
    # Fine stripes average to mid-grey; NEAREST (Pillow's fallback for "1") would
    # give pure black or white.
    assert 100 <= low <= high <= 155


def test_la_image_keeps_alpha(encode: Callable[..., bytes]) -> None:
    image = Image.new("LA", (100, 100), (200, 0))
    image.paste((200, 255), (50, 0, 100, 100))
    [rendered] = render(encode(image, "PNG"), settings("a=50x50"))
    out = opened(rendered)
    assert out.mode == "LA"
    assert out.getpixel((45, 10)) == (200, 255)
    assert out.getpixel((2, 10))[1] == 0  # type: ignore[index]


# --- metadata -------------------------------------------------------------------


def test_exif_gps_and_xmp_are_stripped(
    photo_like: Image.Image, encode: Callable[..., bytes]
) -> None:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.0)
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        b"<exif:GPSLatitude>52,31N</exif:GPSLatitude></x:xmpmeta>"
    )
    for fmt in ("JPEG", "PNG", "WEBP"):
        data = encode(photo_like, fmt, exif=exif.tobytes(), xmp=xmp)
        assert b"SpyCam" in data
        for rendered in render(data, settings()):
            assert b"SpyCam" not in rendered.data, fmt
            assert b"GPSLatitude" not in rendered.data, fmt
            assert b"Exif\x00\x00" not in rendered.data, fmt
            assert not opened(rendered).getexif(), fmt


# --- concurrency ----------------------------------------------------------------


def test_threads_render_the_same_bytes(make_oriented_jpeg: Callable[..., bytes]) -> None:
    data = [make_oriented_jpeg(orientation) for orientation in range(1, 9)]
    expected = [[r.data for r in render(d, settings())] for d in data]
    with ThreadPoolExecutor(4) as pool:
        actual = list(pool.map(lambda d: [r.data for r in render(d, settings())], data * 3))
    assert actual == expected * 3


# --- multi-picture files --------------------------------------------------------


def test_mpo_renders_its_first_picture_as_jpeg(encode: Callable[..., bytes]) -> None:
    # Phone JPEGs with an MPF index (previews, depth) open as "MPO" in Pillow.
    first = Image.new("RGB", (300, 200), (200, 0, 0))
    second = Image.new("RGB", (300, 200), (0, 0, 200))
    data = encode(first, "MPO", save_all=True, append_images=[second])
    [rendered] = render(data, settings("a=30x30"))
    assert (rendered.format, rendered.converted, rendered.width, rendered.height) == (
        "JPEG",
        False,
        30,
        20,
    )
    assert close(opened(rendered).getpixel((15, 10)), (200, 0, 0))  # type: ignore[arg-type]


def test_multipage_tiff_renders_page_one_and_only_it_counts(tmp_path: Path) -> None:
    pages = [Image.new("RGB", (300, 200), c) for c in ((0, 160, 0), (0, 0, 200), (9, 9, 9))]
    path = tmp_path / "pages.tif"  # Pillow's multi-page TIFF writer needs a real file
    pages[0].save(path, save_all=True, append_images=pages[1:])
    limit = Settings(renditions=parse_renditions("a=30x30"), max_input_pixels=300 * 200)
    [rendered] = render(path.read_bytes(), limit)
    assert (rendered.format, rendered.width, rendered.height) == ("JPEG", 30, 20)
    assert close(opened(rendered).getpixel((15, 10)), (0, 160, 0))  # type: ignore[arg-type]


def test_apng_keeps_its_animation(encode: Callable[..., bytes]) -> None:
    frames = [Image.new("RGB", (300, 200), c) for c in ((200, 0, 0), (0, 0, 200))]
    data = encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=[50, 70])
    [rendered] = render(data, settings("a=30x30"))
    image = opened(rendered)
    assert getattr(image, "n_frames", 1) == 2
    image.seek(1)
    image.load()
    assert image.info["duration"] == 70
    assert close(image.convert("RGB").getpixel((15, 10)), (0, 0, 200))  # type: ignore[arg-type]


def test_lab_tiff_is_refused_with_its_colour_mode(encode: Callable[..., bytes]) -> None:
    from resizer.errors import UnsupportedFormatError

    with pytest.raises(UnsupportedFormatError, match="colour mode 'LAB'"):
        render(encode(Image.new("LAB", (20, 20)), "TIFF"), settings("a=10x10"))


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_heif_and_avif_orientation_is_applied_once(
    fmt: str,
    encode: Callable[..., bytes],
    quadrants: Callable[..., Image.Image],
    corners: dict[str, tuple[int, int, int]],
) -> None:
    # Stored 200x400 with the visual top-left (red) at the stored bottom-left, tagged 6.
    # pillow-heif lets libheif rotate (and resets the tag); Pillow's AVIF plugin keeps
    # the tag for us to apply. Either way the output must be upright, never rotated twice.
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    stored = quadrants(
        (200, 400),
        {"BL": corners["TL"], "TL": corners["TR"], "BR": corners["BL"], "TR": corners["BR"]},
    )
    exif = Image.Exif()
    exif[0x0112] = 6
    [rendered] = render(encode(stored, fmt, exif=exif.tobytes(), quality=90), settings("a=100x100"))
    image = opened(rendered).convert("RGB")
    assert image.size == (100, 50)
    assert close(image.getpixel((10, 5)), corners["TL"])  # type: ignore[arg-type]
    assert close(image.getpixel((90, 45)), corners["BR"])  # type: ignore[arg-type]


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_tiff_orientation_is_applied_once(
    orientation: int, make_oriented_jpeg: Callable[..., bytes]
) -> None:
    # Pillow's TIFF plugin orients TIFFs itself while loading; resizer must not
    # rotate them a second time. Same pixels and tag as the JPEG case, as a TIFF.
    stored = Image.open(io.BytesIO(make_oriented_jpeg(orientation)))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, "TIFF", exif=exif)
    tiff = render(buffer.getvalue(), settings("a=200x200"))[0]
    jpeg = render(make_oriented_jpeg(orientation), settings("a=200x200"))[0]
    tiff_image, jpeg_image = opened(tiff).convert("RGB"), opened(jpeg).convert("RGB")
    assert tiff_image.size == jpeg_image.size == (200, 100)
    for point in ((20, 10), (180, 10), (20, 90), (180, 90)):
        assert close(tiff_image.getpixel(point), jpeg_image.getpixel(point)), point  # type: ignore[arg-type]
