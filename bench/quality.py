"""Issue 19: format=auto:quality=auto against today's fixed encoders, on real photos
and generated graphics at 800 px (a benchmark, not a test).

    .venv/bin/python bench/quality.py [--rounds 1] [PHOTO ...]   # default: examples/photos
    .venv/bin/python bench/quality.py --fit        # prints resizer.imaging._auto.MODEL
    .venv/bin/python bench/quality.py --graphics   # the graphics test's measurements
    .venv/bin/python bench/quality.py --levers     # AVIF encoder options, bytes at the target

The target is today's JPEG (JPEG_QUALITY 85) median SSIMULACRA2 score on the photos,
rounded (QUALITY_TARGET is a whole number). Bytes: per photo, the smallest output of
``m=800x800:format=auto:quality=auto`` (what a browser that takes AVIF downloads)
against today's JPEG; goal 0.70x or less in total, every photo within 3 of the target;
the worst photo's score against today's JPEG's worst. CPU: each (contestant, photo)
renders in a fresh interpreter (time.process_time: user + sys of the process, Pillow's
threads included; the machine is shared, so not wall time), the median over rounds;
auto against today's fixed ``format=jpeg+webp+avif``, goal 2.5x or less. Scores are
resizer's own metric (resizer.imaging._ssimulacra2), against the rendition's pixels
before encoding (``resample``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resizer.config import Settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))  # the image factory (graphics)
PHOTOS = sorted((ROOT / "examples" / "photos").glob("*.jpg"))
BOX = "m=800x800"
FIXED = BOX + ":format=jpeg+webp+avif"
AUTO = BOX + ":format=auto:quality=auto"
#: --fit's quality ladder (resizer.imaging._auto.MODEL's points).
LADDER = (20, 40, 60, 75, 85, 92, 100)
GRAPHICS = ("chart", "screenshot", "logo")
#: --levers' AVIF options (on top of quality=auto's: 4:4:4, config.AVIF_SPEED and
#: libavif's defaults, tune=iq among them) and the qualities each is encoded at.
LEVERS: tuple[tuple[str, dict[str, object]], ...] = (
    ("as searched", {}),
    ("speed 7", {"speed": 7}),
    ("speed 6", {"speed": 6}),
    ("sharpness 0", {"advanced": (("sharpness", "0"),)}),
    ("sharpness 1", {"advanced": (("sharpness", "1"),)}),
    ("sharpness 2", {"advanced": (("sharpness", "2"),)}),
    ("enable-qm 1", {"advanced": (("enable-qm", "1"),)}),
    ("enable-qm 1, qm-min 0", {"advanced": (("enable-qm", "1"), ("qm-min", "0"))}),
    ("enable-chroma-deltaq 1", {"advanced": (("enable-chroma-deltaq", "1"),)}),
    ("deltaq-mode 0", {"advanced": (("deltaq-mode", "0"),)}),
    ("deltaq-mode 3", {"advanced": (("deltaq-mode", "3"),)}),
    ("aq-mode 1", {"advanced": (("aq-mode", "1"),)}),
    ("enable-cdef 0", {"advanced": (("enable-cdef", "0"),)}),
    ("enable-restoration 1", {"advanced": (("enable-restoration", "1"),)}),
    ("speed 6, sharpness 0", {"speed": 6, "advanced": (("sharpness", "0"),)}),
)
LEVER_QUALITIES = (50, 58, 64, 70, 74, 78, 82, 88)


def _settings(renditions: str, target: int | None = None) -> Settings:
    from resizer.config import Settings

    env = {"RENDITIONS": renditions}
    if target is not None:
        env["QUALITY_TARGET"] = str(target)
    return Settings.from_env(env)


def child(contestant: str, path: str, target: int) -> float:
    """CPU seconds of one render in this fresh process."""
    from resizer.imaging import render

    data = _source_bytes(path)
    settings = _settings(FIXED if contestant == "fixed" else AUTO, target)
    start = time.process_time()
    render(data, settings)
    return time.process_time() - start


def _source_bytes(path: str) -> bytes:
    if path.startswith("graphic:"):
        import images

        kind = path.removeprefix("graphic:")
        return images.encode(images.graphic(kind, (1200, 900)), "PNG")
    return Path(path).read_bytes()


def _score(reference: object, data: bytes) -> float:
    from PIL import Image

    from resizer.imaging import _auto

    assert isinstance(reference, Image.Image)
    mode = "RGBA" if "A" in reference.getbands() else "RGB"
    straight = reference.convert("RGBA" if reference.mode == "RGBa" else reference.mode)
    return _auto.ssimulacra2(straight.convert(mode))(_auto.decoded(data, mode))


def today(sources: list[str]) -> dict[str, tuple[int, float]]:
    """Per source: today's rendition's (bytes, score): JPEG q85 for a photo, PNG (the
    original family) for a graphic."""
    from resizer.imaging import render
    from resizer.imaging._render import resample

    result = {}
    for path in sources:
        # Photos: today's JPEG; graphics: today's default (the original family: PNG).
        graphic = path.startswith("graphic:")
        settings = _settings(BOX if graphic else BOX + ":format=jpeg")
        data = _source_bytes(path)
        (image,) = render(data, settings)
        result[path] = (len(image.data), _score(resample(data, settings)[0], image.data))
    return result


def auto(sources: list[str], target: int) -> dict[str, list[tuple[str, int, int | None, float]]]:
    """Per source: the outputs of format=auto:quality=auto (format, bytes, quality, score)."""
    from resizer.imaging import render

    settings = _settings(AUTO, target)
    result = {}
    for path in sources:
        made = render(_source_bytes(path), settings)
        result[path] = [(i.format, len(i.data), i.quality, float(i.score or 0)) for i in made]
    return result


def cpu(sources: list[str], rounds: int, target: int) -> dict[tuple[str, str], float]:
    runs: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for path in sources:
            for contestant in ("fixed", "auto"):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", contestant, path, str(target)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.setdefault((contestant, path), []).append(float(out.stdout))
    return {key: statistics.median(values) for key, values in runs.items()}


def fit(photos: list[Path]) -> None:
    """The median score per quality of each lossy format on the photos' 800 px renditions."""
    from resizer.imaging import _auto, _output
    from resizer.imaging._render import resample

    settings = _settings(BOX)
    encoding = _output.Encoding.of(settings)
    renditions = [resample(p.read_bytes(), settings)[0] for p in photos]
    print("MODEL = {")
    for output in (_output.JPEG, _output.WEBP, _output.AVIF):
        points = []
        for quality in LADDER:
            scores = []
            for image in renditions:
                references = _auto.References(image)
                # As the search encodes it: AVIF at 4:4:4 (_auto.JPEG_FULL_CHROMA_FROM).
                _, full = references.measures(output, encoding, output is _output.AVIF)
                scores.append(full(quality))
            points.append(f"({quality}, {statistics.median(scores):.1f})")
        print(f'    "{output.format}": ({", ".join(points)}),')
    print("}")


