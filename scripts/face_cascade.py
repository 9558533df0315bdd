"""Convert OpenCV's LBP frontal-face cascade (XML) into the compact file the function loads.

    python scripts/face_cascade.py lbpcascade_frontalface.xml

Writes src/resizer/imaging/faces_lbp.json (resizer.imaging._faces reads it): the
window size, each feature's rectangle (x, y, cell width, cell height: a 3x3 grid of
cells) and, per stage, its threshold and its stumps as (feature, the 256-bit set of
LBP codes that take the first leaf, as hex, first leaf, second leaf). Same numbers as
the XML, only regrouped: OpenCV's ``subset[c >> 5] & (1 << (c & 31))`` becomes bit
``c`` of one integer.

The source: OpenCV's data/lbpcascades/lbpcascade_frontalface.xml (trained by OpenCV;
the copy scikit-image bundles as skimage/data/lbpcascade_frontalface_opencv.xml has
the same stages and features). Its licence is OpenCV's (BSD-3-Clause when the cascade
was added; see src/resizer/imaging/faces_lbp.NOTICE). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "src" / "resizer" / "imaging" / "faces_lbp.json"
SUBSET_WORDS = 8  # 256 LBP codes, 32 per word


def _numbers(text: str | None) -> list[str]:
    return (text or "").split()


def convert(xml: bytes) -> dict[str, object]:
    cascade = ET.fromstring(xml).find("cascade")  # noqa: S314 (a file we chose)
    if cascade is None or (cascade.findtext("featureType") or "").strip() != "LBP":
        raise SystemExit("not an OpenCV LBP cascade")
    window = [int(cascade.findtext("width") or 0), int(cascade.findtext("height") or 0)]
    features = [
        [int(v) for v in _numbers(rect.findtext("rect"))] for rect in cascade.iterfind("features/_")
    ]
    stages = []
    for stage in cascade.iterfind("stages/_"):
        stumps = []
        for weak in stage.iterfind("weakClassifiers/_"):
            nodes = [int(v) for v in _numbers(weak.findtext("internalNodes"))]
            leaves = [float(v) for v in _numbers(weak.findtext("leafValues"))]
            left, right, feature, *subset = nodes
            if (left, right) != (0, -1) or len(subset) != SUBSET_WORDS or len(leaves) != 2:
                raise SystemExit("only depth-1 stumps over 256 LBP codes are supported")
            mask = sum((word & 0xFFFFFFFF) << (32 * i) for i, word in enumerate(subset))
            stumps.append([feature, f"{mask:064x}", leaves[0], leaves[1]])
        stages.append([float(stage.findtext("stageThreshold") or 0), stumps])
    return {
        "source": "OpenCV data/lbpcascades/lbpcascade_frontalface.xml",
        "window": window,
        "features": features,
        "stages": stages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("xml", type=Path)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    data = convert(args.xml.read_bytes())
    args.output.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"{args.output}: {args.output.stat().st_size} bytes, {len(data['stages'])} stages")


if __name__ == "__main__":
    main()
