"""RENDITIONS, the grammar: its text <-> :class:`Rendition` items (the README's grammar).

``name=WIDTHxHEIGHT[:fit|:cover][:format=F+F...|auto][:quality=Q|auto][:watermark]`` items,
comma-separated; a side may be left out. Pure: no environment, no Pillow (the
pipeline's smoke test reads it too). :mod:`resizer.config` reads RENDITIONS with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from resizer.errors import ConfigurationError
from resizer.layout import RENDITION_NAME, RESERVED_NAMES

__all__ = ["AUTO", "FITS", "FORMATS", "UNBOUNDED", "Quality", "Rendition", "parse_renditions"]

#: Output formats a rendition may list (``format=``); ``original`` is the family rule.
FORMATS = ("original", "jpeg", "png", "webp", "avif")
#: ``format=auto`` (alone: the candidates of resizer.imaging._auto, the smaller kept)
#: and ``quality=auto`` (per image and format, to QUALITY_TARGET's SSIMULACRA2 score).
AUTO = "auto"
#: A rendition's ``quality=``: a number 1..100, AUTO, or None (the format's setting).
Quality: TypeAlias = int | Literal["auto"] | None
FITS = ("fit", "cover")
#: A box side left out ("1024x") is unbounded: any length is accepted on that side.
UNBOUNDED = 1 << 30

_BOX = re.compile(r"^(?P<w>[1-9][0-9]{0,5})?x(?P<h>[1-9][0-9]{0,5})?$")
_EXAMPLE = (
    "e.g. 'medium=800x800', 'hero=1024x', 'thumbs=150x150:cover:format=jpeg+webp:quality=80',"
    " 'large=1600x1600:watermark'"
)


@dataclass(frozen=True, order=True)
class Rendition:
    """One output: a box (a side may be None: unbounded), how to fill it, and its formats.

    ``fit`` scales the image to fit inside the box, never upscaled; ``cover`` fills
    exactly ``width`` x ``height``, cropped around the focal point, never upscaled.
    ``formats[0]`` is written to ``<name>/<source key>``, each further one to
    ``_<name>/<source key>.<ext>`` (resizer.layout). ``quality`` overrides JPEG/WEBP/AVIF_QUALITY.
    ``formats == ("auto",)`` (``format=auto``): the fallback (JPEG, PNG with alpha or
    for flat graphics) is written where a first format goes, each smaller candidate
    kept (AVIF, WebP) where further formats go. ``quality == "auto"``: chosen per image
    and format to reach QUALITY_TARGET (resizer.imaging._auto).
    ``watermark`` marks it with the WATERMARK image (unless narrower than
    WATERMARK_MIN_WIDTH).
    """

    name: str
    width: int | None
    height: int | None
    fit: str = "fit"
    formats: tuple[str, ...] = ("original",)
    quality: Quality = None
    watermark: bool = False

    @property
    def auto_format(self) -> bool:
        """``format=auto``."""
        return self.formats == (AUTO,)

    @property
    def auto_quality(self) -> bool:
        """``quality=auto``."""
        return self.quality == AUTO

    @property
    def box(self) -> tuple[int, int]:
        """(width, height) with an unbounded side as :data:`UNBOUNDED`."""
        return (self.width or UNBOUNDED, self.height or UNBOUNDED)

    def __str__(self) -> str:
        """The item as RENDITIONS spells it, defaults left out (parses back to itself)."""
        text = f"{self.name}={self.width or ''}x{self.height or ''}"
        if self.fit != "fit":
            text += f":{self.fit}"
        if self.formats != ("original",):
            text += ":format=" + "+".join(self.formats)
        if self.quality is not None:
            text += f":quality={self.quality}"
        if self.watermark:
            text += ":watermark"
        return text


def _bad(item: str, problem: str) -> ConfigurationError:
    return ConfigurationError(f"RENDITIONS item {item!r}: {problem} ({_EXAMPLE})")


def _fit(item: str, key: str, value: str, parsed: dict[str, Any]) -> None:
    if "fit" in parsed:
        raise _bad(item, "give 'fit' or 'cover' once")
    parsed["fit"] = key


def _formats(item: str, key: str, value: str, parsed: dict[str, Any]) -> None:
    formats = tuple(f.strip().lower() for f in value.split("+"))
    unknown = [f for f in formats if f not in FORMATS]
    if formats == (AUTO,) and "formats" not in parsed:
        parsed["formats"] = formats
        return
    if unknown or len(set(formats)) != len(formats) or "formats" in parsed:
        raise _bad(
            item,
            f"format= takes distinct formats from {'/'.join(FORMATS)} joined by '+', "
            "or 'auto' alone",
        )
    parsed["formats"] = formats


def _watermark(item: str, key: str, value: str, parsed: dict[str, Any]) -> None:
    if "watermark" in parsed:
        raise _bad(item, "give 'watermark' once")
    parsed["watermark"] = True


def _quality(item: str, key: str, value: str, parsed: dict[str, Any]) -> None:
    if value.strip().lower() == AUTO and "quality" not in parsed:
        parsed["quality"] = AUTO
        return
    if not value.strip().isdigit() or not 1 <= int(value) <= 100 or "quality" in parsed:
        raise _bad(item, "quality= takes one whole number 1..100, or 'auto'")
    parsed["quality"] = int(value)


_Option = Callable[[str, str, str, dict[str, Any]], None]
#: Each option of an item: (whether it takes ``=value``, what reads it into the fields).
_OPTIONS: dict[str, tuple[bool, _Option]] = {
    **dict.fromkeys(FITS, (False, _fit)),
    "format": (True, _formats),
    "watermark": (False, _watermark),
    "quality": (True, _quality),
}


def _parse_options(item: str, options: list[str]) -> dict[str, Any]:
    """The :class:`Rendition` fields ``options`` set (one reader per option)."""
    parsed: dict[str, Any] = {}
    for option in options:
        key, _, value = option.partition("=")
        key = key.strip().lower()
        takes_value, read = _OPTIONS.get(key, (None, None))
        if read is None or takes_value != bool(value):
            raise _bad(
                item, f"unknown option {option!r}; use fit, cover, format=, quality= or watermark"
            )
        read(item, key, value, parsed)
    return parsed


def _parse_item(item: str) -> Rendition:
    name, equals, rest = item.partition("=")
    name = name.strip()
    if not equals or not RENDITION_NAME.fullmatch(name):
        raise _bad(item, "expected NAME=WIDTHxHEIGHT, a name of letters, digits, '_', '.', '-'")
    if name in RESERVED_NAMES:
        raise _bad(item, f"{name!r} is reserved (the manifests' prefix); choose another name")
    box, *options = rest.split(":")
    match = _BOX.match(box.strip())
    if match is None or not (match["w"] or match["h"]):
        raise _bad(item, "the box is WIDTHxHEIGHT, one side may be left out ('1024x', 'x600')")
    width = int(match["w"]) if match["w"] else None
    height = int(match["h"]) if match["h"] else None
    parsed = _parse_options(item, options)
    if parsed.get("fit") == "cover" and (width is None or height is None):
        raise _bad(item, "cover needs both sides of the box (e.g. '150x150:cover')")
    return Rendition(name, width, height, **parsed)


def parse_renditions(text: str) -> tuple[Rendition, ...]:
    """Parse RENDITIONS (see the README's grammar); sorted largest box first.

    An unbounded side counts as the other side for the order (the cascade order).
    """
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ConfigurationError("RENDITIONS is empty; expected e.g. 'thumbnails=150x150'")
    renditions = [_parse_item(item) for item in items]
    names = [r.name for r in renditions]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"RENDITIONS names must be unique, got {names}")

    def area(r: Rendition) -> int:
        side = r.width or r.height or 0
        return (r.width or side) * (r.height or side)

    return tuple(sorted(renditions, key=lambda r: (area(r), r.name), reverse=True))
