"""Typer's Rich help without Rich's Markdown and traceback modules.

Typer formats help and usage errors with ``typer.rich_utils``, which imports, at its
top, ``rich.markdown`` (markdown-it, Pygments) and ``rich.traceback`` (``rich.pretty``,
attrs): about 40 ms of CPU at each ``--help``, a third of it (issue 21). Neither is
used by our commands: Markdown only renders ``rich_markup_mode="markdown"`` help (ours
is ``"rich"``), the traceback only Typer's pretty exceptions (switched off in
:mod:`resizer_tools.cli.app`).

:func:`install` lets ``typer.rich_utils`` load with two placeholders standing in for
those modules for the length of its import only (``sys.modules`` is restored at
once, so anyone else importing them gets the real ones), then gives it ``Markdown``
and ``Traceback`` that load the real classes when first used. Should Typer want
anything else from them, the import is done again the ordinary way: the help is
the same either way (tests/unit/test_cli_startup.py compares the two).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

__all__ = ["install"]

_TARGET = "typer.rich_utils"
#: Module -> the one name Typer imports from it.
_DEFERRED = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


class _LazyMarkdown:
    """``rich.markdown.Markdown(...)``, imported when one is first made."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from rich.markdown import Markdown  # noqa: PLC0415

        return Markdown(*args, **kwargs)


class _LazyTraceback:
    """``rich.traceback.Traceback`` (only ``from_exception`` is used), imported then."""

    @staticmethod
    def from_exception(*args: Any, **kwargs: Any) -> Any:
        from rich.traceback import Traceback  # noqa: PLC0415

        return Traceback.from_exception(*args, **kwargs)


class _Loader(importlib.abc.Loader):
    def __init__(self, real: importlib.abc.Loader) -> None:
        self._real = real

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._real.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        saved = {name: sys.modules.get(name) for name in _DEFERRED}
        for name, attribute in _DEFERRED.items():
            placeholder = types.ModuleType(name)
            setattr(placeholder, attribute, None)
            sys.modules[name] = placeholder
        try:
            self._real.exec_module(module)
        except ImportError:
            light = False  # Typer wants more from them: the ordinary import, below
        else:
            light = True
        finally:
            for name, previous in saved.items():
                if previous is None:
                    del sys.modules[name]
                else:  # pragma: no cover (install() skips this case)
                    sys.modules[name] = previous
        if light:
            module.Markdown = _LazyMarkdown  # type: ignore[attr-defined]
            module.Traceback = _LazyTraceback  # type: ignore[attr-defined]
        else:  # pragma: no cover (another Typer)
            self._real.exec_module(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Any, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _TARGET:
            return None
        sys.meta_path.remove(self)  # once
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:  # pragma: no cover
            return spec
        spec.loader = _Loader(spec.loader)
        return spec


def install() -> bool:
    """Arrange for ``typer.rich_utils``, when first imported, to load light; False if
    it is already loaded, or Rich's modules are (nothing to save then)."""
    if _TARGET in sys.modules or any(name in sys.modules for name in _DEFERRED):
        return False
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
    return True
