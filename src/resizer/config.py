"""Settings, built once from a mapping (the process environment on Lambda).

This is the only module that reads ``os.environ``; everything else receives a
:class:`Settings`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Self, TypeVar

from resizer.errors import ConfigurationError

# The RENDITIONS grammar is resizer.renditions'; its names are also read from here
# (``X as X``: an explicit re-export, as mypy's strict mode wants it).
from resizer.renditions import AUTO as AUTO  # noqa: PLC0414
from resizer.renditions import FITS as FITS  # noqa: PLC0414
from resizer.renditions import FORMATS as FORMATS  # noqa: PLC0414
from resizer.renditions import UNBOUNDED as UNBOUNDED  # noqa: PLC0414
from resizer.renditions import Quality as Quality  # noqa: PLC0414
from resizer.renditions import Rendition as Rendition  # noqa: PLC0414
from resizer.renditions import parse_renditions as parse_renditions  # noqa: PLC0414

DEFAULT_RENDITIONS = "thumbnails=150x150,medium=800x800,large=1600x1600"
DEFAULT_CACHE_CONTROL = "public, max-age=31536000"

# Bump when resizer's rendering changes output bytes on purpose (a new resampling
# step, encoder options): every fingerprint changes, so a backfill re-renders.
ENGINE_VERSION = "1"
#: AVIF encoder speed (0 slowest/smallest .. 10 fastest), measured by bench/web.py on
#: examples/photos (1600 px rendition, CPU beyond a JPEG render): speed 6 (libavif's
#: default) +1.36 s, 8 +0.53 s, 10 +0.18 s. 8 keeps a 1600 px AVIF within about twice a
#: JPEG render: docs/performance.md. Part of the fingerprint.
AVIF_SPEED = 8
#: The face detector cover crops follow with FACE_DETECTION=on (resizer.imaging._faces;
#: its cascade file): part of a cover rendition's fingerprint. Bump the number when the
#: detector or its cascade changes where crops are cut.
FACE_DETECTOR = "opencv-lbp-frontalface/1"
#: Bump when format=auto's candidates or quality=auto's search change on purpose
#: (resizer.imaging._auto: the candidates, the graphics test, the keep rule, the
#: search's model and tolerances): the fingerprints of renditions that use them change.
AUTO_RULES_VERSION = "1"
#: METADATA's values: what of the source's EXIF/XMP/IPTC a rendition keeps
#: (resizer.imaging._metadata; the README's "Metadata" paragraph).
METADATA_MODES = ("copyright", "all", "none")


def needs_watermark(renditions: tuple[Rendition, ...], watermark: str) -> bool:
    """Whether a rendition asks for the watermark; a ConfigurationError when one does
    and WATERMARK is not set."""
    marked = [r.name for r in renditions if r.watermark]
    if marked and not watermark:
        raise ConfigurationError(
            f"RENDITIONS {', '.join(marked)} ask for a watermark: set WATERMARK to "
            "s3://bucket/key of a PNG (the template's Watermark parameter; a file path "
            "for `resizer resize`)"
        )
    return bool(marked)


@dataclass(frozen=True)
class WatermarkImage:
    """The WATERMARK file's bytes and its ETag (S3's; for a file, its MD5 in hex, what
    S3 gives an object uploaded in one part): the ETag is part of the fingerprint."""

    data: bytes = field(repr=False)
    etag: str


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    return _number(env, name, default, low, high, parse=int, what="a whole number")


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    return _number(env, name, default, low, high, parse=float, what="a number")


_N = TypeVar("_N", int, float)


def _number(
    env: Mapping[str, str],
    name: str,
    default: _N,
    low: _N,
    high: _N,
    *,
    parse: Callable[[str], _N],
    what: str,
) -> _N:
    """``env[name]`` read by ``parse`` and kept within ``low..high``; ``default`` when
    unset or blank."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not {what}") from None
    if not low <= value <= high:  # NaN fails this too
        raise ConfigurationError(f"{name}={value} is outside {low}..{high}")
    return value


#: What the runtime, the handler and the S3 clients use before any render (measured
#: about 60 MB; see docs/tuning.md), kept out of the renders' memory budget.
RUNTIME_BASELINE_MB = 128


#: Lambda gives a function CPU in proportion to its memory: 1,769 MB is one full vCPU.
MB_PER_VCPU = 1_769


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _function_memory_mb(env: Mapping[str, str]) -> int:
    """The function's memory, which Lambda sets in AWS_LAMBDA_FUNCTION_MEMORY_SIZE; 0 off Lambda."""
    return _int(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 0, 0, 2**20)


def _default_render_slots(env: Mapping[str, str]) -> int:
    """Lambda's vCPUs for the function's memory, rounded up; off Lambda, this machine's."""
    memory = _function_memory_mb(env)
    return math.ceil(memory / MB_PER_VCPU) if memory else usable_cpus()


