"""The files a folder argument means, for ``resizer upload`` and ``resizer resize``.

Apart from :mod:`resizer_tools.ops.operations` (which needs boto3) so that ``resizer
resize`` starts without loading the AWS SDK.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from resizer_tools.errors import UsageError

__all__ = ["DEFAULT_EXCLUDES", "files_to_upload"]


#: What a folder of photos holds besides photos: hidden files and folders (.DS_Store,
#: ._AppleDouble, .git), Windows' thumbnail caches and the editors' sidecars (Lightroom
#: and darktable .xmp, iOS edits .aae). Uploaded, they would only be dead-lettered.
DEFAULT_EXCLUDES: tuple[str, ...] = (".*", "Thumbs.db", "desktop.ini", "*.xmp", "*.aae")


def files_to_upload(
    paths: list[Path],
    *,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES,
) -> list[tuple[Path, str]]:
    """(file, key) for files and, recursively, folders (keys relative to the folder).

    Inside folders, a file is skipped when its name or any folder on its way matches an
    ``exclude`` pattern (shell-style, case-insensitive), or when ``include`` is given and
    neither its name nor its relative key matches one. Files named explicitly are
    always taken. Raises :class:`UsageError` for a path that does not exist.
    """
    found: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                key = file.relative_to(path).as_posix()
                if file.is_file() and _wanted(key, include, exclude):
                    found.append((file, key))
        elif path.is_file():
            found.append((path, path.name))
        else:
            raise UsageError(f"{path}: no such file or folder")
    return found


def _wanted(key: str, include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    parts = key.lower().split("/")
    if any(fnmatch.fnmatchcase(part, pattern.lower()) for part in parts for pattern in exclude):
        return False
    return not include or any(
        fnmatch.fnmatchcase(candidate, pattern.lower())
        for candidate in (parts[-1], key.lower())
        for pattern in include
    )
