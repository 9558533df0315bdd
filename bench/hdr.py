"""HDR gain maps: how well renditions rebuild the source's HDR picture, and what it costs.

    python bench/hdr.py [PHOTO...] [--renditions RENDITIONS] [--boost 4]

Each photo (default: examples/photos) becomes an Ultra HDR JPEG with libvips'
``uhdrsave`` (libultrahdr): its linear-light highlights above 0.6 are pushed ``--boost``
times above SDR white. resizer renders it with ``HDR=keep`` and ``HDR=drop``; each fit
rendition is read back as a libultrahdr reader does (``uhdrload`` + ``uhdr2scRGB``) and
compared with the source's HDR picture resized with LANCZOS: the relative error per
pixel (|got - want| / max(want, 0.01)), its median and 95th percentile over all pixels
and its median over the highlights (want > 1.0, what only HDR screens show), and the
CPU seconds of the render (``time.process_time``, one thread). A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pyvips

from resizer.config import Settings
from resizer.imaging import render

ROOT = Path(__file__).resolve().parents[1]


def ultra_hdr(path: Path, boost: float) -> bytes:
    linear = pyvips.Image.new_from_file(str(path)).thumbnail_image(1600).colourspace("scrgb")
    return bytes((linear > 0.6).ifthenelse(linear * boost, linear).uhdrsave_buffer())


def pixels(image: pyvips.Image) -> np.ndarray:
    return np.asarray(image.numpy()[..., :3], dtype=np.float64)


def errors(data: bytes, source: pyvips.Image, mode: str) -> np.ndarray:
    loaded = pyvips.Image.uhdrload_buffer(data) if mode == "keep" else None
    got = (
        pixels(loaded.uhdr2scRGB())
        if loaded is not None
        else pixels(pyvips.Image.new_from_buffer(data, "").colourspace("scrgb"))
    )
    height, width = got.shape[:2]
    want = pixels(
        source.resize(width / source.width, vscale=height / source.height, kernel="lanczos3")
    )
    rows, cols = min(height, want.shape[0]), min(width, want.shape[1])
    got, want = got[:rows, :cols], want[:rows, :cols]
    error = np.abs(got - want) / np.maximum(want, 0.01)
    return np.stack([error.max(axis=2), want.max(axis=2)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="*", type=Path)
    parser.add_argument("--renditions", default="small=400x,large=1200x")
    parser.add_argument("--boost", type=float, default=4.0)
    args = parser.parse_args()
    photos = args.photos or sorted((ROOT / "examples" / "photos").glob("*.jpg"))
    fixtures = {p.name: ultra_hdr(p, args.boost) for p in photos}
    for mode in ("keep", "drop"):
        settings = Settings.from_env({"RENDITIONS": args.renditions, "HDR": mode})
        all_errors, cpu = [], []
        for data in fixtures.values():
            started = time.process_time()
            images = render(data, settings)
            cpu.append(time.process_time() - started)
            source = pyvips.Image.uhdrload_buffer(data).uhdr2scRGB()
            all_errors += [errors(im.data, source, mode) for im in images]
        error = np.concatenate([e[0].ravel() for e in all_errors])
        want = np.concatenate([e[1].ravel() for e in all_errors])
        print(
            f"HDR={mode}: {len(fixtures)} photos, {len(all_errors)} renditions: relative error "
            f"median {np.median(error):.3f}, p95 {np.percentile(error, 95):.3f}, "
            f"highlights median {np.median(error[want > 1.0]):.3f}; "
            f"CPU per photo median {statistics.median(cpu):.3f} s"
        )


if __name__ == "__main__":
    main()