def _default_budget(env: Mapping[str, str]) -> int:
    """The function's memory less the runtime; 0 (unlimited) off Lambda."""
    memory = _function_memory_mb(env)
    return max(memory - RUNTIME_BASELINE_MB, 0) if memory else 0


def _setting(
    env: str,
    default: float | str,
    low: float = 0,
    high: float = 0,
    default_from: Callable[[Mapping[str, str]], int] | None = None,
    *,
    empty_disables: bool = False,
    choices: tuple[str, ...] = (),
) -> Any:
    """A field read from the environment variable ``env``, its default declared here once.

    A number setting (int or float, as its default) is checked against ``low..high``;
    ``default_from`` derives an int's default from the rest of the environment where one
    is given (else ``default``). A string
    setting with ``empty_disables`` keeps a variable that is set but empty (off);
    others take their default then. A string setting with ``choices`` takes one of them
    (case-insensitive), anything else is a ConfigurationError naming them.
    """
    metadata = {
        "env": env,
        "range": (low, high),
        "default_from": default_from,
        "empty_disables": empty_disables,
        "choices": choices,
    }
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    """Everything the function and the CLI need to know; see the README's table.

    Each setting is declared once, below: its environment variable, its default and,
    for numbers, its range. :meth:`from_env` reads them from these declarations.
    """

    destination_bucket: str = _setting("DESTINATION_BUCKET", "")
    # The one bucket whose events the function accepts; empty accepts any bucket.
    source_bucket: str = _setting("SOURCE_BUCKET", "")
    renditions: tuple[Rendition, ...] = field(
        default_factory=lambda: parse_renditions(DEFAULT_RENDITIONS)
    )
    dead_letter_queue_url: str = _setting("DEAD_LETTER_QUEUE_URL", "")
    jpeg_quality: int = _setting("JPEG_QUALITY", 85, 1, 100)
    webp_quality: int = _setting("WEBP_QUALITY", 80, 1, 100)
    # 70: the median quality at which AVIF matched JPEG_QUALITY 85's SSIM (bench/web.py).
    avif_quality: int = _setting("AVIF_QUALITY", 70, 1, 100)
    png_compress_level: int = _setting("PNG_COMPRESS_LEVEL", 4, 0, 9)
    # quality=auto: the SSIMULACRA2 score (0-100) each output aims at, never more than
    # 2 below it (resizer.imaging._auto; docs/quality.md).
    quality_target: int = _setting("QUALITY_TARGET", 80, 30, 95)
    # libwebp's effort (0 fastest .. 6 smallest). Measured on the 1600 px renditions of
    # examples/photos: 4 (libwebp's default) 0.95 s of CPU, 3 the same, 2 0.43 s for
    # files 3.5 % larger. Bytes are what WebP renditions are for and every view pays
    # them, the encode only once: 4 (docs/performance.md).
    webp_method: int = _setting("WEBP_METHOD", 4, 0, 6)
    max_input_pixels: int = _setting("MAX_INPUT_PIXELS", 100_000_000, 1, 2**40)
    max_input_bytes: int = _setting("MAX_INPUT_BYTES", 100 * 1024 * 1024, 1, 2**40)
    # Frames of an animation (GIF, WebP, APNG), counted from the container before any
    # is decoded. Each frame costs about 1 ms of fixed work however small it is (10,000
    # one-pixel frames: 9.7 s), which MAX_INPUT_PIXELS cannot see; 1,000 frames is 40 s
    # at 25 fps, longer than animated images on the web run (docs/reliability.md).
    max_input_frames: int = _setting("MAX_INPUT_FRAMES", 1_000, 1, 1_000_000)
    # Scans a JPEG may have (photos: about 10); more are refused before decoding.
    max_jpeg_scans: int = _setting("MAX_JPEG_SCANS", 100, 1, 100_000)
    # JPEG renditions whose longer side is at least this are progressive, smaller
    # ones baseline (progressive costs 2-3x the CPU and is larger below ~250 px).
    jpeg_progressive_min_side: int = _setting("JPEG_PROGRESSIVE_MIN_SIDE", 250, 0, 2**31)
    cache_control: str = _setting("CACHE_CONTROL", DEFAULT_CACHE_CONTROL)
    # The CDN's base URL (e.g. https://d111.cloudfront.net): each manifest entry then also
    # carries its "url", <CDN_URL>/<key>?v=<12 hex of its sha256>. "" = no URLs.
    cdn_url: str = _setting("CDN_URL", "")
    # Stop starting new records when less than this is left of the invocation.
    deadline_margin_ms: int = _setting("DEADLINE_MARGIN_MS", 10_000, 0, 900_000)
    # Records of one batch handled at once: fetched, rendered, written (threads).
    workers: int = _setting("WORKERS", 4, 1, 64)
    # Of those, how many decode, resample and encode at once (the CPU-bound part; the
    # others fetch and write meanwhile): by default one per vCPU. More renders than
    # cores only share them, at a cost in CPU and in each record's latency (measured:
    # docs/performance.md, "RENDER_CONCURRENCY: one render per vCPU"). 0 = no limit.
    render_concurrency: int = _setting("RENDER_CONCURRENCY", 0, 0, 64, _default_render_slots)
    # Memory the renders of one invocation may use together; 0 = unlimited (off Lambda).
    memory_budget_mb: int = _setting("MEMORY_BUDGET_MB", 0, 0, 2**20, _default_budget)
    # EventBridge bus of the Renditions Ready/Removed/Rendition Failed events; "" = none.
    # The template's EventBusName sets it, with the role's events:PutEvents grant on it.
    event_bus_name: str = _setting("EVENT_BUS_NAME", "default", empty_disables=True)
    # Faces (resizer.imaging._faces): a cover crop without a focal-point centres on the
    # faces found; "off": edge energy, then the centre (as before).
    face_detection: str = _setting("FACE_DETECTION", "on", choices=("on", "off"))
    # HDR gain maps (Ultra HDR JPEG, ISO 21496-1): "keep" makes every JPEG rendition of
    # such a source Ultra HDR itself; "drop" writes the SDR base alone (as before).
    hdr: str = _setting("HDR", "keep", choices=("keep", "drop"))
    # What of the source's metadata each rendition keeps: "copyright" (the rights
    # fields), "all" (all but location and device identity) or "none".
    metadata: str = _setting("METADATA", "copyright", choices=METADATA_MODES)
    # The image renditions with the ``watermark`` option are marked with: s3://bucket/key
    # of a PNG for the function (read once per container: resizer.watermark), a file
    # path for ``resizer resize``. Its width is WATERMARK_SCALE of the rendition's, at
    # WATERMARK_OPACITY, bottom-right; renditions narrower than WATERMARK_MIN_WIDTH are
    # left unmarked (resizer.imaging._watermark).
    watermark: str = _setting("WATERMARK", "")
    watermark_scale: float = _setting("WATERMARK_SCALE", 0.2, 0.01, 1.0)
    watermark_opacity: float = _setting("WATERMARK_OPACITY", 0.6, 0.01, 1.0)
    watermark_min_width: int = _setting("WATERMARK_MIN_WIDTH", 300, 0, 2**31)
    # The WATERMARK image once loaded (resizer.watermark), else None; not from the
    # environment.
    watermark_image: WatermarkImage | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for spec in fields(cls):
            if "env" not in spec.metadata:
                continue
            name, (low, high) = spec.metadata["env"], spec.metadata["range"]
            if isinstance(spec.default, float):
                values[spec.name] = _float(env, name, spec.default, low, high)
            elif isinstance(spec.default, int):
                derive = spec.metadata["default_from"]
                default = derive(env) if derive else spec.default
                values[spec.name] = _int(env, name, default, low, high)
            elif spec.metadata["empty_disables"] and name in env:
                values[spec.name] = env[name].strip()
            else:
                values[spec.name] = env.get(name, "").strip() or spec.default
            choices = spec.metadata["choices"]
            if choices:
                values[spec.name] = values[spec.name].lower()
                if values[spec.name] not in choices:
                    raise ConfigurationError(
                        f"{name}={env[name].strip()!r} is not one of {', '.join(choices)}"
                    )
        values["renditions"] = parse_renditions(env.get("RENDITIONS", "") or DEFAULT_RENDITIONS)
        needs_watermark(values["renditions"], values["watermark"])
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


