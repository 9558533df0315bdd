"""Faces in cover crops (resizer.imaging._faces): the detector on the labelled set
(tests/corpus/faces, composed into wide scenes with distractors by images.face_scene),
the crop rule, and the settings around it."""

from __future__ import annotations

import sys

import images
import pytest
from PIL import Image

from resizer.config import Settings, fingerprint, parse_renditions
from resizer.errors import DeadlineError
from resizer.imaging import _faces, render

SQUARE = "sq=500x500:cover"
#: The cascade as OpenCV reads it (dev only; the function ships its conversion).
OPENCV_XML = images.FACE_SOURCES / "lbpcascade_frontalface.xml"
Rect = tuple[int, int, int, int]


def settings(renditions: str = SQUARE, **values: object) -> Settings:
    return Settings(renditions=parse_renditions(renditions), **values)  # type: ignore[arg-type]


def jpeg(image: Image.Image) -> bytes:
    return images.encode(image, "JPEG", quality=90)


def test_a_portrait_near_the_edge_of_a_wide_photo_stays_in_the_square_crop() -> None:
    """The issue's case: a face near the left edge of a wide photo whose other end is
    busier (paint brushes); edge energy alone cuts the person out."""
    scene, (face,) = images.face_scene("astronaut_left_brushes")
    (rendered,) = render(jpeg(scene), settings())
    assert (rendered.width, rendered.height) == (500, 500)
    box = images.cover_window(scene, rendered.data)
    assert images.holds(box, face), f"crop {box} cuts the face {face} out"


# --- the detector on the labelled set ----------------------------------------------------


def found_by_render(image: Image.Image, monkeypatch: pytest.MonkeyPatch) -> list[Rect]:
    """The faces a render of ``image`` (JPEG q85, one 500x500 cover) finds, on its own
    reduced copy, in ``image``'s pixels."""
    found: list[list[_faces.Fractions]] = []
    real = _faces.faces

    def spy(copy: Image.Image, *rest: object) -> list[_faces.Fractions]:
        found.append(real(copy, *rest))  # type: ignore[arg-type]
        return found[-1]

    monkeypatch.setattr(_faces, "faces", spy)
    render(images.encode(image, "JPEG", quality=85), settings())
    (faces,) = found
    w, h = image.size
    return [(round(a * w), round(b * h), round(c * w), round(d * h)) for a, b, c, d in faces]


def iou(a: Rect, b: Rect) -> float:
    inter_w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


#: The scenes and how many of their labelled faces the detector must find (the
#: cameraman's three-quarter profile is labelled but is not a frontal face).
FRONTAL = {
    "astronaut_left_brushes": 1,
    "astronaut_right_text": 1,
    "group_left_foliage": 3,
    "two_faces_apart": 2,
}


