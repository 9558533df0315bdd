"""Decoded pixels -> each rendition's pixels: the plan of sizes, the cascade, the crops.

From the source's upright size, :func:`planned` computes every target (a rendition's
size, a cover's scaled image, the placeholder's and the focal-point analysis'
copies); :func:`cascade` resizes the decoded image to all of them, largest first,
each from the smallest result that covers it; :func:`windows` and :func:`cut` cut
the cover crops around the focal point. No decoding and no encoding here
(``_render`` does both around it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from resizer.config import Rendition, Settings
from resizer.errors import no_deadline
from resizer.imaging import _crop, _placeholder
from resizer.imaging._frames import DeadlineCheck
from resizer.imaging._geometry import TRANSPOSE, fit, swaps_axes
from resizer.imaging._source import OpenedImage, decoding

# Speed/quality knobs, each measured by bench/renditions.py on examples/photos and
# guarded by tests/unit/test_imaging_quality.py (SSIM >= 0.99, PSNR >= 40 dB against
# a full decode resized once with LANCZOS). See docs/performance.md.
#
# JPEG shrink-on-load (the decode scale, DRAFT_GAP): see _decode.
# resize(reducing_gap=...): box-reduce() by an integer factor first while the image
# stays at least REDUCING_GAP x the target, then filter the rest. 1.0 (box only)
# measured SSIM 0.976 on thumbnails; 2.0 (Pillow's default) 0.9986; 3.0 0.9992 at
# +15 % time.
REDUCING_GAP = 2.0
# The first step (decoded image -> largest rendition, a ratio below 2 after
# shrink-on-load) is the most expensive: BICUBIC (antialiased like every Pillow
# downscale filter, support 2 instead of LANCZOS' 3) cuts the whole render by ~10 %
# at SSIM 0.9958 / PSNR 44 dB (LANCZOS: 0.9961 / 51.6). The cascade steps, cheap
# since their sources are small, keep LANCZOS, the sharpest.
FIRST_FILTER = Image.Resampling.BICUBIC
FILTER = Image.Resampling.LANCZOS


@dataclass(frozen=True)
class Plan:
    """Cascade targets: one per rendition (a cover's is the whole image scaled to cover
    its box), then the placeholder's copy and, when a rendition is a cover, the
    focal-point analysis' copy (none without a crop: crops cost nothing when unused),
    then (with FACE_DETECTION=on and a cover rendition) the face detector's copy."""

    upright: tuple[int, int]
    targets: list[tuple[int, int]]
    crops: list[tuple[int, int] | None]  # per rendition: the cover crop, else None
    faces: bool = False  # whether the last target is the face detector's copy


