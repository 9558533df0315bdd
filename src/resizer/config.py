"""Settings, built once from a mapping (the process environment on Lambda).

This is the only module that reads ``os.environ``; everything else receives a
:class:`Settings`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from resizer.errors import ConfigurationError

DEFAULT_RENDITIONS = "thumbnails=150x150,medium=800x800,large=1600x1600"
DEFAULT_CACHE_CONTROL = "public, max-age=31536000"

_RENDITION = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)=(?P<w>[1-9][0-9]*)x(?P<h>[1-9][0-9]*)$"
)


@dataclass(frozen=True, order=True)
class Rendition:
    """One output size: the image fits inside ``width`` x ``height``, never upscaled."""

    name: str
    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.name}={self.width}x{self.height}"


def parse_renditions(text: str) -> tuple[Rendition, ...]:
    """Parse ``name=WxH,name=WxH``; sorted largest box first (the cascade order)."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ConfigurationError("RENDITIONS is empty; expected e.g. 'thumbnails=150x150'")
    renditions = []
    for item in items:
        match = _RENDITION.match(item)
        if match is None:
            raise ConfigurationError(
                f"RENDITIONS item {item!r} is not 'name=WIDTHxHEIGHT' (e.g. 'medium=800x800')"
            )
        renditions.append(Rendition(match["name"], int(match["w"]), int(match["h"])))
    names = [r.name for r in renditions]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"RENDITIONS names must be unique, got {names}")
    return tuple(sorted(renditions, key=lambda r: (r.width * r.height, r.name), reverse=True))


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{name}={value} is outside {low}..{high}")
    return value


#: What the runtime, the handler and the S3 clients use before any render (measured
#: about 60 MB; see docs/tuning.md), kept out of the renders' memory budget.
RUNTIME_BASELINE_MB = 128


def _default_budget(env: Mapping[str, str]) -> int:
    """The function's memory (Lambda sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE) less the runtime."""
    memory = _int(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 0, 0, 2**20)
    return max(memory - RUNTIME_BASELINE_MB, 0) if memory else 0


@dataclass(frozen=True)
class Settings:
    """Everything the function and the CLI need to know; see the README's table."""

    destination_bucket: str = ""
    renditions: tuple[Rendition, ...] = field(
        default_factory=lambda: parse_renditions(DEFAULT_RENDITIONS)
    )
    dead_letter_queue_url: str = ""
    jpeg_quality: int = 85
    webp_quality: int = 80
    png_compress_level: int = 6
    max_input_pixels: int = 100_000_000
    max_input_bytes: int = 100 * 1024 * 1024
    cache_control: str = DEFAULT_CACHE_CONTROL
    # Stop starting new records when less than this is left of the invocation.
    deadline_margin_ms: int = 10_000
    # Records of one batch rendered at once (Pillow releases the GIL while it works).
    workers: int = 4
    # Memory the renders of one invocation may use together; 0 = unlimited.
    memory_budget_mb: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            destination_bucket=env.get("DESTINATION_BUCKET", "").strip(),
            renditions=parse_renditions(env.get("RENDITIONS", "") or DEFAULT_RENDITIONS),
            dead_letter_queue_url=env.get("DEAD_LETTER_QUEUE_URL", "").strip(),
            jpeg_quality=_int(env, "JPEG_QUALITY", 85, 1, 100),
            webp_quality=_int(env, "WEBP_QUALITY", 80, 1, 100),
            png_compress_level=_int(env, "PNG_COMPRESS_LEVEL", 6, 0, 9),
            max_input_pixels=_int(env, "MAX_INPUT_PIXELS", 100_000_000, 1, 2**40),
            max_input_bytes=_int(env, "MAX_INPUT_BYTES", 100 * 1024 * 1024, 1, 2**40),
            cache_control=env.get("CACHE_CONTROL", "").strip() or DEFAULT_CACHE_CONTROL,
            deadline_margin_ms=_int(env, "DEADLINE_MARGIN_MS", 10_000, 0, 900_000),
            workers=_int(env, "WORKERS", 4, 1, 64),
            memory_budget_mb=_int(env, "MEMORY_BUDGET_MB", _default_budget(env), 0, 2**20),
        )

    def require_aws(self) -> Settings:
        """Fail early, with the fix, when the function is missing its AWS wiring."""
        missing = [
            name
            for name, value in (
                ("DESTINATION_BUCKET", self.destination_bucket),
                ("DEAD_LETTER_QUEUE_URL", self.dead_letter_queue_url),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"set {' and '.join(missing)} in the function's environment "
                "(the CloudFormation template does this)"
            )
        return self
