"""Settings, built once from a mapping (the process environment on Lambda).

This is the only module that reads ``os.environ``; everything else receives a
:class:`Settings`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

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


def _setting(
    env: str,
    default: int | str,
    low: int = 0,
    high: int = 0,
    default_from: Callable[[Mapping[str, str]], int] | None = None,
) -> Any:
    """A field read from the environment variable ``env``, its default declared here once.

    An int setting is checked against ``low..high``; ``default_from`` derives its default
    from the rest of the environment where one is given (else ``default``).
    """
    metadata = {"env": env, "range": (low, high), "default_from": default_from}
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    """Everything the function and the CLI need to know; see the README's table.

    Each setting is declared once, below: its environment variable, its default and,
    for numbers, its range. :meth:`from_env` reads them from these declarations.
    """

    destination_bucket: str = _setting("DESTINATION_BUCKET", "")
    renditions: tuple[Rendition, ...] = field(
        default_factory=lambda: parse_renditions(DEFAULT_RENDITIONS)
    )
    dead_letter_queue_url: str = _setting("DEAD_LETTER_QUEUE_URL", "")
    jpeg_quality: int = _setting("JPEG_QUALITY", 85, 1, 100)
    webp_quality: int = _setting("WEBP_QUALITY", 80, 1, 100)
    png_compress_level: int = _setting("PNG_COMPRESS_LEVEL", 6, 0, 9)
    max_input_pixels: int = _setting("MAX_INPUT_PIXELS", 100_000_000, 1, 2**40)
    max_input_bytes: int = _setting("MAX_INPUT_BYTES", 100 * 1024 * 1024, 1, 2**40)
    cache_control: str = _setting("CACHE_CONTROL", DEFAULT_CACHE_CONTROL)
    # Stop starting new records when less than this is left of the invocation.
    deadline_margin_ms: int = _setting("DEADLINE_MARGIN_MS", 10_000, 0, 900_000)
    # Records of one batch rendered at once (Pillow releases the GIL while it works).
    workers: int = _setting("WORKERS", 4, 1, 64)
    # Memory the renders of one invocation may use together; 0 = unlimited (off Lambda).
    memory_budget_mb: int = _setting("MEMORY_BUDGET_MB", 0, 0, 2**20, _default_budget)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for spec in fields(cls):
            if "env" not in spec.metadata:
                continue
            name, (low, high) = spec.metadata["env"], spec.metadata["range"]
            if isinstance(spec.default, int):
                derive = spec.metadata["default_from"]
                default = derive(env) if derive else spec.default
                values[spec.name] = _int(env, name, default, low, high)
            else:
                values[spec.name] = env.get(name, "").strip() or spec.default
        values["renditions"] = parse_renditions(env.get("RENDITIONS", "") or DEFAULT_RENDITIONS)
        return cls(**values)

    @classmethod
    def environment_defaults(cls) -> dict[str, str]:
        """Each environment variable's default as the environment would spell it."""
        defaults = {
            spec.metadata["env"]: str(spec.default)
            for spec in fields(cls)
            if "env" in spec.metadata
        }
        return {**defaults, "RENDITIONS": DEFAULT_RENDITIONS}

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