def exif_orientation(image: Image.Image) -> int:
    # Read from the parsed EXIF only (no pixels are decoded for JPEG, TIFF, WebP).
    # Out-of-range values (0, 9, garbage) mean "as stored".
    value = image.getexif().get(0x0112, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def stored_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """An upright size expressed in the stored (pre-orientation) pixel grid."""
    return (size[1], size[0]) if swaps_axes(orientation) else size


def resize(
    image: Image.Image,
    size: tuple[int, int],
    resample: Image.Resampling,
    box: tuple[float, float, float, float] | None = None,
) -> Image.Image:
    return image.resize(size, resample, box=box, reducing_gap=REDUCING_GAP)


def cascade(
    base: Image.Image,
    box: tuple[float, float, float, float] | None,
    orientation: int,
    targets: Sequence[tuple[int, int]],
    check_deadline: DeadlineCheck = no_deadline,
) -> list[Image.Image]:
    """Resize ``base`` (stored orientation) to every upright target size.

    Largest first; each smaller rendition is resized from the smallest rendition made
    so far that covers it, not from the full image. Orientation is applied to the
    first, resized result (transposing 1600 px is cheaper than transposing 24 MP).
    ``check_deadline`` is called before each resize.
    """
    results: list[Image.Image | None] = [None] * len(targets)
    made: list[Image.Image] = []
    for index in sorted(range(len(targets)), key=lambda i: -targets[i][0] * targets[i][1]):
        width, height = targets[index]
        covering = [im for im in made if im.width >= width and im.height >= height]
        if covering:
            source = min(covering, key=lambda im: im.width * im.height)
            result = source
            if source.size != (width, height):
                check_deadline()
                result = resize(source, (width, height), FILTER)
        else:
            stored = stored_size((width, height), orientation)
            result = base
            if stored != base.size or box is not None:
                check_deadline()
                result = resize(base, stored, FIRST_FILTER, box)
            if orientation != 1:
                result = result.transpose(TRANSPOSE[orientation])
        made.append(result)
        results[index] = result
    return [im for im in results if im is not None]


def make_plan(
    upright: tuple[int, int], renditions: Sequence[Rendition], face_detection: str = "off"
) -> Plan:
    targets: list[tuple[int, int]] = []
    crops: list[tuple[int, int] | None] = []
    for rendition in renditions:
        if rendition.fit == "cover":
            scaled, crop = _crop.cover_size(upright, rendition.box)
            targets.append(scaled)
            crops.append(crop)
        else:
            targets.append(fit(upright, rendition.box))
            crops.append(None)
    small = (_placeholder.SIZE, _placeholder.SIZE)
    targets.append(fit(upright, small))
    if any(crops):  # the focal-point analysis' copy: only for a cover crop to place
        analysis = (_crop.ANALYSIS_SIZE, _crop.ANALYSIS_SIZE)
        targets.append(fit(upright, analysis))
    # Faces move a crop only where it cuts something: a cover whose scaled image is its
    # box (a source of the box's aspect ratio) is the whole image wherever faces are.
    cuts = any(crop not in (None, scaled) for crop, scaled in zip(crops, targets, strict=False))
    faces = cuts and _crop.looks_for_faces(renditions, face_detection)
    if faces:
        # Imported by the work that may need it: a cold start for anything else stays
        # as it was (the module and its Pillow imports: about 1 ms, docs/performance.md).
        from resizer.imaging import _faces  # noqa: PLC0415

        targets.append(fit(upright, (_faces.ANALYSIS_SIZE, _faces.ANALYSIS_SIZE)))
    return Plan(upright, targets, crops, faces)


def planned(opened: OpenedImage, settings: Settings) -> tuple[int, Plan]:
    """(EXIF orientation, plan); may decode (TIFF, PNG's EXIF), so only once admitted."""
    with decoding(f"{opened.format} metadata"):
        if opened.format == "TIFF":
            # Pillow quirk: its TIFF plugin reports the *oriented* size and applies
            # the Orientation tag itself while loading (then deletes the tag). Load
            # first (TIFF has no shrink-on-load to lose), so a tag that survives is
            # one Pillow did not apply, and nothing is rotated twice.
            opened.image.load()
        orientation = exif_orientation(opened.image)
    upright = stored_size(opened.image.size, orientation)
    return orientation, make_plan(upright, settings.renditions, settings.face_detection)


def windows(
    made: Sequence[Image.Image],
    plan: Plan,
    focal: _crop.Point | None,
    check_deadline: DeadlineCheck = no_deadline,
) -> list[tuple[int, int, int, int] | None]:
    """Per rendition, the box a cover crop cuts from its scaled image (else None).

    The focal point: ``focal`` (the source's metadata), else the faces (looked for
    once per source, on the plan's face copy, when the plan has one), else edge
    energy, else the centre. ``check_deadline`` is called by the face detector."""
    count = len(plan.crops)
    edges: Image.Image | None = None
    found: list[tuple[float, float, float, float]] | None = None
    boxes: list[tuple[int, int, int, int] | None] = []
    for image, crop in zip(made[:count], plan.crops, strict=True):
        if crop is None:
            boxes.append(None)
            continue
        point = focal
        if point is None and plan.faces:
            from resizer.imaging import _faces  # noqa: PLC0415 (as in make_plan)

            if found is None:
                found = _faces.faces(made[count + 2], check_deadline)
            point = _faces.focus(found, image.size, crop)
        if point is None:
            if edges is None:
                edges = _crop.energy(made[count + 1])
            point = _crop.attention(edges, image.size, crop)
        boxes.append(_crop.window(image.size, crop, point or (0.5, 0.5)))
    return boxes


def cut(
    made: Sequence[Image.Image], boxes: Sequence[tuple[int, int, int, int] | None]
) -> list[Image.Image]:
    """One image per rendition: the cascade's, cut where a box says."""
    return [im if box is None else im.crop(box) for im, box in zip(made, boxes, strict=False)]
