from __future__ import annotations

import pytest

from resizer.config import Rendition, Settings, parse_renditions
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
    ["", "thumb", "thumb=0x10", "thumb=10x", "a=1x1,a=2x2", "bad name=1x1", "x=10X10"],
)
def test_bad_renditions_are_explained(text: str) -> None:
    with pytest.raises(ConfigurationError, match="RENDITIONS"):
        parse_renditions(text)


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
