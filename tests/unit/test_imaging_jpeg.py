"""JPEG specifics: markers read before decoding, the scan limit, N/8 shrink-on-load
through TurboJPEG (simplejpeg) or Pillow, and progressive output only where it pays."""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
import pytest
from images import encode, jpeg_scan_bomb
from PIL import Image, ImageCms, ImageFile

from resizer.config import Settings, parse_renditions
from resizer.errors import ConfigurationError, CorruptImageError, ImageTooLargeError
from resizer.imaging import _decode, _jpeg, render
from resizer.imaging._admission import open_within_limits
from resizer.imaging._memory import estimate_bytes
from resizer.imaging._render import resample


def jpeg(image: Image.Image, **options: object) -> bytes:
    return encode(image, "JPEG", **({"quality": 85} | options))


def photo(size: tuple[int, int] = (640, 480)) -> Image.Image:
    """Smooth gradients plus a sharp edge: something for the IDCT to get wrong."""
    width, height = size
    x = np.linspace(0, 255, width)[None, :]
    y = np.linspace(0, 255, height)[:, None]
    rgb = np.stack(
        [x + 0 * y, y + 0 * x, 255 - (x + y) / 2 + (np.sin(x / 9) * np.cos(y / 7) * 40)], axis=2
    )
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    image.paste((240, 240, 240), (width // 3, height // 3, width // 2, height // 2))
    return image


def opened_of(data: bytes, settings: Settings | None = None) -> object:
    return open_within_limits(data, settings or Settings())


@pytest.fixture(params=["turbo", "pillow"])
def decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test through simplejpeg's N/8 decode and through Pillow's draft()."""
    if request.param == "pillow":
        monkeypatch.setattr(_decode, "turbo", lambda: None)
    else:
        assert _decode.turbo() is not None, "simplejpeg is a dev dependency"
    return str(request.param)


# --- markers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "options", "scans", "sampling", "bytes_per_pixel"),
    [
        ("RGB", {"progressive": True, "subsampling": 2}, 10, ((2, 2), (1, 1), (1, 1)), 3),
        ("RGB", {"progressive": True, "subsampling": 0}, 10, ((1, 1), (1, 1), (1, 1)), 6),
        ("L", {"progressive": True}, 6, ((1, 1),), 2),
        ("RGB", {"subsampling": 1}, 1, ((2, 1), (1, 1), (1, 1)), 4),
    ],
)
def test_markers_give_scans_sampling_and_the_coefficient_buffer(
    mode: str,
    options: dict[str, object],
    scans: int,
    sampling: tuple[tuple[int, int], ...],
    bytes_per_pixel: int,
) -> None:
    data = jpeg(photo((320, 160)).convert(mode), **options)
    info = _jpeg.read(data, scan_limit=100)
    assert info is not None
    assert (info.width, info.height, info.scans, info.sampling) == (320, 160, scans, sampling)
    assert info.progressive == bool(options.get("progressive"))
    assert info.buffered == info.progressive
    # 320x160 is a whole number of MCUs, so the buffer is exactly this many bytes a pixel.
    assert info.coefficient_bytes() == 320 * 160 * bytes_per_pixel


def test_coefficient_buffer_rounds_up_to_whole_mcus() -> None:
    info = _jpeg.JpegInfo(17, 9, 0xC2, ((2, 2), (1, 1), (1, 1)), 10)
    # Y: 3x2 blocks rounded to 4x2 (MCU = 2x2 blocks); Cb, Cr: 2x1 blocks each.
    assert info.coefficient_bytes() == (4 * 2 + 2 + 2) * 128


def test_an_embedded_thumbnail_does_not_count_as_scans() -> None:
    thumbnail = jpeg(photo((160, 120)), progressive=True)  # 10 scans of its own
    exif = Image.Exif()
    exif[0x0112] = 1
    payload = b"Exif\x00\x00" + exif.tobytes() + thumbnail
    data = jpeg(photo())
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    data = data[:2] + segment + data[2:]
    info = _jpeg.read(data, scan_limit=100)
    assert info is not None
    assert (info.scans, info.progressive) == (1, False)


def test_counting_stops_past_the_limit() -> None:
    info = _jpeg.read(jpeg_scan_bomb(1000, size=64), scan_limit=20)
    assert info is not None
    assert info.scans == 21


@pytest.mark.parametrize("cut", [2, 3, 20, 200, 700])
def test_damaged_markers_never_raise(cut: int) -> None:
    data = jpeg(photo(), progressive=True)
    for broken in (data[:cut], data[:cut] + b"\xff\xc2\x00", data[:cut] + bytes(50)):
        info = _jpeg.read(broken, scan_limit=100)
        assert info is None or info.scans <= 10


# --- the scan limit (issue 12: a 10,000-scan progressive JPEG took 57 s) ------------


def test_a_scan_bomb_is_refused_before_any_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    data = jpeg_scan_bomb(2000, size=2000)
    assert len(data) < 1_000_000  # a small upload...
    info = _jpeg.read(data, scan_limit=10**6)
    assert info is not None
    assert info.scans == 2009  # ...that would decode a 4 MP image 2,009 times

    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("decoded a JPEG the scan limit should have refused")

    monkeypatch.setattr(ImageFile.ImageFile, "load", never)
    monkeypatch.setattr(_decode, "decode", never)
    with pytest.raises(ImageTooLargeError, match="MAX_JPEG_SCANS") as caught:
        render(data, Settings())
    assert caught.value.permanent
    assert "100 scans" in caught.value.reason


def test_the_limit_is_a_setting_and_real_photos_pass_it() -> None:
    data = jpeg(photo(), progressive=True)  # 10 scans, as libjpeg writes them
    assert len(render(data, Settings(max_jpeg_scans=10))) == 3
    with pytest.raises(ImageTooLargeError, match="more than 9 scans"):
        render(data, Settings(max_jpeg_scans=9))
    assert Settings.from_env({"MAX_JPEG_SCANS": "12"}).max_jpeg_scans == 12
    assert Settings.from_env({}).max_jpeg_scans == Settings().max_jpeg_scans == 100
    with pytest.raises(ConfigurationError, match="MAX_JPEG_SCANS"):
        Settings.from_env({"MAX_JPEG_SCANS": "0"})


# --- shrink-on-load -----------------------------------------------------------------


def test_turbo_decodes_at_the_smallest_n_eighths_that_covers_the_box(decoder: str) -> None:
    data = jpeg(photo((3088, 2056)))
    opened = opened_of(data)
    image, box = _decode.decode(data, opened, (1600, 1066))  # type: ignore[arg-type]
    if decoder == "turbo":
        # 4/8 would give 1544 < 1600; 5/8 gives 1930 x 1285.
        assert image.size == (1930, 1285)
        assert box == (0.0, 0.0, 3088 * 5 / 8, 2056 * 5 / 8)
    else:  # Pillow has only 1/2, 1/4, 1/8: a full decode
        assert image.size == (3088, 2056)
        assert box in (None, (0, 0, 3088, 2056))
    pixels = _decode.decoded_pixels(opened, (1600, 1066))  # type: ignore[arg-type]
    assert pixels == image.width * image.height


def test_both_decoders_give_the_same_renditions(monkeypatch: pytest.MonkeyPatch) -> None:
    data = jpeg(photo((2400, 1800)), quality=95)
    settings = Settings(renditions=parse_renditions("a=1000x1000,b=300x300"))
    turbo = resample(data, settings)
    monkeypatch.setattr(_decode, "turbo", lambda: None)
    pillow = resample(data, settings)
    for mine, theirs in zip(turbo, pillow, strict=True):
        assert mine.size == theirs.size
        difference = np.abs(np.asarray(mine, np.int16) - np.asarray(theirs, np.int16))
        assert difference.mean() < 1.5, difference.mean()


def test_orientation_and_icc_profile_survive_either_decoder(
    decoder: str, make_oriented_jpeg: Callable[..., bytes], corners: dict[str, tuple[int, ...]]
) -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    stored = Image.open(io.BytesIO(make_oriented_jpeg(6)))
    data = jpeg(stored, exif=stored.getexif(), icc_profile=profile)
    assert _jpeg.read(data, 100) is not None
    [large, small] = render(data, Settings(renditions=parse_renditions("a=160x160,b=40x40")))
    for rendered in (large, small):
        image = Image.open(io.BytesIO(rendered.data))
        assert image.info.get("icc_profile") == profile
        assert 0x0112 not in image.getexif()
        assert image.size == ((160, 80) if rendered is large else (40, 20))  # upright 400x200
        rgb = image.convert("RGB")
        w, h = rgb.size
        top_left = rgb.getpixel((w // 8, h // 8))
        bottom_right = rgb.getpixel((w - 1 - w // 8, h - 1 - h // 8))
        assert isinstance(top_left, tuple)
        assert isinstance(bottom_right, tuple)
        assert max(abs(a - b) for a, b in zip(top_left, corners["TL"], strict=True)) < 40
        assert max(abs(a - b) for a, b in zip(bottom_right, corners["BR"], strict=True)) < 40


def test_greyscale_jpeg_stays_greyscale(decoder: str) -> None:
    data = jpeg(photo((900, 600)).convert("L"), progressive=True)
    [rendered] = render(data, Settings(renditions=parse_renditions("a=300x300")))
    image = Image.open(io.BytesIO(rendered.data))
    assert (image.mode, image.size) == ("L", (300, 200))


def test_cmyk_jpeg_goes_through_pillow_even_with_turbo(decoder: str) -> None:
    data = jpeg(photo((400, 300)).convert("CMYK"))
    opened = opened_of(data)
    assert not _decode.uses_turbo(opened)  # type: ignore[arg-type]
    [rendered] = render(data, Settings(renditions=parse_renditions("a=200x200")))
    assert Image.open(io.BytesIO(rendered.data)).mode == "RGB"


def test_a_truncated_jpeg_is_corrupt_with_either_decoder(decoder: str) -> None:
    data = jpeg(photo((800, 600)), progressive=decoder == "turbo")
    with pytest.raises(CorruptImageError, match="damaged or truncated"):
        render(data[: len(data) * 2 // 3], Settings())


# --- memory estimate ----------------------------------------------------------------


def test_the_estimate_holds_the_coefficients_only_for_progressive_jpegs(decoder: str) -> None:
    image = photo((4096, 3072))
    baseline, progressive = jpeg(image), jpeg(image, progressive=True)
    box = (400, 300)
    low = estimate_bytes(opened_of(baseline), 0, box)  # type: ignore[arg-type]
    high = estimate_bytes(opened_of(progressive), 0, box)  # type: ignore[arg-type]
    info = _jpeg.read(progressive, 100)
    assert info is not None
    assert info.coefficient_bytes() == 4096 * 3072 * 3
    # Baseline: decoded pixels (1/8 scale, 512 x 384) + 16 MB for the renditions;
    # progressive: the coefficients + the decoded pixels, the larger of the two.
    decoded = 512 * 384 * (7 if decoder == "turbo" else 4)
    assert low == decoded + 16 * 2**20
    assert high == info.coefficient_bytes() + decoded


# --- progressive output only where it pays ------------------------------------------


@pytest.mark.parametrize(("minimum", "progressive"), [(250, (1, 0)), (0, (1, 1)), (10**6, (0, 0))])
def test_progressive_only_from_the_configured_side(
    minimum: int, progressive: tuple[int, int]
) -> None:
    settings = Settings(
        renditions=parse_renditions("big=400x400,small=150x150"),
        jpeg_progressive_min_side=minimum,
    )
    rendered = render(jpeg(photo()), settings)
    flags = tuple(int(Image.open(io.BytesIO(r.data)).info.get("progressive", 0)) for r in rendered)
    assert flags == progressive
    assert math.prod(r.width for r in rendered) > 0


def test_progressive_threshold_setting() -> None:
    assert Settings.from_env({}).jpeg_progressive_min_side == 250
    assert Settings.from_env({"JPEG_PROGRESSIVE_MIN_SIDE": "0"}).jpeg_progressive_min_side == 0
    with pytest.raises(ConfigurationError, match="JPEG_PROGRESSIVE_MIN_SIDE"):
        Settings.from_env({"JPEG_PROGRESSIVE_MIN_SIDE": "-1"})
