from __future__ import annotations

from dataclasses import replace

import pytest

from resizer import config
from resizer.config import UNBOUNDED, Rendition, Settings, fingerprint, parse_renditions
from resizer.errors import ConfigurationError


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.renditions == (
        Rendition("large", 1600, 1600),
        Rendition("medium", 800, 800),
        Rendition("thumbnails", 150, 150),
    )
    assert settings.jpeg_quality == 85
    assert settings.max_input_pixels == 100_000_000


def test_renditions_sorted_by_area_largest_first() -> None:
    parsed = parse_renditions(" small=100x50 , banner=1200x300,square=400x400 ")
    assert [r.name for r in parsed] == ["banner", "square", "small"]


@pytest.mark.parametrize(
    "text",
    ["", "thumb", "thumb=0x10", "thumb=x", "a=1x1,a=2x2", "bad name=1x1", "x=10X10"],
)
def test_bad_renditions_are_explained(text: str) -> None:
    with pytest.raises(ConfigurationError, match="RENDITIONS"):
        parse_renditions(text)


def test_the_issue_example_parses() -> None:
    parsed = parse_renditions(
        "thumbnails=150x150:cover,medium=800x800:format=original+webp,"
        "large=1600x1600:format=original+webp+avif:quality=70"
    )
    assert parsed == (
        Rendition("large", 1600, 1600, "fit", ("original", "webp", "avif"), 70),
        Rendition("medium", 800, 800, "fit", ("original", "webp")),
        Rendition("thumbnails", 150, 150, "cover"),
    )


def test_one_sided_boxes_are_unbounded_on_the_other_side() -> None:
    wide, tall = parse_renditions("wide=1024x,tall=x600")
    assert (wide.width, wide.height, wide.box) == (1024, None, (1024, UNBOUNDED))
    assert (tall.width, tall.height, tall.box) == (None, 600, (UNBOUNDED, 600))


@pytest.mark.parametrize(
    "item",
    [
        "thumbnails=150x150:cover",
        "a=1024x",
        "b=x600:format=webp+avif:quality=55",
        "c=10x20:fit:format=png",
    ],
)
def test_str_spells_the_item_back(item: str) -> None:
    (parsed,) = parse_renditions(item)
    assert parse_renditions(str(parsed)) == (parsed,)


@pytest.mark.parametrize(
    ("item", "fix"),
    [
        ("t=150x:cover", "cover needs both sides"),
        ("t=150x150:crop", "unknown option 'crop'"),
        ("t=150x150:format=gif", "format= takes"),
        ("t=150x150:format=webp+webp", "format= takes"),
        ("t=150x150:format=webp:format=avif", "format= takes"),
        ("t=150x150:quality=0", "quality= takes"),
        ("t=150x150:quality=101", "quality= takes"),
        ("t=150x150:quality=high", "quality= takes"),
        ("t=150x150:fit:cover", "'fit' or 'cover' once"),
        ("t=150x150:watermark:watermark", "'watermark' once"),
        # A flag given a value, or a valued option none: not an option of the grammar.
        ("t=150x150:cover=yes", "unknown option 'cover=yes'"),
        ("t=150x150:watermark=1", "unknown option 'watermark=1'"),
        ("t=150x150:quality", "unknown option 'quality'"),
        ("t=150x150:format=", "unknown option 'format='"),
        ("manifests=150x150", "reserved"),
        ("t=150*150", "the box is WIDTHxHEIGHT"),
    ],
)
def test_a_bad_item_is_named_with_its_fix(item: str, fix: str) -> None:
    with pytest.raises(ConfigurationError, match="RENDITIONS item") as raised:
        Settings.from_env({"RENDITIONS": f"ok=10x10,{item}"})
    assert repr(item) in str(raised.value)
    assert fix in str(raised.value)


_SPEC = "thumbnails=150x150:cover,medium=800x800:format=original+webp,large=1600x1600"


