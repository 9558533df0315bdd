"""Features switched off cost nothing (issue 21): with no cover rendition, ``HDR=drop``,
``METADATA=none`` and no rendition marked, a render does none of their work. Checked on
what is called, not by timing (their cost when on is measured by bench/features.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import images
import pytest
from PIL import Image

from resizer.config import Settings, parse_renditions
from resizer.imaging import _crop, _gainmap, _metadata, _resample, _watermark, render_set
from resizer.imaging._geometry import fit

PHOTO = Path(__file__).resolve().parents[2] / "examples" / "photos" / "Wine_by_Jakkub_Mede.jpg"


def _forbidden(name: str) -> object:
    def called(*args: object, **kwargs: object) -> object:
        raise AssertionError(f"{name} was called with the feature off")

    return called


def _resized_to(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    sizes: list[tuple[int, int]] = []
    resize = _resample.resize

    def spy(image: Image.Image, size: tuple[int, int], *args: object, **kwargs: object) -> object:
        sizes.append(size)
        return resize(image, size, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_resample, "resize", spy)
    return sizes


def test_without_a_cover_rendition_no_focal_point_copy_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sizes = _resized_to(monkeypatch)
    monkeypatch.setattr(_crop, "energy", _forbidden("the edge-energy map"))
    data = images.jpeg(900, 600)
    result = render_set(data, Settings(renditions=parse_renditions("a=400x400,b=100x100")))
    assert [(im.width, im.height) for im in result.images] == [(400, 267), (100, 67)]
    analysis = fit((900, 600), (_crop.ANALYSIS_SIZE, _crop.ANALYSIS_SIZE))
    assert analysis not in sizes
    assert len(sizes) == 3  # the two renditions and the placeholder's copy


def test_a_cover_rendition_still_places_its_crop_from_the_analysis_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sizes = _resized_to(monkeypatch)
    data = images.jpeg(900, 600)
    result = render_set(data, Settings(renditions=parse_renditions("a=400x400:cover")))
    assert (result.images[0].width, result.images[0].height) == (400, 400)
    assert fit((900, 600), (_crop.ANALYSIS_SIZE, _crop.ANALYSIS_SIZE)) in sizes


def test_hdr_drop_never_looks_for_a_gain_map(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_gainmap, "find", _forbidden("the gain map search"))
    settings = Settings(renditions=parse_renditions("a=200x200"), hdr="drop")
    assert render_set(PHOTO.read_bytes(), settings).images


def test_metadata_none_reads_no_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_metadata, "_exif", _forbidden("the EXIF reader"))
    monkeypatch.setattr(_metadata, "_xmp", _forbidden("the XMP reader"))
    settings = Settings(renditions=parse_renditions("a=200x200"), metadata="none")
    assert render_set(PHOTO.read_bytes(), settings).images


def test_no_marked_rendition_draws_no_watermark(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_watermark, "mark", _forbidden("the watermark"))
    settings = Settings(renditions=parse_renditions("a=400x400,b=100x100"))
    settings = replace(settings, watermark="mark.png")  # configured, but no rendition asks
    assert len(render_set(PHOTO.read_bytes(), settings).images) == 2
