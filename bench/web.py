"""Issue 11's options: CPU per image of cover, WebP, AVIF (per encoder speed) and the
placeholder, and the bytes WebP and AVIF save over JPEG at equal SSIM, on real photos.

    .venv/bin/python bench/web.py [--rounds 3] [PHOTO ...]   # default: examples/photos

CPU: every (contestant, photo) runs in a fresh interpreter, contestants interleaved
round by round; the child times the render alone (time.process_time: user + sys of the
process, Pillow's threads included) and the figure is the median over rounds, minus
the baseline (one 1600 px JPEG rendition) for the same photo.

Bytes: for each photo, the 1600 px rendition's pixels (resample()) are encoded as JPEG
at JPEG_QUALITY; its SSIM against those pixels is the target; WebP's and AVIF's
quality is searched (bisection) for the smallest file reaching that SSIM.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = sorted((ROOT / "examples" / "photos").glob("*.jpg"))
BOX = "large=1600x1600"
CONTESTANTS = {
    "baseline": BOX,
    "cover": BOX + ":cover",
    "webp": BOX + ":format=webp",
    "avif-s6": BOX + ":format=avif",
    "avif-s8": BOX + ":format=avif",
    "avif-s10": BOX + ":format=avif",
    "placeholder": "",
}


def child(contestant: str, photo: Path) -> float:
    """CPU seconds of one render (or one placeholder) in this fresh process."""
    from resizer import config
    from resizer.config import Settings, parse_renditions
    from resizer.imaging import _placeholder, render
    from resizer.imaging._render import resample

    data = photo.read_bytes()
    if contestant == "placeholder":
        small = resample(data, Settings(renditions=parse_renditions("p=32x32")))[0]
        start = time.process_time()
        _placeholder.placeholder(small)
        return time.process_time() - start
    if contestant.startswith("avif-s"):
        config.AVIF_SPEED = int(contestant.removeprefix("avif-s"))  # read by Encoders
    settings = Settings(renditions=parse_renditions(CONTESTANTS[contestant]))
    start = time.process_time()
    render(data, settings)
    return time.process_time() - start


def cpu(photos: list[Path], rounds: int) -> dict[str, dict[str, float]]:
    runs: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for photo in photos:
            for contestant in CONTESTANTS:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", contestant, str(photo)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.setdefault((contestant, photo.name), []).append(float(out.stdout))
    medians = {key: statistics.median(values) for key, values in runs.items()}
    table: dict[str, dict[str, float]] = {}
    for (contestant, name), value in medians.items():
        base = 0.0 if contestant == "placeholder" else medians[("baseline", name)]
        table.setdefault(contestant, {})[name] = value - base if contestant != "baseline" else value
    return table


def _encoded(image: object, fmt: str, quality: int) -> bytes:
    from PIL import Image

    from resizer.config import AVIF_SPEED, Settings

    assert isinstance(image, Image.Image)
    options: dict[str, object] = {"quality": quality}
    if fmt == "WEBP":
        options["method"] = Settings().webp_method
    if fmt == "AVIF":
        options["speed"] = AVIF_SPEED
    if fmt == "JPEG":
        options.update(optimize=True, progressive=True)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)  # type: ignore[arg-type]
    return buffer.getvalue()


def _ssim(reference: object, data: bytes) -> float:
    import numpy as np
    from PIL import Image
    from skimage.metrics import structural_similarity

    assert isinstance(reference, Image.Image)
    decoded = Image.open(io.BytesIO(data)).convert("RGB")
    return float(
        structural_similarity(
            np.asarray(reference.convert("RGB")), np.asarray(decoded), channel_axis=2
        )
    )


def equal_quality(photos: list[Path]) -> dict[str, dict[str, float]]:
    from resizer.config import Settings, parse_renditions
    from resizer.imaging._render import resample

    settings = Settings(renditions=parse_renditions(BOX))
    result: dict[str, dict[str, float]] = {}
    for photo in photos:
        pixels = resample(photo.read_bytes(), settings)[0].convert("RGB")
        jpeg = _encoded(pixels, "JPEG", settings.jpeg_quality)
        target = _ssim(pixels, jpeg)
        row = {"jpeg_bytes": len(jpeg), "ssim": round(target, 4)}
        for fmt in ("WEBP", "AVIF"):
            low, high = 1, 100
            while low < high:  # the lowest quality whose SSIM reaches the JPEG's
                middle = (low + high) // 2
                if _ssim(pixels, _encoded(pixels, fmt, middle)) >= target:
                    high = middle
                else:
                    low = middle + 1
            size = len(_encoded(pixels, fmt, low))
            row[f"{fmt.lower()}_quality"] = low
            row[f"{fmt.lower()}_bytes"] = size
            row[f"{fmt.lower()}_saved"] = round(1 - size / len(jpeg), 3)
        result[photo.name] = row
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("CONTESTANT", "PHOTO"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("photos", nargs="*", type=Path)
    args = parser.parse_args()
    if args.child:
        print(child(args.child[0], Path(args.child[1])))
        return
    photos = args.photos or PHOTOS
    table = cpu(photos, args.rounds)
    report = {
        "cpu_seconds_median_per_photo": {
            c: {k: round(v, 4) for k, v in t.items()} for c, t in table.items()
        },
        "cpu_seconds_mean_over_photos": {
            c: round(statistics.mean(t.values()), 4) for c, t in table.items()
        },
        "equal_ssim": equal_quality(photos),
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