def _prints(env: dict[str, str]) -> dict[str, str]:
    settings = Settings.from_env({"RENDITIONS": _SPEC, **env})
    return {r.name: fingerprint(settings, r) for r in settings.renditions} | {
        "*": fingerprint(settings)
    }


def test_fingerprint_is_stable() -> None:
    first = _prints({})
    assert first == _prints({})
    assert all(len(value) == 12 for value in first.values())
    # Settings that do not touch the bytes leave it alone.
    assert first == _prints(
        {"CACHE_CONTROL": "no-cache", "WORKERS": "2", "AVIF_QUALITY": "40", "MAX_JPEG_SCANS": "9"}
    )


_MARKED = {"RENDITIONS": _SPEC + ":watermark", "WATERMARK": "s3://b/k"}
_PNG_JPEG = {"RENDITIONS": "p=10x10:format=png,j=10x10:format=jpeg"}


@pytest.mark.parametrize(
    ("base", "env", "changed"),
    [
        # Each encoder setting is checked by test_encoders.py (generated from the one
        # declaration, resizer.config.Encoders); here one, from the environment.
        # "original" may be JPEG, PNG or WebP: every rendition listing it changes.
        ({}, {"JPEG_QUALITY": "80"}, {"thumbnails", "medium", "large"}),
        ({}, {"RENDITIONS": _SPEC.replace("800x800", "1024x1024")}, {"medium"}),
        ({}, {"RENDITIONS": _SPEC.replace(":cover", "")}, {"thumbnails"}),
        ({}, {"RENDITIONS": _SPEC.replace("+webp", "+avif")}, {"medium"}),
        ({}, {"RENDITIONS": _SPEC + ":quality=90"}, {"large"}),
        # HDR: not an encoder option, but it changes every JPEG rendition's bytes.
        (_PNG_JPEG, {**_PNG_JPEG, "HDR": "drop"}, {"j"}),
        # What metadata every rendition keeps (issue 20).
        ({}, {"METADATA": "all"}, {"thumbnails", "medium", "large"}),
        ({}, {"METADATA": "none"}, {"thumbnails", "medium", "large"}),
        # The watermark's settings change only the renditions marked with it.
        (_MARKED, {**_MARKED, "WATERMARK_SCALE": "0.3"}, {"large"}),
        (_MARKED, {**_MARKED, "WATERMARK_OPACITY": "0.5"}, {"large"}),
        (_MARKED, {**_MARKED, "WATERMARK_MIN_WIDTH": "100"}, {"large"}),
        ({}, {"RENDITIONS": _SPEC + ":watermark", "WATERMARK": "s3://b/k"}, {"large"}),
        # Faces move where cover crops are cut, and only those (issue 20).
        ({}, {"FACE_DETECTION": "off"}, {"thumbnails"}),
    ],
)
def test_a_byte_changing_setting_changes_the_fingerprint(
    base: dict[str, str], env: dict[str, str], changed: set[str]
) -> None:
    before, after = _prints(base), _prints(env)
    assert {name for name in before if before[name] != after[name]} == changed | {"*"}


def test_the_set_fingerprint_covers_names_and_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    base = _prints({})["*"]
    assert _prints({"RENDITIONS": _SPEC + ",extra=10x10"})["*"] != base
    monkeypatch.setattr(config, "ENGINE_VERSION", "next")
    assert _prints({})["*"] != base
    # The face detector is part of a cover rendition's engine.
    thumbnails = _prints({})["thumbnails"]
    monkeypatch.setattr(config, "FACE_DETECTOR", "next")
    assert _prints({})["thumbnails"] != thumbnails


@pytest.mark.parametrize(
    ("name", "value"), [("JPEG_QUALITY", "0"), ("JPEG_QUALITY", "high"), ("WORKERS", "0")]
)
def test_bad_numbers_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: value})


