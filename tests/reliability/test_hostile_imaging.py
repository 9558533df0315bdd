"""Issue 12's hostile inputs, at the imaging seam: the rules behind each outcome.

Frames are counted from the container before Pillow opens the file; nothing is
decoded before its memory is reserved; the deadline is checked between frames;
failures the same bytes always reproduce are permanent; Pillow's own guard stays on
at MAX_INPUT_PIXELS; huge ICC profiles are applied, not copied into every rendition.
The corpus (test_hostile_corpus.py) runs the same inputs through the handler.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hostile_inputs import (
    HUGE_PROFILE,
    apng_tiny_frames,
    gif_frames_bomb,
    gif_identical_frames,
    webp_canvas_bomb,
)
from images import animated, encode, picture
from PIL import Image, ImageFile
from test_memory import probe

from resizer import imaging
from resizer.config import Settings
from resizer.errors import (
    DeadlineError,
    EncodingError,
    ImageTooLargeError,
    PermanentError,
    no_deadline,
)
from resizer.imaging import _admission, _decode, _frames, _output
from resizer.imaging._memory import MB
from resizer.imaging._source import decoding, open_image

SETTINGS = Settings()


@pytest.mark.parametrize(
    ("build", "sniffed", "frames", "limit"),
    [
        (lambda: gif_frames_bomb(10_000, 32, 32), "GIF", 10_000, SETTINGS.max_input_frames),
        (lambda: apng_tiny_frames(2_000), "PNG", 2_000, SETTINGS.max_input_frames),
        (lambda: animated("WEBP", 30, size=8), "WebP", 30, 10),
    ],
    ids=["gif", "apng", "webp"],
)
def test_frames_over_the_limit_are_refused_before_pillow_opens_the_file(
    build: Callable[[], bytes],
    sniffed: str,
    frames: int,
    limit: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = build()
    container = _frames.scan(data, sniffed, limit)
    assert container is not None
    # GIF and WebP walks stop one past the limit; APNG's acTL says the count outright.
    assert container.frames == (frames if sniffed == "PNG" else limit + 1)
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("opened"))
    with pytest.raises(ImageTooLargeError, match="MAX_INPUT_FRAMES"):
        imaging.render(data, replace(SETTINGS, max_input_frames=limit))


def test_the_frame_count_is_checked_again_after_opening() -> None:
    data = animated("GIF", 12, size=8)
    assert len(imaging.render(data, replace(SETTINGS, max_input_frames=12))) == 3
    with pytest.raises(ImageTooLargeError, match="12 frames"):
        open_image(data, SETTINGS.max_input_pixels, SETTINGS.max_input_bytes, 11, 100)


def test_an_animated_webp_canvas_is_refused_before_libwebp_allocates_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("opened"))
    with pytest.raises(ImageTooLargeError, match="2 frames of 16383x16383"):
        imaging.render(webp_canvas_bomb(16_383, 16_383), SETTINGS)


def test_the_deadline_is_checked_between_frames() -> None:
    calls = 0

    def check_deadline() -> None:
        nonlocal calls
        calls += 1
        if calls > 5:
            raise DeadlineError("out of time")

    with pytest.raises(DeadlineError):
        imaging.render(animated("GIF", 40, size=16), SETTINGS, check_deadline=check_deadline)
    assert calls == 6  # stopped at the sixth frame, not after all forty


def test_identical_frames_are_merged_and_clamped_instead_of_overflowing_the_encoder() -> None:
    # 1,000 identical frames of 10 s: Pillow's writer would merge them into 10,000 s and
    # fail to write it (OverflowError, retried as transient until maxReceiveCount).
    outputs = imaging.render(gif_identical_frames(1_000, centiseconds=1_000), SETTINGS)
    for output in outputs:
        with Image.open(io.BytesIO(output.data)) as image:
            assert getattr(image, "n_frames", 1) == 1
            assert image.info["duration"] == _frames.MAX_FRAME_MS["GIF"]


def test_merge_repeats_keeps_distinct_frames_and_sums_repeats() -> None:
    red, blue = (
        Image.new("RGBa", (4, 4), (255, 0, 0, 255)),
        Image.new("RGBa", (4, 4), (0, 0, 9, 255)),
    )
    frames, times = _frames.merge_repeats(
        [red, red.copy(), blue, red, red], [100, 200, 50, 60_000, 10_000], 65_535
    )
    assert [f.getpixel((0, 0)) for f in frames] == [
        (255, 0, 0, 255),
        (0, 0, 9, 255),
        (255, 0, 0, 255),
    ]
    assert times == [300, 50, 65_535]


def test_an_encoder_failure_is_permanent_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def overflow(*args: object, **kwargs: object) -> bytes:
        raise OverflowError("int too big to convert")

    monkeypatch.setattr(_output, "encode_animation", overflow)
    with pytest.raises(EncodingError, match="int too big to convert") as raised:
        imaging.render(animated("GIF", 3, size=8), SETTINGS)
    assert raised.value.permanent
    assert isinstance(raised.value, PermanentError)


class _WatchedBudget(imaging.MemoryBudget):
    """A budget that knows whether a reservation is held, and what was reserved."""

    def __init__(self) -> None:
        super().__init__(0)
        self.held = False
        self.amounts: list[int] = []

    @contextmanager
    def reserve(
        self, amount: int, check_deadline: Callable[[], None] = no_deadline
    ) -> Iterator[None]:
        self.amounts.append(amount)
        self.held = True
        try:
            yield
        finally:
            self.held = False


@pytest.mark.parametrize(
    "data",
    [
        encode(picture(300, 200), "TIFF"),
        encode(picture(300, 200), "PNG", exif=Image.Exif().tobytes()),
        encode(picture(300, 200), "JPEG"),
        animated("GIF", 5, size=32),
        animated("PNG", 5, size=32),
        animated("WEBP", 5, size=32),
        encode(picture(300, 200), "WEBP"),
    ],
    ids=["tiff", "png-exif", "jpeg", "gif", "apng", "webp-animated", "webp"],
)
def test_nothing_is_decoded_before_its_memory_is_reserved(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    budget = _WatchedBudget()
    loads: list[bool] = []
    real_load = ImageFile.ImageFile.load

    def load(self: ImageFile.ImageFile) -> object:
        loads.append(budget.held)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    # JPEGs decode through simplejpeg (TurboJPEG's N/8 scaling) where it is installed.
    real_turbo = _decode._turbo_decode

    def turbo_decode(*args: Any) -> Any:
        loads.append(budget.held)
        return real_turbo(*args)

    monkeypatch.setattr(_decode, "_turbo_decode", turbo_decode)
    opens: list[bool] = []
    real_open = Image.open

    def open_(*args: object, **kwargs: object) -> object:
        opens.append(budget.held)
        return real_open(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image, "open", open_)
    imaging.render(data, SETTINGS, budget)
    assert loads
    assert all(loads), "pixels were decoded before the reservation"
    if data[8:12] == b"WEBP":
        assert opens == [True], "libwebp allocates its canvases at open: reserve first"


def test_an_animations_estimate_counts_its_frames() -> None:
    one = animated("GIF", 1, size=400)
    many = animated("GIF", 50, size=400)
    settings = SETTINGS
    opened_one = open_image(one, settings.max_input_pixels, settings.max_input_bytes, 1000, 100)
    opened_many = open_image(many, settings.max_input_pixels, settings.max_input_bytes, 1000, 100)
    # 50 frames of 400x400 kept for three renditions (400, 400 and 150 px): > 50 x 1.3 MB.
    assert _admission.estimate(opened_many, len(many), settings) > 50 * (
        4 * (2 * 400 * 400 + 150 * 150)
    )
    assert _admission.estimate(opened_many, len(many), settings) > 10 * _admission.estimate(
        opened_one, len(one), settings
    )


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(
    "build",
    [
        lambda: animated("GIF", 60, size=600),
        lambda: animated("PNG", 60, size=600),
        lambda: animated("WEBP", 60, size=600),
        lambda: webp_canvas_bomb(4_000, 4_000),
        lambda: encode(picture(4_000, 3_000), "WEBP"),
    ],
    ids=["gif-60x600", "apng-60x600", "webp-60x600", "webp-canvas-4000", "webp-still-12mp"],
)
def test_an_animation_is_budgeted_for_what_it_really_uses(
    build: Callable[[], bytes], tmp_path: Path
) -> None:
    data = build()
    (tmp_path / "animation").write_bytes(data)
    (line,) = probe(tmp_path)
    assert line["outcome"].startswith("rendered"), line
    opened = open_image(data, SETTINGS.max_input_pixels, SETTINGS.max_input_bytes, 1000, 100)
    estimate_mb = _admission.estimate(opened, len(data), SETTINGS) / MB
    assert line["peak_mb"] <= estimate_mb, (line, estimate_mb)


def test_pillows_guard_is_on_at_the_configured_limit() -> None:
    settings = replace(SETTINGS, max_input_pixels=1_000_000)
    imaging.render(encode(picture(100, 100), "JPEG"), settings)
    assert Image.MAX_IMAGE_PIXELS == 1_000_000
    imaging.render(encode(picture(100, 100), "JPEG"), SETTINGS)
    assert SETTINGS.max_input_pixels == Image.MAX_IMAGE_PIXELS


@pytest.mark.parametrize(
    "error",
    [
        Image.DecompressionBombError("Image size (300000001 pixels) exceeds limit"),
        Image.DecompressionBombWarning("Image size (150000001 pixels) exceeds limit"),
    ],
)
def test_pillows_bomb_errors_and_warnings_are_image_too_large(error: Exception) -> None:
    with pytest.raises(ImageTooLargeError, match="MAX_INPUT_PIXELS"), decoding("TIFF image"):
        raise error


def test_a_heic_whose_header_claims_too_many_pixels_meets_pillows_guard() -> None:
    from hostile_inputs import heic, ispe_bomb

    data = ispe_bomb(heic(), 30_000, 30_000)
    for action in ("error", "ignore"):  # pytest turns warnings into errors; Lambda does not
        with warnings.catch_warnings():
            warnings.simplefilter(action)
            with pytest.raises(ImageTooLargeError, match="MAX_INPUT_PIXELS"):
                imaging.render(data, SETTINGS)


def test_a_two_megabyte_profile_is_applied_not_copied_into_a_thumbnail() -> None:
    data = encode(picture(1800, 1200), "JPEG", icc_profile=HUGE_PROFILE)
    assert len(data) > 2 * 1024 * 1024
    small = encode(picture(1800, 1200), "JPEG")
    thumbnail = imaging.render(data, SETTINGS)[-1]
    plain = imaging.render(small, SETTINGS)[-1]
    assert thumbnail.width == 150
    assert len(thumbnail.data) < 3 * len(plain.data) < 64 * 1024
    with Image.open(io.BytesIO(thumbnail.data)) as image:
        assert "icc_profile" not in image.info
        # Display P3 red, converted to sRGB, is no longer the stored value.
        converted = image.convert("RGB").getpixel((40, 25))
    with Image.open(io.BytesIO(plain.data)) as image:
        stored = image.convert("RGB").getpixel((40, 25))
    assert converted != stored


def test_small_profiles_are_still_kept_byte_for_byte() -> None:
    from hostile_inputs import DISPLAY_P3

    data = encode(picture(400, 300), "JPEG", icc_profile=DISPLAY_P3)
    for output in imaging.render(data, SETTINGS):
        with Image.open(io.BytesIO(output.data)) as image:
            assert image.info.get("icc_profile") == DISPLAY_P3
