"""``resizer resize --renditions``: the function's grammar offline, and the manifest beside."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from resizer_tools.cli.app import app

SPEC = "thumbs=100x100:cover:format=original+webp,wide=320x:format=jpeg+avif"


def _photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.radial_gradient("L").resize((640, 480)).convert("RGB").save(path, "JPEG")
    return path


def _manifest(out: Path, name: str) -> dict[str, object]:
    return dict(json.loads((out / "manifests" / f"{name}.json").read_text(encoding="utf-8")))


def test_renditions_option_writes_each_format_and_the_manifest_lists_the_files(
    tmp_path: Path,
) -> None:
    source = _photo(tmp_path / "in" / "photo.jpg")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["resize", str(source), "--out", str(out), "--renditions", SPEC]
    )
    assert result.exit_code == 0, result.output
    manifest = _manifest(out, "photo.jpg")
    entries = manifest["renditions"]
    assert isinstance(entries, list)
    assert sorted(e["key"] for e in entries) == [
        "_thumbs/photo.jpg.webp",
        "_wide/photo.jpg.avif",
        "thumbs/photo.jpg",
        "wide/photo.jpg",
    ]
    for entry in entries:
        with Image.open(out / entry["key"]) as image:
            assert (image.width, image.height) == (entry["width"], entry["height"])
            assert image.format == entry["format"]
        assert (out / entry["key"]).stat().st_size == entry["bytes"]
    sizes = {(e["name"], e["format"]): (e["width"], e["height"], e["fit"]) for e in entries}
    assert sizes["thumbs", "WEBP"] == (100, 100, "cover")
    assert sizes["wide", "AVIF"] == (320, 240, "fit")
    assert manifest["source"] == {
        "bucket": "",
        "key": "photo.jpg",
        "etag": hashlib.md5(source.read_bytes(), usedforsecurity=False).hexdigest(),
        "width": 640,
        "height": 480,
        "format": "JPEG",
        "bytes": source.stat().st_size,
    }
    placeholder = manifest["placeholder"]
    assert isinstance(placeholder, dict)
    assert placeholder["color"].startswith("#")
    assert len(placeholder["blurhash"]) > 6


def test_renditions_come_from_the_environment_without_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _photo(tmp_path / "photo.jpg")
    monkeypatch.setenv("RENDITIONS", "tiny=50x50:cover")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["resize", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with Image.open(out / "tiny" / "photo.jpg") as image:
        assert image.size == (50, 50)
    assert [e["key"] for e in _manifest(out, "photo.jpg")["renditions"]] == ["tiny/photo.jpg"]  # type: ignore[index]


def test_a_bad_spec_is_a_usage_error_naming_the_item(tmp_path: Path) -> None:
    source = _photo(tmp_path / "photo.jpg")
    result = CliRunner().invoke(
        app, ["resize", str(source), "--out", str(tmp_path / "o"), "--renditions", "a=10x10:crop"]
    )
    assert result.exit_code == 2
    assert "a=10x10:crop" in result.output
    assert not (tmp_path / "o").exists()
