"""Faces: precision and recall of the cover-crop face detector on the labelled set, its
CPU per image, and whether the 500x500 cover crop keeps the faces.

    PYTHONPATH=src python bench/faces.py [--size 480] [--neighbours 3] [--step 1.1] [--opencv]
                                         [--rounds 3]

The set: every scene of tests/support/images.py (SCENES: the scikit-image faces of
tests/corpus/faces composed with face-free photos, text and foliage), as is and
mirrored, at 1x and 2x (JPEG q85), plus the face-free photos of examples/photos at
1600 px. Each image goes through ``resizer.imaging.render`` with one ``500x500:cover``
rendition; the faces the render finds (``_faces.faces``, on the render's own reduced
copy) are matched to the labelled faces (IoU >= 0.4, each label at most once):
precision = matched / found, recall = matched / labelled (the cameraman's
three-quarter profile is labelled, and counted). CPU is ``time.process_time`` around
the detection alone (one thread: user + sys), the median of ``--rounds`` runs of each
image's detection (the machine is shared: one run is noisy). ``--opencv`` runs
cv2.CascadeClassifier on the same reduced copies (the XML of tests/corpus/faces) for
comparison. A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

import images  # noqa: E402

from resizer.config import Settings, parse_renditions  # noqa: E402
from resizer.imaging import _faces, render  # noqa: E402

Rect = tuple[int, int, int, int]


def labelled_set() -> list[tuple[str, bytes, tuple[int, int], list[Rect]]]:
    cases = []
    for name in images.SCENES:
        scene, faces = images.face_scene(name)
        for mirror in (False, True):
            image, boxes = scene, faces
            if mirror:
                image = ImageOps.mirror(scene)
                boxes = [(scene.width - r, t, scene.width - left, b) for left, t, r, b in faces]
            for scale in (1, 2):
                sized = image.resize((image.width * scale, image.height * scale))
                data = images.encode(sized, "JPEG", quality=85)
                scaled = [tuple(v * scale for v in box) for box in boxes]
                tag = f"{name}{'-mirrored' if mirror else ''}@{scale}x"
                cases.append((tag, data, sized.size, scaled))  # type: ignore[arg-type]
    for name in images.FACE_FREE:
        image = images.photo(images.PHOTOS / name, 1600)
        data = images.encode(image, "JPEG", quality=85)
        cases.append((name, data, image.size, []))
    return cases


def iou(a: Rect, b: Rect) -> float:
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def matched(found: list[Rect], labels: list[Rect]) -> int:
    free = list(labels)
    count = 0
    for box in found:
        best = max(free, key=lambda label: iou(box, label), default=None)
        if best is not None and iou(box, best) >= 0.4:
            free.remove(best)
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=_faces.ANALYSIS_SIZE)
    parser.add_argument("--neighbours", type=int, default=_faces.MIN_NEIGHBOURS)
    parser.add_argument("--step", type=float, default=_faces.SCALE_STEP)
    parser.add_argument("--opencv", action="store_true")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    _faces.ANALYSIS_SIZE = args.size
    settings = Settings(renditions=parse_renditions("sq=500x500:cover"))
    copies: list[Image.Image] = []
    seconds: list[float] = []
    results: list[list[_faces.Fractions]] = []

    def timed(image: Image.Image, *rest: object) -> list[_faces.Fractions]:
        """_faces.faces, timed, with ``--step`` and ``--neighbours``."""
        copies.append(image)
        grey = image.convert("L")
        runs = []
        for _ in range(args.rounds):
            start = time.process_time()
            hits, _ = _faces.hits(grey, scale_step=args.step)
            boxes = _faces.group(hits, args.neighbours)
            runs.append(time.process_time() - start)
        seconds.append(statistics.median(runs))
        w, h = image.size
        results.append([(x / w, y / h, (x + bw) / w, (y + bh) / h) for x, y, bw, bh in boxes])
        return results[-1]

    _faces.faces = timed  # type: ignore[assignment]
    _faces.cascade()  # loaded once, outside the timings
    total_found = total_matched = total_labelled = 0
    cv_found = cv_matched = 0
    for tag, data, size, labels in labelled_set():
        copies.clear()
        results.clear()
        render(data, settings)
        found = [
            (round(a * size[0]), round(b * size[1]), round(c * size[0]), round(d * size[1]))
            for a, b, c, d in (results[0] if results else [])
        ]
        hits = matched(found, labels)
        total_found += len(found)
        total_matched += hits
        total_labelled += len(labels)
        line = f"{tag:45} labelled {len(labels)} found {len(found)} matched {hits}"
        if args.opencv and copies:
            import cv2
            import numpy as np

            xml = ROOT / "tests" / "corpus" / "faces" / "lbpcascade_frontalface.xml"
            copy = copies[0].convert("L")
            k = size[0] / copy.width
            cv = [
                (round(x * k), round(y * k), round((x + w) * k), round((y + h) * k))
                for x, y, w, h in cv2.CascadeClassifier(str(xml)).detectMultiScale(
                    np.asarray(copy), args.step, args.neighbours
                )
            ]
            cv_hits = matched(cv, labels)
            cv_found += len(cv)
            cv_matched += cv_hits
            line += f" | opencv found {len(cv)} matched {cv_hits}"
        # No copy: this image ran no detection (seconds[-1] is another image's).
        print(f"{line}  {seconds[-1] * 1000:.0f} ms" if copies else line)
    precision = total_matched / total_found if total_found else 1.0
    recall = total_matched / total_labelled
    print(
        f"size {args.size} step {args.step} neighbours {args.neighbours}: "
        f"precision {precision:.2f} ({total_matched}/{total_found}), "
        f"recall {recall:.2f} ({total_matched}/{total_labelled}); CPU per image "
        f"median {statistics.median(seconds) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms"
    )
    if args.opencv:
        print(
            f"opencv on the same copies: precision {cv_matched / max(cv_found, 1):.2f} "
            f"({cv_matched}/{cv_found}), recall {cv_matched / total_labelled:.2f}"
        )


if __name__ == "__main__":
    main()
