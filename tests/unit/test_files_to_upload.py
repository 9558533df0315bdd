"""Which files of a photo folder `resizer upload` (and `resize`) take."""

from __future__ import annotations

from pathlib import Path

import pytest

from resizer_tools.errors import UsageError
from resizer_tools.ops.operations import DEFAULT_EXCLUDES, files_to_upload


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in (
        "a.jpg",
        "a.xmp",
        "B.JPG",
        "B.XMP",
        "IMG_1.HEIC",
        "IMG_1.AAE",
        ".DS_Store",
        "._a.jpg",
        "Thumbs.db",
        "desktop.ini",
        "sub/c.png",
        "sub/raw/d.jpg",
        ".git/objects/e.jpg",
        ".thumbnails/f.jpg",
    ):
        path = tmp_path / "photos" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return tmp_path / "photos"


def _keys(found: list[tuple[Path, str]]) -> list[str]:
    return [key for _, key in found]


def test_a_folder_skips_hidden_files_folders_and_sidecars_by_default(folder: Path) -> None:
    assert _keys(files_to_upload([folder])) == [
        "B.JPG",
        "IMG_1.HEIC",
        "a.jpg",
        "sub/c.png",
        "sub/raw/d.jpg",
    ]


def test_include_and_exclude(folder: Path) -> None:
    assert _keys(files_to_upload([folder], include=("*.jpg",))) == [
        "B.JPG",
        "a.jpg",
        "sub/raw/d.jpg",
    ]
    assert _keys(files_to_upload([folder], include=("sub/*",))) == ["sub/c.png", "sub/raw/d.jpg"]
    excluded = files_to_upload([folder], exclude=(*DEFAULT_EXCLUDES, "raw"))
    assert "sub/raw/d.jpg" not in _keys(excluded)
    assert "xmp" not in " ".join(_keys(files_to_upload([folder])))
    assert "a.xmp" in _keys(files_to_upload([folder], exclude=()))


def test_a_file_named_explicitly_is_always_taken(folder: Path) -> None:
    assert files_to_upload([folder / ".DS_Store"]) == [(folder / ".DS_Store", ".DS_Store")]


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="missing"):
        files_to_upload([tmp_path / "missing"])