def _families(formats: tuple[str, ...]) -> tuple[str, ...]:
    """The encoder families ``formats`` may be written in ("original": any resizer keeps)."""
    found: list[str] = []
    for fmt in formats:
        if fmt == AUTO:
            found += ("avif", "webp", "jpeg", "png")
        else:
            found += ("jpeg", "png", "webp") if fmt == "original" else (fmt,)
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class Encoders:
    """The encoder settings, declared once: what the encoders receive
    (resizer.imaging._output passes exactly these fields to Pillow) and what
    :func:`fingerprint` hashes, so a knob cannot reach the bytes without changing it.

    Each field is named ``<format>_<option>``: it reaches that format's encoder only.
    A field named like a :class:`Settings` field takes that setting's value; the
    others are constants of the engine. ``<format>_quality`` is what a rendition's
    ``quality=`` overrides.
    """

    jpeg_quality: int
    # JPEGs this large (longer side) or larger are progressive: JPEG_PROGRESSIVE_MIN_SIDE.
    jpeg_progressive_min_side: int
    webp_quality: int
    webp_method: int
    png_compress_level: int
    avif_quality: int
    avif_speed: int = field(default_factory=lambda: AVIF_SPEED)

    @classmethod
    def of(cls, settings: Settings, **extra: Any) -> Self:
        """The settings' encoder settings (``extra``: a subclass's own fields)."""
        named = {spec.name for spec in fields(Settings)}
        values = {s.name: getattr(settings, s.name) for s in fields(Encoders) if s.name in named}
        return cls(**values, **extra)

    def with_quality(self, quality: Quality) -> Self:
        """The same settings with a rendition's ``quality=`` for every lossy format
        (``auto``: unchanged, resizer.imaging._auto sets each output's own)."""
        if not isinstance(quality, int):  # None or "auto"
            return self
        lossy = [s.name for s in fields(Encoders) if s.name.endswith("_quality")]
        return replace(self, **dict.fromkeys(lossy, quality))

    def by_format(self, formats: tuple[str, ...]) -> dict[str, dict[str, object]]:
        """The settings that reach the encoders of ``formats``: format -> option -> value."""
        used: dict[str, dict[str, object]] = {}
        for family in _families(formats):
            prefix = family + "_"
            used[family] = {
                s.name.removeprefix(prefix): getattr(self, s.name)
                for s in fields(Encoders)
                if s.name.startswith(prefix)
            }
        return used