def graphics_test(photos: list[Path]) -> None:
    """Colours and flat share of photos' and graphics' renditions (the graphics test)."""
    import images

    from resizer.imaging import _auto
    from resizer.imaging._render import resample

    settings = _settings("a=1600x1600,m=800x800,t=150x150:cover")

    def row(name: str, data: bytes) -> None:
        made = resample(data, settings)
        shares = " ".join(f"{_auto.flat_share(im):.3f}" for im in made)
        colours = " ".join(f"{len(im.getcolors(1 << 24) or []):,}" for im in made)
        graphic = " ".join("yes" if _auto.is_graphic(im) else "no" for im in made)
        print(f"{name[:28]:28} flat {shares:20} colours {colours:28} graphic {graphic}")

    for photo in photos:
        row(photo.name, photo.read_bytes())
    for kind in GRAPHICS:
        for size in ((300, 200), (800, 600), (1600, 1000)):
            row(f"{kind} {size[0]}x{size[1]}", images.encode(images.graphic(kind, size), "PNG"))


def _at(points: list[tuple[float, int]], target: float) -> float:
    """Bytes at ``target`` interpolated (log-linearly) between the (score, bytes)
    points that bracket it (nan when none does)."""
    import itertools
    import math

    for (s0, b0), (s1, b1) in itertools.pairwise(sorted(points)):
        if s0 <= target <= s1 and s1 > s0:
            ratio = (target - s0) / (s1 - s0)
            return math.exp(math.log(b0) + ratio * (math.log(b1) - math.log(b0)))
    return math.nan


