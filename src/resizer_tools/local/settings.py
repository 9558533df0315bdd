"""``resizer local set KEY=VALUE ...``: change the running local stack's settings the way
a stack update changes them on AWS.

A stack update that changes a setting updates the function's configuration, publishes
a version and moves the ``live`` alias to it (the template's version chain,
docs/infrastructure.md); the running poller follows the alias within a second and
runs the new version, a cold start with its environment (:mod:`resizer_tools.local.mapping`).
Here the same three calls, after the checks CloudFormation and the function's cold
start would make: each key is one of the function's environment variables
(``RENDITIONS``) or a template parameter that sets one (``Renditions``, checked against
the parameter's constraints), and the resulting environment must be read by
:meth:`resizer.config.Settings.from_env` without error. Nothing is published when a
check fails, nor when no value changes (CloudFormation publishes no version then).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from resizer.config import Settings
from resizer.errors import ConfigurationError
from resizer_tools.local.mapping import publish_configuration
from resizer_tools.local.parameters import check_overrides
from resizer_tools.local.template import Template
from resizer_tools.ops.aws import Aws, StackResources

__all__ = ["SettingsChange", "apply_settings", "function_variables"]


@dataclass(frozen=True)
class SettingsChange:
    """What :func:`apply_settings` did: the variables set, and the version ``live`` moved
    to (None: nothing changed, nothing published)."""

    variables: Mapping[str, str]
    version: str | None


def function_variables(template: Template) -> dict[str, str]:
    """Template parameter -> the function environment variable it sets (a plain ``Ref``)."""
    found: dict[str, str] = {}
    for _logical_id, resource in template.of_type("AWS::Lambda::Function"):
        environment = (resource.get("Properties") or {}).get("Environment") or {}
        for variable, value in (environment.get("Variables") or {}).items():
            if isinstance(value, dict) and set(value) == {"Ref"}:
                found[str(value["Ref"])] = str(variable)
    return found


def apply_settings(
    aws: Aws,
    stack: StackResources,
    pairs: Mapping[str, str],
    template: Template | None = None,
    alias: str = "live",
) -> SettingsChange:
    """Set ``pairs`` on the function as a stack update would; see the module docstring."""
    if not pairs:
        raise ConfigurationError("nothing to set: give KEY=VALUE pairs, e.g. JPEG_QUALITY=80")
    name = stack.function_name
    live = aws.lambda_.get_function_configuration(FunctionName=name, Qualifier=alias)
    current = {
        str(k): str(v) for k, v in ((live.get("Environment") or {}).get("Variables") or {}).items()
    }
    variables = _variables(pairs, current, template)
    environment = {**current, **variables}
    try:
        Settings.from_env(environment)
    except ConfigurationError as error:
        raise ConfigurationError(
            f"not set: the function would refuse it at its cold start ({error.reason})"
        ) from None
    if environment == current:
        return SettingsChange(variables, None)
    # The whole environment read from live, as a stack update writes the whole of it
    # from the template: a value changed on $LATEST alone is not published.
    return SettingsChange(
        variables, publish_configuration(aws, name, environment, alias, whole=True)
    )


def _variables(
    pairs: Mapping[str, str], current: Mapping[str, str], template: Template | None
) -> dict[str, str]:
    """``pairs`` as environment variables: parameter names mapped, unknown keys refused."""
    settable = set(current) | set(Settings.environment_defaults())
    by_parameter = function_variables(template) if template is not None else {}
    variables: dict[str, str] = {}
    for key, value in pairs.items():
        if key in settable:
            variables[key] = value
        elif key in by_parameter:
            assert template is not None
            check_overrides({key: value}, template)
            variables[by_parameter[key]] = value
        else:
            raise ConfigurationError(_unknown(key, settable, by_parameter, template))
    return variables


def _unknown(
    key: str, settable: set[str], by_parameter: Mapping[str, str], template: Template | None
) -> str:
    declared: Mapping[str, Any] = (template.document.get("Parameters") or {}) if template else {}
    if key in declared:
        return (
            f"{key} is a template parameter that sets no function variable; it takes a "
            f"redeploy: stop the stack and run `resizer local up -p {key}=...`"
        )
    known = sorted(settable | set(by_parameter))
    return f"{key}: not a setting of the function; known: {', '.join(known)}"
