"""``--parameter KEY=VALUE``: template parameter overrides for the local stack.

As ``aws cloudformation deploy --parameter-overrides`` does: each override names a
parameter the template declares (an unknown one is refused with the list of known
ones), and its value is checked against the parameter's own constraints
(``AllowedValues``, ``AllowedPattern``, ``MinLength``/``MaxLength``, ``Type: Number``
with ``MinValue``/``MaxValue``), as CloudFormation checks them before it deploys;
the emulator does not, so the local stack does it here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from resizer.errors import ConfigurationError
from resizer_tools.local.template import Template

__all__ = ["check_overrides", "parse_pairs"]


def parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``["KEY=VALUE", ...]`` -> ``{KEY: VALUE}``.

    A value may contain ``=`` and ``,`` (only the first ``=`` splits) and may be
    empty; a later override of the same key wins, as on the AWS CLI.
    """
    overrides: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        key = key.strip()
        if not separator or not key:
            raise ConfigurationError(
                f"--parameter {pair!r} is not KEY=VALUE (e.g. --parameter JpegQuality=80)"
            )
        overrides[key] = value
    return overrides


def check_overrides(overrides: Mapping[str, str], template: Template) -> None:
    """Refuse a parameter ``template`` does not declare, or a value it does not allow."""
    declared: Mapping[str, Any] = template.document.get("Parameters") or {}
    for key, value in overrides.items():
        if key not in declared:
            raise ConfigurationError(
                f"--parameter {key}: {template.path} has no such parameter; "
                f"known parameters: {', '.join(sorted(declared))}"
            )
        _check(key, value, declared[key] or {})


def _check(key: str, value: str, spec: Mapping[str, Any]) -> None:
    """CloudFormation's parameter constraints, with a message naming the rule broken."""
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(v) for v in allowed]:
        raise ConfigurationError(
            f"--parameter {key}={value!r}: must be one of {', '.join(str(v) for v in allowed)}"
        )
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), value) is None:
        raise ConfigurationError(
            f"--parameter {key}={value!r}: does not match the template's AllowedPattern {pattern}"
        )
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        raise ConfigurationError(
            f"--parameter {key}: {len(value)} characters, under the template's "
            f"MinLength {spec['MinLength']}"
        )
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        raise ConfigurationError(
            f"--parameter {key}: {len(value)} characters, over the template's "
            f"MaxLength {spec['MaxLength']}"
        )
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            raise ConfigurationError(f"--parameter {key}={value!r}: must be a number") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise ConfigurationError(
                f"--parameter {key}={value}: below the template's MinValue {spec['MinValue']}"
            )
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise ConfigurationError(
                f"--parameter {key}={value}: above the template's MaxValue {spec['MaxValue']}"
            )