def levers(photos: list[Path], target: float) -> None:
    """Per AVIF option set: bytes at exactly ``target`` on each photo's 800 px rendition
    (no search: every LEVER_QUALITIES encode, interpolated), and the encoders' CPU."""
    import io

    from resizer.config import AVIF_SPEED
    from resizer.imaging import _auto
    from resizer.imaging._render import resample

    settings = _settings(BOX)
    renditions = [(p.name, resample(p.read_bytes(), settings)[0].convert("RGB")) for p in photos]
    scores = [_auto.ssimulacra2(image) for _, image in renditions]
    print(f"bytes at score {target} (AVIF 4:4:4), encoder CPU over {LEVER_QUALITIES}")
    base = None
    for name, extra in LEVERS:
        options: dict[str, object] = {"subsampling": "4:4:4", "speed": AVIF_SPEED, **extra}
        sizes, spent = [], 0.0
        for (_, image), score in zip(renditions, scores, strict=True):
            points = []
            for quality in LEVER_QUALITIES:
                buffer = io.BytesIO()
                start = time.process_time()
                image.save(buffer, "AVIF", quality=quality, **options)
                spent += time.process_time() - start
                data = buffer.getvalue()
                points.append((score(_auto.decoded(data, "RGB")), len(data)))
            sizes.append(_at(points, target))
        total = sum(sizes)
        base = base or total
        print(
            f"{name:24} {total:9,.0f} {total / base:5.3f}x cpu {spent:6.2f} s | "
            + " ".join(f"{n[:10]}:{b:,.0f}" for (n, _), b in zip(renditions, sizes, strict=True))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="*", type=Path)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--graphics", action="store_true")
    parser.add_argument("--levers", action="store_true")
    parser.add_argument("--target", type=float, default=85.0, help="--levers' score")
    parser.add_argument("--child", nargs=3, metavar=("CONTESTANT", "PATH", "TARGET"))
    args = parser.parse_args()
    if args.child:
        print(child(args.child[0], args.child[1], int(args.child[2])))
        return
    photos = args.photos or PHOTOS
    if args.fit:
        fit(photos)
        return
    if args.graphics:
        graphics_test(photos)
        return
    if args.levers:
        levers(photos, args.target)
        return
    sources = [str(p) for p in photos]
    graphics = [f"graphic:{kind}" for kind in GRAPHICS]
    base = today(sources + graphics)
    target = round(statistics.median(base[p][1] for p in sources))
    print(f"target: today's JPEG q85 median score on the photos = {target}")
    outputs = auto(sources + graphics, target)
    times = cpu(sources + graphics, args.rounds, target)
    print(
        f"{'source':30} {'today':>8} {'score':>6} | {'smallest':>8} {'fmt':5} {'q':>4} "
        f"{'score':>6} {'ratio':>6} | {'cpu fixed':>9} {'cpu auto':>9} {'x':>5} | all outputs"
    )
    for path in sources + graphics:
        jpeg_bytes, jpeg_score = base[path]
        fmt, size, quality, score = outputs[path][0]
        fixed, chosen = times[("fixed", path)], times[("auto", path)]
        print(
            f"{Path(path).name[:30]:30} {jpeg_bytes:8,} {jpeg_score:6.1f} | {size:8,} {fmt:5} "
            f"{quality or '-':>4} {score:6.1f} {size / jpeg_bytes:6.2f} | {fixed:9.3f} "
            f"{chosen:9.3f} {chosen / fixed:5.2f} | "
            + " ".join(f"{f}:{b:,}/q{q or '-'}/{s:.1f}" for f, b, q, s in outputs[path])
        )
    total_jpeg = sum(base[p][0] for p in sources)
    total_auto = sum(outputs[p][0][1] for p in sources)
    worst_today = min(base[p][1] for p in sources)
    worst_auto = min(outputs[p][0][3] for p in sources)
    off = max(abs(outputs[p][0][3] - target) for p in sources)
    cpu_fixed = sum(times[("fixed", p)] for p in sources)
    cpu_auto = sum(times[("auto", p)] for p in sources)
    print(
        f"photos: bytes {total_auto:,} vs {total_jpeg:,} = {total_auto / total_jpeg:.2f}x "
        f"(goal <= 0.70x); farthest from the target {off:.1f} (goal <= 3); worst score "
        f"{worst_auto:.1f} vs today's {worst_today:.1f}; "
        f"CPU per photo {cpu_auto / len(sources):.3f} s "
        f"vs fixed jpeg+webp+avif {cpu_fixed / len(sources):.3f} s = {cpu_auto / cpu_fixed:.2f}x "
        f"(goal <= 2.5x)"
    )


if __name__ == "__main__":
    main()