@pytest.mark.parametrize("name", sorted(FRONTAL))
def test_faces_are_found_in_composed_scenes_and_nothing_else(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    scene, labelled = images.face_scene(name)
    found = found_by_render(scene, monkeypatch)
    for box in found:  # precision: every face found is a labelled face
        assert max(iou(box, face) for face in labelled) >= 0.4, (box, labelled)
    matched = [face for face in labelled if any(iou(box, face) >= 0.4 for box in found)]
    assert len(matched) >= FRONTAL[name], (found, labelled)


@pytest.mark.parametrize("name", images.FACE_FREE)
def test_no_face_is_found_in_photos_without_people(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert found_by_render(images.photo(images.PHOTOS / name, 1600), monkeypatch) == []


def test_the_first_stages_run_at_once_exactly_as_one_window_at_a_time() -> None:
    """_Grid (Pillow's C, every window at once) accepts exactly the windows the Python
    evaluation accepts, on a real scene."""
    copy = images.face_scene("group_left_foliage")[0].convert("L")
    copy.thumbnail((_faces.ANALYSIS_SIZE, _faces.ANALYSIS_SIZE), Image.Resampling.LANCZOS)
    at_once, _ = _faces.hits(copy, scale_step=1.2, max_windows=10**9)
    one_by_one, _ = _faces.hits(copy, scale_step=1.2, vector_stages=0, max_windows=10**9)
    assert sorted(at_once) == sorted(one_by_one)
    assert len(at_once) > 10


def test_the_integral_image_holds_exact_sums() -> None:
    """_integral (Pillow's C, doubling shifts) against plain sums, on a real copy with an
    odd size; a copy whose sums could overflow 32 bits is refused."""
    copy = images.face_scene("two_faces_apart")[0].convert("L").resize((97, 61))
    table = _faces._integral(copy)
    pixels = copy.tobytes()
    stride = copy.width + 1
    assert len(table) == stride * (copy.height + 1)
    for x, y in [(0, 0), (1, 0), (0, 1), (50, 30), (97, 61), (96, 13), (5, 61)]:
        expected = sum(pixels[row * copy.width + col] for row in range(y) for col in range(x))
        assert table[y * stride + x] == expected, (x, y)
    with pytest.raises(ValueError, match="32-bit"):
        _faces._integral(Image.new("L", (4096, 2100)))


def test_the_mosaic_and_the_bands_find_what_one_grid_per_scale_finds() -> None:
    """The small scales packed into one grid (_mosaic) and a scale cut into even bands
    (_banded) keep exactly the windows a grid over each whole scale keeps."""
    model = _faces.cascade()
    copy = images.face_scene("group_left_foliage")[0].convert("L")
    copy.thumbnail((_faces.ANALYSIS_SIZE, _faces.ANALYSIS_SIZE), Image.Resampling.LANCZOS)
    factors = [f for f in _faces._scales(copy.size, model.window, 1.05) if f >= 2.0]
    levels = [level for _, level in _faces._levels(copy, factors)]
    assert len({level.width % 2 for level in levels}) == 2  # odd and even sizes
    packed = _faces._mosaic(levels, copy.width, model, _faces.VECTOR_STAGES)
    alone = [
        _faces._Grid(level, model.window).survivors(model, _faces.VECTOR_STAGES) for level in levels
    ]
    assert packed == alone
    assert sum(map(len, alone)) > 100
    # 129 rows of windows: more than one band of at most BAND // 2 rows.
    tall = copy.resize((copy.width, 24 + 2 * 128))
    assert _faces._banded(tall, model, 5) == _faces._Grid(tall, model.window).survivors(model, 5)


def test_the_bound_on_windows_drops_the_smallest_faces_first() -> None:
    copy = images.face_scene("group_left_foliage")[0].convert("L")
    copy.thumbnail((_faces.ANALYSIS_SIZE, _faces.ANALYSIS_SIZE), Image.Resampling.LANCZOS)
    every, needed = _faces.hits(copy, scale_step=1.2, max_windows=10**9)
    bounded, evaluated = _faces.hits(copy, scale_step=1.2, max_windows=needed // 2)
    assert evaluated == needed // 2
    assert set(bounded) < set(every)
    dropped = set(every) - set(bounded)
    assert min(box[2] for box in bounded) >= max(box[2] for box in dropped)
    # A stage too large for the grid is never skipped: every stage still runs.
    assert _faces.hits(copy, scale_step=1.2, vector_stages=20, max_windows=10**9)[0] == every


def test_the_port_finds_what_opencv_finds() -> None:
    """Against cv2.CascadeClassifier(...).detectMultiScale on the same greyscale copy,
    with OpenCV's own window steps (1 px beyond a scale of 2) and no vectorised stages:
    the same faces, give or take the rounding of OpenCV's own (non-antialiased) scaling."""
    cv2 = pytest.importorskip("cv2")
    np = pytest.importorskip("numpy")
    astronaut = Image.open(images.FACE_SOURCES / "astronaut.jpg").convert("L")
    astronaut.thumbnail((240, 240), Image.Resampling.BILINEAR)
    found, _ = _faces.hits(astronaut, fine_above=2.0, vector_stages=0, max_windows=10**9)
    ours = _faces.group(found)
    opencv = cv2.CascadeClassifier(str(OPENCV_XML))
    assert not opencv.empty()
    theirs = [
        tuple(int(v) for v in r) for r in opencv.detectMultiScale(np.asarray(astronaut), 1.1, 3)
    ]
    assert len(ours) == len(theirs) == 1
    (x, y, w, h), (cx, cy, cw, ch) = ours[0], theirs[0]
    assert iou((x, y, x + w, y + h), (cx, cy, cx + cw, cy + ch)) > 0.85


def test_a_hostile_image_is_bounded_in_windows_and_checks_the_deadline() -> None:
    """Faces tiled everywhere keep thousands of windows alive through the first stages:
    at most ``max_windows`` (MAX_WINDOWS) of them run in Python, and the deadline is
    checked every CHECK_EVERY scales."""
    scene, (face,) = images.face_scene("astronaut_left_brushes")
    tile = scene.crop(face).convert("L").resize((30, 30))
    tiled = Image.new("L", (300, 300))
    for x in range(0, 300, 30):
        for y in range(0, 300, 30):
            tiled.paste(tile, (x, y))
    checks: list[int] = []
    _, evaluated = _faces.hits(tiled, lambda: checks.append(1), max_windows=500)
    assert evaluated == 500
    _, unbounded = _faces.hits(tiled, lambda: checks.append(1), max_windows=10**9)
    assert unbounded > 2_000
    assert len(checks) >= 5


def test_a_deadline_inside_the_detector_stops_the_render() -> None:
    scene, _ = images.face_scene("astronaut_left_brushes")
    checks: list[str] = []

    def check_deadline() -> None:
        checks.append(sys._getframe(1).f_code.co_name)
        if checks[-1] == "hits" and checks.count("hits") == 3:
            raise DeadlineError("time is up")

    with pytest.raises(DeadlineError):
        render(jpeg(scene), settings(), check_deadline=check_deadline)
    assert checks[-1] == "hits"


# --- the crop rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        ([], None),  # no face: edge energy decides
        ([(0.1, 0.4, 0.2, 0.6)], (0.15, 0.5)),  # one face: its centre
        ([(0.1, 0.4, 0.2, 0.6), (0.3, 0.4, 0.35, 0.5)], (0.225, 0.5)),  # both fit
        ([(0.0, 0.4, 0.2, 0.6), (0.8, 0.4, 0.85, 0.5)], (0.1, 0.5)),  # too far: largest
    ],
)
def test_the_focal_point_holds_every_face_when_they_fit_else_the_largest(
    found: list[_faces.Fractions], expected: tuple[float, float] | None
) -> None:
    # A 2:1 image scaled to 1000x500, cut to 500x500: half of its width fits.
    point = _faces.focus(found, (1000, 500), (500, 500))
    assert point == (pytest.approx(expected) if expected else None)


def test_a_tall_crop_follows_faces_vertically_and_an_uncut_image_has_no_point() -> None:
    assert _faces.focus([(0.4, 0.1, 0.6, 0.2)], (500, 1000), (500, 500)) == pytest.approx(
        (0.5, 0.15)
    )
    assert _faces.focus([(0.4, 0.1, 0.6, 0.2)], (500, 500), (500, 500)) is None


def test_the_crop_holds_every_face_when_they_fit() -> None:
    scene, labelled = images.face_scene("group_left_foliage")
    (rendered,) = render(jpeg(scene), settings())
    box = images.cover_window(scene, rendered.data)
    assert len(labelled) == 3
    assert all(images.holds(box, face) for face in labelled), (box, labelled)


def test_the_crop_holds_the_largest_face_when_they_do_not_fit() -> None:
    scene, (large, small) = images.face_scene("two_faces_apart")
    (rendered,) = render(jpeg(scene), settings())
    box = images.cover_window(scene, rendered.data)
    assert images.holds(box, large)
    assert not images.holds(box, small)


def test_focal_point_metadata_wins_over_faces() -> None:
    scene, (face,) = images.face_scene("astronaut_left_brushes")
    (rendered,) = render(jpeg(scene), settings(), focal=(1.0, 0.5))
    box = images.cover_window(scene, rendered.data)
    assert box[2] >= scene.width - 12  # the right end, as asked
    assert not images.holds(box, face)


def test_face_detection_off_gives_the_edge_energy_crop() -> None:
    scene, (face,) = images.face_scene("astronaut_left_brushes")
    data = jpeg(scene)
    (off,) = render(data, settings(face_detection="off"))
    box = images.cover_window(scene, off.data)
    assert not images.holds(box, face)
    assert box[0] > scene.width / 3  # the busy end (the brushes), as before faces
    (on,) = render(data, settings())
    assert images.holds(images.cover_window(scene, on.data), face)


def test_faces_are_looked_for_once_per_source(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    real = _faces.faces

    def counted(image: Image.Image, *args: object) -> list[_faces.Fractions]:
        calls.append(image.size)
        return real(image, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_faces, "faces", counted)
    scene, _ = images.face_scene("astronaut_left_brushes")
    many = "sq=500x500:cover,thumb=150x150:cover,banner=600x200:cover,fit=400x400"
    assert len(render(jpeg(scene), settings(many))) == 4
    assert calls == [(_faces.ANALYSIS_SIZE, _faces.ANALYSIS_SIZE // 2)]  # once, reduced


def test_faces_are_not_looked_for_when_no_cover_crop_cuts_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cover of the source's own aspect ratio keeps the whole image: no detection."""
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(_faces, "faces", lambda image, *args: calls.append(image.size) or [])
    scene, _ = images.face_scene("astronaut_left_brushes")  # 1500 x 750
    assert scene.size == (1500, 750)
    same_ratio = render(jpeg(scene), settings("wide=600x300:cover,fit=400x400"))
    assert [(r.width, r.height) for r in same_ratio] == [(600, 300), (400, 200)]
    assert calls == []
    render(jpeg(scene), settings("wide=600x300:cover,sq=300x300:cover"))
    assert len(calls) == 1


def test_the_cascade_is_loaded_only_when_a_cover_crop_needs_faces() -> None:
    _faces._load.cache_clear()
    _faces._tables.cache_clear()
    scene, _ = images.face_scene("astronaut_left_brushes")
    data = jpeg(scene)
    render(data, settings("fit=400x400"))
    render(data, settings(), focal=(0.5, 0.5))
    render(data, settings(face_detection="off"))
    assert _faces._load.cache_info().currsize == 0
    render(data, settings())
    assert _faces._load.cache_info().currsize == 1


def test_the_admission_reserves_the_detectors_memory_when_it_runs() -> None:
    from resizer.imaging._admission import estimate, open_within_limits
    from resizer.imaging._memory import FACE_DETECTION_BYTES

    data = jpeg(images.face_scene("astronaut_left_brushes")[0])

    def reserved(config: Settings) -> int:
        return estimate(open_within_limits(data, config), len(data), config)

    on, off = reserved(settings()), reserved(settings(face_detection="off"))
    assert on - off == FACE_DETECTION_BYTES
    fitted = "fit=500x500"
    assert reserved(settings(fitted)) == reserved(settings(fitted, face_detection="off"))


def test_the_fingerprint_of_a_cover_rendition_changes_with_face_detection() -> None:
    on, off = (
        settings("sq=500x500:cover,fit=400x400"),
        settings("sq=500x500:cover,fit=400x400", face_detection="off"),
    )
    cover, fit = on.renditions
    assert fingerprint(on, cover) != fingerprint(off, cover)
    assert fingerprint(on, fit) == fingerprint(off, fit)  # nothing is cut
    assert fingerprint(on) != fingerprint(off)
