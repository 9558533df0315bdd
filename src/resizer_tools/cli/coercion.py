"""Typer's parameter coercion without pydantic for the values the commands take.

Typer 0.29 coerces every parameter's value, defaults and missing ones included,
through a pydantic ``TypeAdapter`` built on first use: the first command that parses
anything imports pydantic and builds an adapter per parameter, 50-70 ms of CPU at the
start of ``resizer resize`` (``resize --help`` too: a required argument is coerced
before ``--help`` runs). Issue 21 asks for any command to start in 0.15 s.

:func:`install` gives each Typer parameter a coercion that returns, for the values
our commands see (a missing value; ``str``; a ``Path`` from a string, checked by
Typer's own ``coerce_cli_path``
(a ``Path`` default too); an ``int`` already an int within the option's
bounds; lists of those), exactly what Typer's adapter returns, and hands every other
value to Typer's adapter, built then (so an ``int`` typed as ``"x"`` gets Typer's own
message). tests/unit/test_cli_coercion.py checks the two agree on every parameter of
every command.

Typer's seam (``_TyperParameter.get_runtime_param``, ``RuntimeParam``) is private: if
it is not there (another Typer), :func:`install` leaves Typer as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typer._click import Context

__all__ = ["FastParam", "install"]

#: Returned by a fast path that does not know the value: Typer's adapter decides.
_UNKNOWN = object()


class FastParam:
    """One parameter's coercion: :meth:`coerce` as Typer's ``RuntimeParam.coerce``."""

    def __init__(self, descriptor: Any) -> None:
        self.descriptor = descriptor
        self.parameter_info = descriptor.parameter_info
        self.annotation = descriptor.annotation
        self._typer: Any = None  # Typer's own RuntimeParam, built on the first unknown value

    def typer_param(self) -> Any:
        """Typer's coercion for this parameter (pydantic), built once."""
        if self._typer is None:
            from typer._coercion import build_runtime_param  # noqa: PLC0415

            self._typer = build_runtime_param(self.descriptor)
        return self._typer

    def coerce(self, value: Any, param: Any, ctx: Context) -> Any:
        if value is None:  # as Typer: before (and without) its adapter
            return () if param.multiple or param.nargs == -1 else None
        fast = self._fast(value, param, ctx)
        if fast is _UNKNOWN:
            return self.typer_param().coerce(value, param=param, ctx=ctx)
        return fast

    def _fast(self, value: Any, param: Any, ctx: Context) -> Any:
        if self.descriptor.file_annotation is not None or self.parameter_info.parser is not None:
            return _UNKNOWN
        if self.descriptor.is_list:
            if not isinstance(value, list | tuple):  # a string: Typer's error
                return _UNKNOWN
            (item_type,) = self.annotation.__args__
            items = [self._leaf(item_type, item, param, ctx) for item in value]
            return _UNKNOWN if any(i is _UNKNOWN for i in items) else items
        return self._leaf(self.annotation, value, param, ctx)

    def _leaf(self, annotation: Any, value: Any, param: Any, ctx: Context) -> Any:
        if annotation is str:
            return value if type(value) is str else _UNKNOWN
        if annotation is int:
            return self._int(value)
        if annotation is Path and getattr(self.parameter_info, "path_type", None) is None:
            return self._path(value, param, ctx)
        return _UNKNOWN

    def _int(self, value: Any) -> Any:
        info = self.parameter_info
        if type(value) is not int or getattr(info, "clamp", False):
            return _UNKNOWN
        low, high = getattr(info, "min", None), getattr(info, "max", None)
        if (low is not None and value < low) or (high is not None and value > high):
            return _UNKNOWN  # Typer's message
        return value

    def _path(self, value: Any, param: Any, ctx: Context) -> Any:
        if type(value) is str:
            value = Path(value)  # as Typer's pydantic makes it, before its checks
        elif not isinstance(value, Path):
            return _UNKNOWN
        from typer._param_types import coerce_cli_path  # noqa: PLC0415

        return coerce_cli_path(value, self.parameter_info, path_type=Path, param=param, ctx=ctx)


def _get_runtime_param(self: Any) -> Any:
    if self._runtime_param is None:
        self._runtime_param = FastParam(self.type_descriptor)
    return self._runtime_param


def install() -> bool:
    """Give every Typer parameter the fast coercion; False (and no change) if this
    Typer has no such seam."""
    try:
        from typer._coercion import RuntimeParam  # noqa: PLC0415
        from typer.core import _TyperParameter  # noqa: PLC0415
    except ImportError:  # pragma: no cover (another Typer)
        return False
    if not callable(getattr(_TyperParameter, "get_runtime_param", None)) or not callable(
        getattr(RuntimeParam, "coerce", None)
    ):
        return False  # pragma: no cover (another Typer)
    _TyperParameter.get_runtime_param = _get_runtime_param  # type: ignore[method-assign]
    return True
