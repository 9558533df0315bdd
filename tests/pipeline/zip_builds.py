"""What the zip tests share: where the wheels are cached, and a build of the zip."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import package  # scripts/, on pytest's pythonpath

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = Path(os.environ.get("RESIZER_WHEELHOUSE", ROOT / "build" / "wheelhouse"))


def build(target: Any, out: Path, build_id: str = "7") -> dict[str, Any]:
    manifest: dict[str, Any] = package.build(
        target, out, WHEELHOUSE, build_id=build_id, sha="0123456789ab"
    )
    return manifest