def _watermark_print(settings: Settings) -> list[object]:
    """What of the watermark reaches the bytes of a rendition marked with it."""
    image = settings.watermark_image
    return [
        image.etag if image else "",
        settings.watermark_scale,
        settings.watermark_opacity,
        settings.watermark_min_width,
    ]


def _auto_print(settings: Settings, rendition: Rendition) -> list[object]:
    """What of format=auto / quality=auto reaches the bytes: the rules' version and,
    with quality=auto, QUALITY_TARGET."""
    target = settings.quality_target if rendition.auto_quality else None
    return [AUTO_RULES_VERSION, target]


def _pillow_version() -> str:
    # Imported here: the grammar and the settings stay importable without Pillow (the
    # pipeline's smoke test parses RENDITIONS in a boto3-only interpreter).
    import PIL  # noqa: PLC0415

    return str(PIL.__version__)


def fingerprint(settings: Settings, rendition: Rendition | None = None) -> str:
    """A short hash of everything that changes the bytes of ``rendition`` (or of the set).

    Covers the box, fit, formats, quality and the encoder settings each format uses
    (:class:`Encoders`), :data:`AUTO_RULES_VERSION` for ``format=auto`` or
    ``quality=auto`` and QUALITY_TARGET for ``quality=auto``, METADATA, HDR (for JPEG
    outputs), FACE_DETECTION and :data:`FACE_DETECTOR` (for cover crops), the watermark
    (its ETag, scale, opacity and min width; only for a rendition with ``watermark``),
    and the engine (:data:`ENGINE_VERSION` and Pillow's version); not the rendition's
    name, Cache-Control or the input limits. Without ``rendition``: the fingerprint of
    the whole set (every rendition's, under its name), recorded in the manifest; the
    placeholder's method is covered by the engine version. Renditions record theirs in
    metadata ``config``; the duplicate check compares them.
    """
    if rendition is None:
        parts = sorted(f"{r.name}:{fingerprint(settings, r)}" for r in settings.renditions)
        payload = f"set/{ENGINE_VERSION}/{_pillow_version()}/" + ",".join(parts)
    else:
        encoders = (
            Encoders.of(settings).with_quality(rendition.quality).by_format(rendition.formats)
        )
        if rendition.auto_quality:  # the search sets the qualities, not *_QUALITY
            encoders = {
                family: {k: v for k, v in options.items() if k != "quality"}
                for family, options in encoders.items()
            }
        described: dict[str, object] = {
            "box": [rendition.width, rendition.height],
            "fit": rendition.fit,
            "formats": list(rendition.formats),
            "encoders": encoders,
            "metadata": settings.metadata,
            "engine": [ENGINE_VERSION, _pillow_version()],
        }
        if rendition.auto_format or rendition.auto_quality:
            described["auto"] = _auto_print(settings, rendition)
        if "jpeg" in _families(rendition.formats):
            # Not an encoder option: whether a JPEG keeps the source's gain map (_render).
            described["hdr"] = settings.hdr
        if rendition.watermark:
            described["watermark"] = _watermark_print(settings)
        if rendition.fit == "cover":
            # Not an encoder option: where the crop is cut (_crop, _faces).
            described["faces"] = FACE_DETECTOR if settings.face_detection == "on" else "off"
        payload = json.dumps(described, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]
