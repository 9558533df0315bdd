"""The encoder settings are declared once (resizer.config.Encoders): what Pillow's
encoders receive and what the config fingerprint hashes. The checks are generated from
that declaration, so a new knob is checked the day it is added: it must reach its
format's encoder (and no other), and change the fingerprint of the renditions written
in that format (and no other)."""

from __future__ import annotations

from dataclasses import Field, fields, replace
from typing import Any

import pytest
from PIL import Image

from resizer.config import FORMATS, Encoders, Rendition, Settings, fingerprint
from resizer.imaging import _output, _render

KNOBS = fields(Encoders)
#: Every named format (RENDITIONS' format=) and the encoder behind it.
OUTPUTS = {name: _output.NAMED[name] for name in FORMATS if name != "original"}
#: The named formats "original" may be written in (the rule of _output.choose).
ORIGINAL = {n for n, out in OUTPUTS.items() if out.extension in _output.extensions("original")}
SIZE = (300, 200)


def _family(knob: Field[Any]) -> str:
    return knob.name.partition("_")[0]


def _alternatives(knob: Field[Any], value: int) -> list[int]:
    """Other values to try: the setting's range ends, or neighbours for a constant."""
    setting = {spec.name: spec for spec in fields(Settings)}.get(knob.name)
    low, high = setting.metadata["range"] if setting else (value - 1, value + 1)
    return [v for v in (low, high) if v != value]


def _received(output: _output.Output, encoding: _output.Encoding) -> dict[str, Any]:
    """The options Pillow's encoder receives from resizer for a SIZE image."""
    seen: dict[str, Any] = {}

    def save(self: Image.Image, fp: Any, format: str | None = None, **options: Any) -> None:
        seen.update(options, format=format)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Image.Image, "save", save)
        _output.encode(Image.new("RGB", SIZE), output, encoding)
    return seen


def test_the_encoders_receive_the_declared_settings_and_what_the_source_brings() -> None:
    # The source's ICC profile and the metadata METADATA keeps of it (the fingerprint
    # covers METADATA itself): nothing else of the settings reaches an encoder.
    extra = {f.name for f in fields(_output.Encoding)} - {k.name for k in KNOBS}
    assert extra == {"icc_profile", "metadata"}
    encoding = _render._encoding(Settings(), b"icc")
    assert encoding == _output.Encoding.of(Settings(), icc_profile=b"icc")
    assert _received(_output.JPEG, encoding)["icc_profile"] == b"icc"


@pytest.mark.parametrize("knob", KNOBS, ids=lambda knob: knob.name)
def test_a_setting_is_taken_from_settings_when_it_is_one(knob: Field[Any]) -> None:
    assert _family(knob) in OUTPUTS, f"{knob.name}: name it <format>_<option>"
    settings = Settings()
    if not hasattr(settings, knob.name):
        return  # a constant of the engine (its default is the value)
    for value in _alternatives(knob, getattr(settings, knob.name)):
        changed = replace(settings, **{knob.name: value})
        assert getattr(Encoders.of(changed), knob.name) == value


@pytest.mark.parametrize("knob", KNOBS, ids=lambda knob: knob.name)
def test_a_setting_reaches_its_format_s_encoder_and_no_other(knob: Field[Any]) -> None:
    base = _render._encoding(Settings(), None)
    reached = set()
    for value in _alternatives(knob, getattr(base, knob.name)):
        changed = replace(base, **{knob.name: value})
        reached |= {
            name
            for name, output in OUTPUTS.items()
            if _received(output, changed) != _received(output, base)
        }
    assert reached == {_family(knob)}


@pytest.mark.parametrize("knob", KNOBS, ids=lambda knob: knob.name)
def test_a_setting_changes_the_fingerprint_of_the_renditions_it_reaches(
    knob: Field[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    renditions = tuple(Rendition(fmt, 100, 100, formats=(fmt,)) for fmt in FORMATS)
    settings = Settings(renditions=renditions)
    before = {r.name: fingerprint(settings, r) for r in renditions}
    whole = fingerprint(settings)
    value = _alternatives(knob, getattr(Encoders.of(settings), knob.name))[0]
    declared = Encoders.of.__func__

    def of(cls: type[Encoders], settings: Settings, **extra: Any) -> Encoders:
        return replace(declared(cls, settings, **extra), **{knob.name: value})

    monkeypatch.setattr(Encoders, "of", classmethod(of))
    after = {r.name: fingerprint(settings, r) for r in renditions}
    changed = {name for name in before if before[name] != after[name]}
    family = _family(knob)
    assert changed == {family} | ({"original"} if family in ORIGINAL else set())
    assert fingerprint(settings) != whole


def test_a_rendition_quality_overrides_every_lossy_quality_and_nothing_else() -> None:
    base = Encoders.of(Settings())
    overridden = base.with_quality(42)
    changed = {k.name for k in KNOBS if getattr(base, k.name) != getattr(overridden, k.name)}
    assert changed == {"jpeg_quality", "webp_quality", "avif_quality"}
    assert base.with_quality(None) is base