def test_require_aws_names_what_is_missing() -> None:
    with pytest.raises(ConfigurationError, match="DESTINATION_BUCKET and DEAD_LETTER_QUEUE_URL"):
        Settings.from_env({}).require_aws()
    settings = Settings.from_env({"DESTINATION_BUCKET": "b", "DEAD_LETTER_QUEUE_URL": "q"})
    assert settings.require_aws() is settings


def test_source_bucket_is_read_and_unset_means_any() -> None:
    assert Settings.from_env({}).source_bucket == ""
    assert Settings.from_env({"SOURCE_BUCKET": " uploads-1 "}).source_bucket == "uploads-1"


def test_metadata_takes_one_of_its_modes() -> None:
    """METADATA: copyright (default), all or none, in any case; anything else names them."""
    assert Settings.from_env({}).metadata == "copyright"
    assert Settings.from_env({"METADATA": " ALL "}).metadata == "all"
    assert Settings.from_env({"METADATA": "none"}).metadata == "none"
    with pytest.raises(ConfigurationError, match="METADATA='gps' is not one of copyright, all"):
        Settings.from_env({"METADATA": "gps"})
    assert config.METADATA_MODES == ("copyright", "all", "none")


def test_face_detection_is_on_or_off() -> None:
    """FACE_DETECTION: on (default: it fits the zip and the cold start, docs/performance.md)
    or off, in any case; anything else names both."""
    assert Settings.from_env({}).face_detection == "on"
    assert Settings.from_env({"FACE_DETECTION": " OFF "}).face_detection == "off"
    with pytest.raises(ConfigurationError, match="FACE_DETECTION='yes' is not one of on, off"):
        Settings.from_env({"FACE_DETECTION": "yes"})


def test_watermark_settings() -> None:
    """WATERMARK_SCALE/OPACITY are fractions (0.01..1), WATERMARK_MIN_WIDTH pixels; a
    rendition asking for a watermark needs WATERMARK."""
    settings = Settings.from_env(
        {
            "RENDITIONS": "a=800x800:cover:watermark,b=100x100",
            "WATERMARK": " s3://brand/mark.png ",
            "WATERMARK_SCALE": "0.25",
            "WATERMARK_OPACITY": "1",
            "WATERMARK_MIN_WIDTH": "0",
        }
    )
    assert [r.watermark for r in settings.renditions] == [True, False]
    assert str(settings.renditions[0]) == "a=800x800:cover:watermark"
    assert parse_renditions(str(settings.renditions[0])) == settings.renditions[:1]
    assert settings.watermark == "s3://brand/mark.png"
    assert (settings.watermark_scale, settings.watermark_opacity) == (0.25, 1.0)
    assert settings.watermark_min_width == 0
    assert settings.watermark_image is None  # loaded by resizer.watermark, not from env
    for name, value in [
        ("WATERMARK_SCALE", "0"),
        ("WATERMARK_SCALE", "1.5"),
        ("WATERMARK_OPACITY", "nan"),
        ("WATERMARK_OPACITY", "lots"),
        ("WATERMARK_MIN_WIDTH", "-1"),
    ]:
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env({name: value})
    with pytest.raises(ConfigurationError, match="RENDITIONS a ask for a watermark: set WATERMARK"):
        Settings.from_env({"RENDITIONS": "a=800x800:watermark"})
    with pytest.raises(ConfigurationError, match="watermark"):
        parse_renditions("a=800x800:watermark:watermark")
    with pytest.raises(ConfigurationError, match="unknown option"):
        parse_renditions("a=800x800:watermark=yes")


def test_the_watermarks_etag_is_in_the_fingerprint() -> None:
    settings = Settings.from_env(_MARKED)
    large = settings.renditions[0]
    assert large.watermark
    first = replace(settings, watermark_image=config.WatermarkImage(b"png", "etag-1"))
    second = replace(settings, watermark_image=config.WatermarkImage(b"png2", "etag-2"))
    assert fingerprint(first, large) != fingerprint(second, large)
    other = settings.renditions[1]
    assert fingerprint(first, other) == fingerprint(second, other)
