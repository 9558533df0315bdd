"""The hostile corpus: bad and unusual inputs, generated (plus a few committed files).

Each :class:`Case` is an S3 key, the bytes uploaded there, and what must happen:
``renders`` (the upright size of the source, the output Content-Type, frames) or
``fails`` (the DLQ ErrorType(s) acceptable). ``either`` cases (bit-flipped data) may
end either way, but never as a crash or a transient failure.
"""

from __future__ import annotations

from hostile_cases import CORRUPT, TOO_LARGE, Case, decoding_cases, refused
from hostile_inputs import (
    ADOBE_RGB,
    DISPLAY_P3,
    HUGE_PROFILE,
    apng_tiny_frames,
    big_exif,
    corrupt_exif,
    exif_orientation_text,
    gif_frames_bomb,
    gif_identical_frames,
    heic,
    ispe_bomb,
    no_profile,
    png_oriented,
    png_text_bombs,
    red_top_left,
    shows_for,
    tiff_second_page_bomb,
    webp_canvas_bomb,
)
from images import (
    animated,
    encode,
    jpeg,
    oriented_jpeg,
    picture,
    png,
)


def _metadata_format_and_key_cases() -> list[Case]:
    """Issue 12's animation, header and metadata bombs; ICC profiles; modern formats;
    wrong extensions; EXIF; awkward keys."""
    J, P, G, W = "image/jpeg", "image/png", "image/gif", "image/webp"
    cases = [
        # Issue 12: animations, metadata and headers that still hurt.
        # 230 KB: took 9.7 s, then OverflowError
        refused(
            "animation-bomb",
            "animation-bomb/10000-one-pixel-frames.gif",
            lambda: gif_frames_bomb(10_000, 32, 32),
            TOO_LARGE,
        ),
        refused(
            "animation-bomb",
            "animation-bomb/20000-identical-frames.gif",
            lambda: gif_identical_frames(20_000),
            TOO_LARGE,
        ),
        refused(
            "animation-bomb",
            "animation-bomb/10000-tiny-frames.png",
            lambda: apng_tiny_frames(10_000),
            TOO_LARGE,
        ),
        refused(
            "animation-bomb",
            "animation-bomb/webp-canvas-16383.webp",
            lambda: webp_canvas_bomb(16_383, 16_383),
            TOO_LARGE,
        ),
        Case(
            "tiny-frames",
            "tiny-frames/1000-frames-2x2.gif",
            lambda: animated("GIF", 1_000, size=2),
            (2, 2),
            G,
            frames=1_000,
        ),
        Case(
            "tiny-frames",
            "tiny-frames/1000-frames-2x2.png",
            lambda: apng_tiny_frames(1_000),
            (2, 2),
            P,
            frames=1_000,
        ),
        # one frame showing for 90 s
        Case(
            "tiny-frames",
            "tiny-frames/900-identical-frames.gif",
            lambda: gif_identical_frames(900),
            (16, 16),
            G,
            check=shows_for(90_000),
        ),
        # 10,000 s: clamped
        Case(
            "tiny-frames",
            "tiny-frames/1000-identical-10s-frames.gif",
            lambda: gif_identical_frames(1_000, centiseconds=1_000),
            (16, 16),
            G,
            check=shows_for(655_350),
        ),
        refused(
            "header-dimensions",
            "header-dimensions/heic-ispe-100000.heic",
            lambda: ispe_bomb(heic(), 100_000, 100_000),
            TOO_LARGE,
        ),
        refused(
            "header-dimensions",
            "header-dimensions/avif-ispe-12000.avif",
            lambda: ispe_bomb(encode(picture(400, 300), "AVIF", quality=50), 12_000, 12_000),
            TOO_LARGE,
        ),
        # Over libavif's own limit (16384 x 16384): it refuses to parse the header.
        refused(
            "header-dimensions",
            "header-dimensions/avif-ispe-100000.avif",
            lambda: ispe_bomb(encode(picture(400, 300), "AVIF", quality=50), 100_000, 100_000),
            TOO_LARGE,
            CORRUPT,
        ),
        Case(
            "header-dimensions",
            "header-dimensions/tiff-second-page-100000.tif",
            tiff_second_page_bomb,
            (64, 48),
            J,
        ),
        refused(
            "metadata-bomb",
            "metadata-bomb/ztxt-100mb.png",
            lambda: png_text_bombs()["ztxt"],
            CORRUPT,
        ),
        refused(
            "metadata-bomb",
            "metadata-bomb/itxt-100mb.png",
            lambda: png_text_bombs()["itxt"],
            CORRUPT,
        ),
        refused(
            "metadata-bomb",
            "metadata-bomb/iccp-100mb.png",
            lambda: png_text_bombs()["iccp"],
            CORRUPT,
        ),
        Case("metadata-bomb", "metadata-bomb/exif-1mb.png", lambda: big_exif("PNG"), (400, 300), P),
        Case(
            "metadata-bomb", "metadata-bomb/exif-1mb.webp", lambda: big_exif("WEBP"), (400, 300), W
        ),
        Case(
            "icc-huge",
            "icc-huge/2mb-profile.jpg",
            lambda: encode(picture(1800, 1200), "JPEG", icc_profile=HUGE_PROFILE),
            (1800, 1200),
            J,
            check=no_profile,
        ),
        Case(
            "icc-huge",
            "icc-huge/2mb-garbage-profile.jpg",
            lambda: encode(picture(1800, 1200), "JPEG", icc_profile=bytes(2 * 1024 * 1024)),
            (1800, 1200),
            J,
            check=no_profile,
        ),
        # ICC profiles: kept on every rendition.
        Case(
            "icc",
            "icc/display-p3.jpg",
            lambda: encode(picture(1800, 1200), "JPEG", icc_profile=DISPLAY_P3),
            (1800, 1200),
            J,
            icc=DISPLAY_P3,
        ),
        Case(
            "icc",
            "icc/adobe-rgb.jpg",
            lambda: encode(picture(1000, 800), "JPEG", icc_profile=ADOBE_RGB),
            (1000, 800),
            J,
            icc=ADOBE_RGB,
        ),
        Case(
            "icc",
            "icc/display-p3.png",
            lambda: encode(picture(900, 600), "PNG", icc_profile=DISPLAY_P3),
            (900, 600),
            P,
            icc=DISPLAY_P3,
        ),
        Case(
            "icc",
            "icc/garbage-profile.jpg",
            lambda: encode(picture(500, 400), "JPEG", icc_profile=b"not a profile" * 10),
            (500, 400),
            J,
        ),
        Case(
            "icc",
            "icc/cmyk-garbage-profile.jpg",
            lambda: encode(picture(500, 400, "CMYK"), "JPEG", icc_profile=b"junk" * 40),
            (500, 400),
            J,
        ),
        # Modern formats.
        Case("heic", "heic/photo.heic", heic, (640, 360), J),
        Case("heic", "heic/alpha.heic", lambda: heic(alpha=True), (640, 360), P),
        Case(
            "avif",
            "avif/photo.avif",
            lambda: encode(picture(800, 450), "AVIF", quality=50),
            (800, 450),
            J,
        ),
        # Wrong extension: the bytes decide.
        Case("wrong-extension", "misnamed/really-a-png.jpg", lambda: png(700, 500), (700, 500), P),
        Case(
            "wrong-extension", "misnamed/really-a-jpeg.gif", lambda: jpeg(700, 500), (700, 500), J
        ),
        Case(
            "wrong-extension",
            "misnamed/really-a-webp.png",
            lambda: encode(picture(700, 500), "WEBP"),
            (700, 500),
            W,
        ),
        Case("wrong-extension", "misnamed/no-extension", lambda: jpeg(300, 300), (300, 300), J),
        # EXIF.
        Case(
            "exif",
            "exif/gps-and-orientation-6.jpg",
            lambda: oriented_jpeg(6, gps=True),
            (400, 200),
            J,
            check=red_top_left,
        ),
        Case("exif", "exif/corrupt-exif.jpg", corrupt_exif, (320, 240), J),
        Case("exif", "exif/orientation-is-text.jpg", exif_orientation_text, (320, 240), J),
        Case(
            "exif",
            "exif/orientation-9.jpg",
            lambda: oriented_jpeg(9),
            (400, 200),
            J,
            check=red_top_left,
        ),
        Case(
            "exif",
            "exif/orientation-0.jpg",
            lambda: oriented_jpeg(0),
            (400, 200),
            J,
            check=red_top_left,
        ),
        Case(
            "exif",
            "exif/png-exif-orientation-8.png",
            lambda: png_oriented(8),
            (400, 200),
            P,
            check=red_top_left,
        ),
    ]
    for orientation in range(1, 9):
        cases.append(
            # type: ignore[misc]
            # upright; stored 200x400 for 5-8
            Case(
                "exif-orientation",
                f"exif/orientation-{orientation}.jpg",
                lambda o=orientation: oriented_jpeg(o),
                (400, 200),
                J,
                check=red_top_left,
            )
        )
    keys = [
        "keys/with spaces in it.jpg",
        "keys/café-nfc.jpg".replace("é", "\u00e9"),
        "keys/cafe\u0301-nfd.jpg",
        "keys/emoji-\U0001f4f7-\u65e5\u672c.jpg",
        "keys/100%-sure %20 %zz.jpg",
        "keys/one+one=two.jpg",
        "keys/hash#tag.jpg",
        "keys/question?.jpg",
        "keys/amp&semi;quote'\"<>.jpg",
        "keys//double//slashes/.jpg",
        "keys/tab\tand~tilde.jpg",
        "keys/" + "long-" * 198 + "x.jpg",  # 1,000 characters
    ]
    assert len(keys[-1]) == 1000
    small = jpeg(320, 200)
    cases += [Case("keys", key, lambda: small, (320, 200), J) for key in keys]
    return cases


CASES = [*decoding_cases(), *_metadata_format_and_key_cases()]
