"""``resizer resize`` never writes two inputs to one file (issue 22 item 8).

``photo.jpg`` and ``photo.png`` in one folder with ``hero=...:format=webp`` are both
converted to WebP, written with the new extension: both would be ``hero/photo.webp``.
The command refuses (exit 2) with both inputs and the shared path named, and writes
nothing; inputs whose outputs differ are all written (no false refusal).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from resizer_tools.cli.app import app


def _image(path: Path, fmt: str, colour: tuple[int, int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (320, 240), colour).save(path, fmt)
    return path


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _resize(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["resize", *arguments], env={"COLUMNS": "300"})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stdout + result.stderr


def test_two_sources_converted_to_one_name_are_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "in"
    _image(folder / "photo.jpg", "JPEG", (200, 30, 30))
    _image(folder / "photo.png", "PNG", (30, 30, 200))
    _image(folder / "other.jpg", "JPEG", (30, 200, 30))
    out = tmp_path / "out"
    code, output = _resize(str(folder), "--out", str(out), "--renditions", "hero=100x:format=webp")
    assert code == 2, output
    assert "hero/photo.webp" in output
    assert str(folder / "photo.jpg") in output
    assert str(folder / "photo.png") in output
    assert "Traceback" not in output
    assert not out.exists() or _files(out) == []


def test_the_same_name_from_two_folders_is_refused(tmp_path: Path) -> None:
    first = _image(tmp_path / "a" / "photo.jpg", "JPEG", (200, 30, 30))
    second = _image(tmp_path / "b" / "photo.jpg", "JPEG", (30, 30, 200))
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept.txt").write_text("an earlier file", encoding="utf-8")
    code, output = _resize(str(first), str(second), "--out", str(out))
    assert code == 2, output
    assert "photo.jpg" in output
    assert _files(out) == ["kept.txt"]  # nothing written, nothing removed


def test_sources_whose_outputs_differ_are_all_written(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _image(folder / "photo.jpg", "JPEG", (200, 30, 30))
    _image(folder / "photo.png", "PNG", (30, 30, 200))
    out = tmp_path / "out"
    # The first format keeps each source's format: hero/photo.jpg and hero/photo.png.
    code, output = _resize(str(folder), "--out", str(out), "--renditions", "hero=100x")
    assert code == 0, output
    assert _files(out) == [
        "hero/photo.jpg",
        "hero/photo.png",
        "manifests/photo.jpg.json",
        "manifests/photo.png.json",
    ]
    with Image.open(out / "hero" / "photo.png") as image:
        assert image.format == "PNG"
        assert image.getpixel((0, 0)) == (30, 30, 200)


def test_one_name_whose_renditions_differ_still_shares_its_manifest(tmp_path: Path) -> None:
    # TIFF is converted: JPEG when opaque, PNG to keep alpha. The renditions differ
    # (hero/x.jpg, hero/x.png), the manifest (manifests/x.tif.json) would not.
    opaque = _image(tmp_path / "a" / "x.tif", "TIFF", (200, 30, 30))
    clear = tmp_path / "b" / "x.tif"
    clear.parent.mkdir()
    Image.new("RGBA", (320, 240), (30, 30, 200, 90)).save(clear, "TIFF")
    out = tmp_path / "out"
    code, output = _resize(str(opaque), str(clear), "--out", str(out), "--renditions", "hero=100x")
    assert code == 2, output
    assert "the manifest of x.tif" in output
    assert not out.exists()
