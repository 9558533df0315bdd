"""``resizer resize --renditions '...:format=auto:quality=auto'`` (issue 19) is the
function's engine and manifest: the same outputs, order, quality and score as
``render_set`` + ``manifest.build`` give the Lambda, written at the layout's paths."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from resizer import manifest
from resizer.config import Settings
from resizer.imaging import render_set
from resizer_tools.cli.app import app

PHOTO = (
    Path(__file__).resolve().parents[2]
    / "examples"
    / "photos"
    / "seeding_by_Clements_Engelhardt.jpg"
)
SPEC = "m=480x480:format=auto:quality=auto,t=96x96:cover:format=auto:quality=auto"


def test_resize_writes_what_the_function_would(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["resize", str(PHOTO), "--out", str(out), "--renditions", SPEC]
    )
    assert result.exit_code == 0, result.output
    written = json.loads((out / "manifests" / f"{PHOTO.name}.json").read_text(encoding="utf-8"))
    data = PHOTO.read_bytes()
    settings = Settings.from_env({"RENDITIONS": SPEC})
    etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
    expected = manifest.build("", PHOTO.name, etag, render_set(data, settings), settings)
    assert written == expected
    for entry in written["renditions"]:
        assert len((out / entry["key"]).read_bytes()) == entry["bytes"]
        assert hashlib.sha256((out / entry["key"]).read_bytes()).hexdigest() == entry["sha256"]
    names = [e["name"] for e in written["renditions"]]
    assert set(names) == {"m", "t"}
    for name in ("m", "t"):
        mine = [e for e in written["renditions"] if e["name"] == name]
        assert mine[-1]["key"] == f"{name}/{PHOTO.name}"  # the fallback, listed last
        assert [e["bytes"] for e in mine] == sorted({e["bytes"] for e in mine})
        assert all("quality" in e and "score" in e for e in mine)
