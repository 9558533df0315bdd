"""bytes -> renditions: admit, decode once (shrunk on load), resample (``_resample``:
the plan of sizes, the cascade from the largest down, the cover crops), encode."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace

from PIL import Image

from resizer.config import Encoders, Rendition, Settings
from resizer.errors import no_deadline
from resizer.imaging import (
    _auto,
    _colour,
    _decode,
    _frames,
    _gainmap,
    _metadata,
    _output,
    _placeholder,
    _resample,
    _watermark,
)
from resizer.imaging._admission import admitted
from resizer.imaging._frames import DeadlineCheck
from resizer.imaging._memory import MemoryBudget
from resizer.imaging._placeholder import Placeholder
from resizer.imaging._source import OpenedImage, decoding, encoding_failures


@dataclass(frozen=True)
class RenderedImage:
    """One encoded rendition in one format, ready to upload."""

    rendition: Rendition
    data: bytes
    content_type: str  # "image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"
    width: int
    height: int
    format: str  # Pillow's encoder name: "JPEG", "PNG", "WEBP", "GIF" or "AVIF"
    extension: str  # ".jpg", ".png", ".webp", ".gif" or ".avif"
    converted: bool  # the output's family is not the source's
    #: Appended to the output key: "" for the rendition's first format, else its extension.
    suffix: str = ""
    #: The encoder quality used (None: a lossless output).
    quality: int | None = None
    #: Its SSIMULACRA2 score against the rendition's pixels (quality=auto), else None.
    score: float | None = None


@dataclass(frozen=True)
class SourceInfo:
    """The source as the manifest describes it (size after EXIF orientation)."""

    width: int
    height: int
    format: str  # Pillow's name: "JPEG", "MPO", "PNG", "WEBP", "GIF", "TIFF", ...
    bytes: int


@dataclass(frozen=True)
class RenderSet:
    """Everything one source gives: its description, its renditions, its placeholder."""

    source: SourceInfo
    images: list[RenderedImage]
    placeholder: Placeholder


@dataclass(frozen=True)
class _Job:
    """One source being rendered: what every step after the plan needs."""

    data: bytes
    opened: OpenedImage
    orientation: int
    plan: _resample.Plan
    settings: Settings
    focal: tuple[float, float] | None
    source: SourceInfo
    check_deadline: DeadlineCheck = no_deadline
    metadata: _metadata.Kept = _metadata.NOTHING  # what the renditions keep (METADATA)
    gain_map: _gainmap.GainMap | None = None  # what JPEG renditions keep (HDR)


def render_set(
    data: bytes,
    settings: Settings,
    budget: MemoryBudget | None = None,
    focal: tuple[float, float] | None = None,
    check_deadline: DeadlineCheck = no_deadline,
) -> RenderSet:
    """Render every rendition of ``settings.renditions`` (same order; each rendition's
    formats in its order, a format that resolves to an output already made skipped),
    with the source's description and placeholder.

    ``focal`` (fractions of the upright image) centres the cover crops; None chooses
    by edge energy, else the centre. Raises InvalidImageError (not an image),
    UnsupportedFormatError, CorruptImageError, ImageTooLargeError or EncodingError,
    each with a readable reason; nothing else for bad input. With a ``budget``,
    nothing is decoded until the memory it needs is free. ``check_deadline`` (raises
    DeadlineError when the invocation's time is running out) is called while waiting
    for the budget, before a still's decode, before each resize, between an
    animation's frames, and before each encode: a render out of time stops between
    two steps, having returned nothing.
    """
    gain_map = _gainmap.kept(data, settings.hdr)
    with admitted(data, settings, budget, check_deadline, gain_map) as opened:
        orientation, plan = _resample.planned(opened, settings)
        source = SourceInfo(plan.upright[0], plan.upright[1], opened.format, len(data))
        kept = _metadata.read(opened.image, settings.metadata)
        job = _Job(
            data, opened, orientation, plan, settings, focal, source, check_deadline, kept, gain_map
        )
        return _render_opened(job)


def render(
    data: bytes,
    settings: Settings,
    budget: MemoryBudget | None = None,
    focal: tuple[float, float] | None = None,
    check_deadline: DeadlineCheck = no_deadline,
) -> list[RenderedImage]:
    """The renditions of :func:`render_set`, alone."""
    return render_set(data, settings, budget, focal, check_deadline).images


def _encoded(
    rendition: Rendition,
    frames: Sequence[Image.Image],
    *,
    source_format: str,
    opaque: bool,
    encoding: _output.Encoding,
    target: float,
    durations: Sequence[int] = (),
    loop: int | None = None,
    check_deadline: DeadlineCheck = no_deadline,
) -> list[RenderedImage]:
    """One rendition (its frames: one for a still) in each of its formats (a still's
    ``format=auto``: :func:`_auto_still`); ``check_deadline`` is called before each
    encode. With ``quality=auto`` each lossy format's quality is searched
    (``_auto.search``; an animation's on its first frame, its score the first frame's)."""
    if rendition.auto_format and len(frames) == 1:
        return _auto_still(
            rendition, frames[0], source_format, opaque, encoding, target, check_deadline
        )
    results: list[RenderedImage] = []
    encoding = encoding.with_quality(rendition.quality)
    references = _auto.References(frames[0], None, check_deadline)  # computed when used
    for output, converted in _outputs(rendition, source_format, opaque, animated=len(frames) > 1):
        if any(done.format == output.format for done in results):
            continue  # "original" and a named format that resolve alike: written once
        check_deadline()
        quality, score, data = _auto.quality_of(output, encoding), None, b""
        if rendition.auto_quality and quality is None:
            score = 100.0  # lossless: the rendition's pixels themselves
        elif rendition.auto_quality:
            with encoding_failures(f"quality=auto {output.format} of {rendition.name}"):
                found = _auto.search(frames[0], output, encoding, target, references=references)
            quality, score = found.quality, found.score
            data = found.data if len(frames) == 1 else b""
        chosen = encoding.with_quality(quality)
        if len(frames) > 1 and output in _output.ANIMATED:
            # Identical frames merged and their time clamped, as the encoders cannot.
            kept, times = _frames.merge_repeats(
                frames, durations, _frames.MAX_FRAME_MS[output.format]
            )
            with encoding_failures(f"{output.format} animation of {len(kept)} frames"):
                data = _output.encode_animation(kept, times, loop, output, chosen)
        elif not data:
            data = _output.encode(frames[0], output, chosen)
        choice = _auto.Choice(output, data, quality, score)
        results.append(_rendered(rendition, frames[0], choice, converted, first=not results))
    if rendition.auto_format:  # an animation's (its fallback first): the keep rule
        fallback, *others = results
        return _auto.keep_smaller([*others, fallback])
    return results


def _outputs(
    rendition: Rendition, source_format: str, opaque: bool, *, animated: bool
) -> list[tuple[_output.Output, bool]]:
    """(output, converted) of each format of ``rendition``; an animation's
    ``format=auto``: WebP, then its fallback (the ``original`` rule; no AVIF)."""
    if rendition.auto_format:
        fallback = _output.choose(source_format, opaque)
        webp = (_output.WEBP, _output.is_converted(source_format, _output.WEBP))
        return [fallback, webp] if fallback[0] is not _output.WEBP else [fallback]
    return [_output.resolve(name, source_format, opaque) for name in rendition.formats]


def _rendered(
    rendition: Rendition,
    image: Image.Image,
    choice: _auto.Choice,
    converted: bool,
    *,
    first: bool,
) -> RenderedImage:
    """A :class:`RenderedImage` of ``choice``: at the first format's key when ``first``
    (resizer.layout), else at its further-format key."""
    output = choice.output
    return RenderedImage(
        rendition,
        choice.data,
        output.content_type,
        image.width,
        image.height,
        output.format,
        output.extension,
        converted,
        "" if first else output.extension,
        choice.quality,
        None if choice.score is None else round(choice.score, 1),
    )


def _auto_still(  # noqa: PLR0917
    rendition: Rendition,
    image: Image.Image,
    source_format: str,
    opaque: bool,
    encoding: _output.Encoding,
    target: float,
    check_deadline: DeadlineCheck,
) -> list[RenderedImage]:
    """A still's ``format=auto`` (``_auto.choose``): the fallback at the first format's
    key, listed last; the smaller candidates kept at further-format keys, smallest first."""
    encoding = encoding.with_quality(rendition.quality)
    with encoding_failures(f"format=auto of {rendition.name}"):
        kept = _auto.choose(
            image,
            opaque=opaque,
            encoding=encoding,
            target=target if rendition.auto_quality else None,
            check_deadline=check_deadline,
        )
    return [
        _rendered(
            rendition,
            image,
            choice,
            _output.is_converted(source_format, choice.output),
            first=choice is kept[-1],
        )
        for choice in kept
    ]


def _render_opened(job: _Job) -> RenderSet:
    opened, plan = job.opened, job.plan
    if opened.frames > 1:
        return _render_animation(job)
    made, icc = _resample_still(job.data, opened, job.orientation, plan.targets, job.check_deadline)
    boxes = _resample.windows(made, plan, job.focal, job.check_deadline)
    images = _resample.cut(made, boxes)
    opaque = _colour.is_opaque(max(made, key=lambda im: im.width * im.height))
    images, icc = _colour.bounded_profile(images, icc)
    images = _watermark.mark_all(job.settings.renditions, images, job.settings)
    encoding = _encoding(job.settings, icc, job.metadata)
    rendered = [
        result
        for rendition, im in zip(job.settings.renditions, images, strict=True)
        for result in _encoded(
            rendition,
            [im],
            source_format=opened.format,
            opaque=opaque,
            encoding=encoding,
            target=job.settings.quality_target,
            check_deadline=job.check_deadline,
        )
    ]
    if job.gain_map is not None:
        rendered = _with_gain_map(job, job.gain_map, rendered, boxes)
    return RenderSet(job.source, rendered, _placeholder.placeholder(made[len(plan.crops)]))


def _with_gain_map(
    job: _Job,
    gain_map: _gainmap.GainMap,
    rendered: list[RenderedImage],
    boxes: Sequence[tuple[int, int, int, int] | None],
) -> list[RenderedImage]:
    """JPEG renditions of an Ultra HDR source made Ultra HDR themselves (``_gainmap``);
    every other output as it was, and every output when the map cannot be kept."""
    job.check_deadline()  # before the map's decode
    stored = _gainmap.decode(gain_map, job.opened.image.size)
    if stored is None:
        return rendered
    return [
        _ultra_hdr(job, image, stored, gain_map, boxes) if image.format == "JPEG" else image
        for image in rendered
    ]


def _ultra_hdr(
    job: _Job,
    image: RenderedImage,
    stored: Image.Image,
    gain_map: _gainmap.GainMap,
    boxes: Sequence[tuple[int, int, int, int] | None],
) -> RenderedImage:
    """One JPEG rendition with its gain map: the same geometry, encoded, attached."""
    job.check_deadline()
    index = job.settings.renditions.index(image.rendition)
    mapped = _gainmap.transform(
        stored,
        orientation=job.orientation,
        upright=job.plan.upright,
        scaled=job.plan.targets[index],
        box=boxes[index],
        size=(image.width, image.height),
    )
    buffer = io.BytesIO()
    quality = Encoders.of(job.settings).with_quality(image.rendition.quality).jpeg_quality
    mapped.save(buffer, "JPEG", quality=quality, optimize=True)
    return replace(image, data=_gainmap.attach(image.data, buffer.getvalue(), gain_map))


def _encoding(
    settings: Settings, icc: bytes | None, metadata: _metadata.Kept = _metadata.NOTHING
) -> _output.Encoding:
    return _output.Encoding.of(settings, icc_profile=icc, metadata=metadata)


def _resample_still(
    data: bytes,
    opened: OpenedImage,
    orientation: int,
    targets: Sequence[tuple[int, int]],
    check_deadline: DeadlineCheck = no_deadline,
) -> tuple[list[Image.Image], bytes | None]:
    """Decode once (shrunk on load) and cascade: (upright images, ICC to embed).
    ``check_deadline`` is called before the decode and before each resize."""
    largest = max(targets, key=lambda size: size[0] * size[1])
    check_deadline()
    with decoding(f"{opened.format} image"):
        image, box = _decode.decode(data, opened, _resample.stored_size(largest, orientation))
        work = _colour.working(image, opened.image.info.get("icc_profile") or None)
    return _resample.cascade(
        work.image, box, orientation, targets, check_deadline
    ), work.icc_profile


def resample(
    data: bytes, settings: Settings, focal: tuple[float, float] | None = None
) -> list[Image.Image]:
    """The pixels render() would encode, for still images (quality tests, benchmarks)."""
    with admitted(data, settings, None) as opened:
        orientation, plan = _resample.planned(opened, settings)
        made, _ = _resample_still(data, opened, orientation, plan.targets)
    images = _resample.cut(made, _resample.windows(made, plan, focal))
    return [_colour.straight(im) for im in images]


def _render_animation(job: _Job) -> RenderSet:
    """Animated GIF, WebP and APNG keep every frame and its duration where the output
    holds an animation (GIF, WebP, PNG); other outputs get the first frame. Cover crops
    cut every frame at the first frame's window."""
    opened, plan = job.opened, job.plan
    image = opened.image
    icc = image.info.get("icc_profile") or None
    frames: list[list[Image.Image]] = [[] for _ in plan.crops]
    durations: list[int] = []
    firsts: list[Image.Image] = []
    boxes: list[tuple[int, int, int, int] | None] = []
    with decoding(f"{opened.format} animation"):
        loop = image.info.get("loop")
        for index in range(opened.frames):
            job.check_deadline()
            image.seek(index)
            # Pillow quirk: GIF frames after the first arrive as RGB/RGBA, the first
            # as P; normalise every frame to premultiplied RGBA, then resample.
            frame = image.convert("RGBA").convert("RGBa")
            durations.append(int(image.info.get("duration", 100)))
            made = _resample.cascade(frame, None, job.orientation, plan.targets)
            if not firsts:
                firsts, boxes = made, _resample.windows(made, plan, job.focal, job.check_deadline)
            for rendition_frames, im in zip(frames, _resample.cut(made, boxes), strict=False):
                rendition_frames.append(im)
    embed = icc
    for index, rendition_frames in enumerate(frames):
        frames[index], embed = _colour.bounded_profile(rendition_frames, icc)
    frames = _watermark.mark_frames(job.settings.renditions, frames, job.settings)
    encoding = _encoding(job.settings, embed, job.metadata)
    rendered = []
    for rendition, rendition_frames in zip(job.settings.renditions, frames, strict=True):
        rendered += _encoded(
            rendition,
            rendition_frames,
            source_format=job.opened.format,
            opaque=False,
            encoding=encoding,
            target=job.settings.quality_target,
            durations=durations,
            loop=loop,
            check_deadline=job.check_deadline,
        )
    return RenderSet(job.source, rendered, _placeholder.placeholder(firsts[len(plan.crops)]))
