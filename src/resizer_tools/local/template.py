"""Read a CloudFormation template and resolve the few intrinsics the local stack needs.

The local stack deploys ``infra/template.yaml`` through the emulator's CloudFormation
API, then applies by itself what the emulator skips. Those parts are read from the
very same template and resolved here against the *deployed* physical ids, so the
template stays the one source of truth.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# PyYAML comes with moto[server]; see the report on adding it and its stubs explicitly.
import yaml

from resizer.errors import ConfigurationError

__all__ = ["Resolver", "Template", "UnresolvableError"]


class UnresolvableError(ConfigurationError):
    """An intrinsic function the local stack does not evaluate."""


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (``!Ref``, ``!GetAtt``, ``!Sub`` ...)."""


def _construct(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise UnresolvableError(f"!{tag_suffix} on a YAML {type(node).__name__} is not understood")
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_Loader.add_multi_constructor("!", _construct)

# What ``Ref AWS::NoValue`` resolves to: the property (or list item) is dropped.
NO_VALUE: Any = object()
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


@dataclass(frozen=True)
class Template:
    """A parsed template: its text (deployed as is) and its document (read)."""

    path: Path
    body: str
    document: Mapping[str, Any]

    @classmethod
    def load(cls, path: Path) -> Template:
        try:
            body = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigurationError(
                f"no CloudFormation template at {path}; run from the repository root "
                "or pass --template"
            ) from None
        document = yaml.load(body, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
        if not isinstance(document, dict) or "Resources" not in document:
            raise ConfigurationError(f"{path} is not a CloudFormation template (no Resources)")
        return cls(path, body, document)

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        return self.document["Resources"]  # type: ignore[no-any-return]

    def of_type(self, resource_type: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """(logical id, resource) for every resource of ``resource_type``, in template order."""
        for logical_id, resource in self.resources.items():
            if resource.get("Type") == resource_type:
                yield logical_id, resource

    def parameter_defaults(self) -> dict[str, str]:
        parameters: Mapping[str, Any] = self.document.get("Parameters") or {}
        return {
            name: str(spec["Default"])
            for name, spec in parameters.items()
            if isinstance(spec, dict) and "Default" in spec
        }


def replace_find_in_map(value: Any, resolver: Resolver) -> Any:
    """``value`` with every ``Fn::FindInMap`` that ``resolver`` can evaluate replaced.

    moto looks a ``Number`` parameter up in ``Mappings`` as an int, and the keys are
    strings: the stack fails (KeyError). The lookup is done here instead.
    """
    if isinstance(value, list):
        return [replace_find_in_map(item, resolver) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::FindInMap"}:
        try:
            return resolver.resolve(value)
        except (UnresolvableError, KeyError):
            return value
    return {k: replace_find_in_map(v, resolver) for k, v in value.items()}


def references(value: Any) -> set[str]:
    """The logical ids and parameters ``value`` refers to (Ref, GetAtt, Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt" and isinstance(inner, list) and inner:
                found.add(str(inner[0]))
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                if isinstance(text, str):
                    found.update(m.split(".", 1)[0] for m in _SUB_VARIABLE.findall(text))
                if isinstance(inner, list) and len(inner) > 1:
                    found.update(references(inner[1]))
            else:
                found.update(references(inner))
    elif isinstance(value, list):
        for inner in value:
            found.update(references(inner))
    return found


@dataclass
class Resolver:
    """Evaluates Ref, GetAtt, Sub, Join, Select, Split, FindInMap, If and the condition functions.

    ``physical_ids`` maps logical ids to what ``Ref`` returns; ``attribute`` answers
    ``GetAtt`` for a deployed resource. Anything else raises :class:`UnresolvableError`
    with the name of the function, so a new intrinsic in the template fails loudly.
    """

    parameters: Mapping[str, str]
    physical_ids: dict[str, str]
    attribute: Callable[[str, str], str]
    conditions: Mapping[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, Any] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function in it evaluated (one method each,
        :data:`_INTRINSICS`); ``Ref AWS::NoValue`` drops its property or list item."""
        if isinstance(value, list):
            items = (self.resolve(item) for item in value)
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            intrinsic = _INTRINSICS.get(key)
            if intrinsic is not None:
                return intrinsic(self, arg)
            if key.startswith("Fn::"):
                raise UnresolvableError(f"the local stack does not evaluate {key}")
        resolved = ((k, self.resolve(v)) for k, v in value.items())
        return {k: v for k, v in resolved if v is not NO_VALUE}

    def _get_att(self, arg: Any) -> Any:
        logical_id, attr = arg if isinstance(arg, list) else str(arg).split(".", 1)
        return self.attribute(logical_id, attr)

    def _join(self, arg: Any) -> str:
        separator, items = arg
        return str(separator).join(str(i) for i in self.resolve(items))

    def _select(self, arg: Any) -> Any:
        index, items = arg
        return self.resolve(items)[int(self.resolve(index))]

    def _split(self, arg: Any) -> list[str]:
        separator, text = arg
        return str(self.resolve(text)).split(separator)

    def _find_in_map(self, arg: Any) -> Any:
        name, top, second = (str(self.resolve(part)) for part in arg)
        try:
            return self.mappings[name][top][second]
        except KeyError:
            raise UnresolvableError(f"no {name}.{top}.{second} in Mappings") from None

    def _if(self, arg: Any) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self.condition(name) else when_false)

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise UnresolvableError(f"unknown condition {name!r}")
        return self._truth(self.conditions[name])

    def _truth(self, value: Any) -> bool:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self._truth(arg[0])
            if key == "Fn::And":
                return all(self._truth(v) for v in arg)
            if key == "Fn::Or":
                return any(self._truth(v) for v in arg)
        raise UnresolvableError(f"cannot evaluate condition {value!r}")

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical_ids:
            return self.physical_ids[name]
        raise UnresolvableError(f"Ref {name!r} is neither a parameter nor a deployed resource")

    def _sub(self, arg: Any) -> str:
        text, extra = (arg[0], self.resolve(arg[1])) if isinstance(arg, list) else (arg, {})

        def replace(match: re.Match[str]) -> str:
            name = match[1]
            if name in extra:
                return str(extra[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attr = name.split(".", 1)
                return str(self.attribute(logical_id, attr))
            return str(self._ref(name))

        return _SUB_VARIABLE.sub(replace, str(text)).replace("${!", "${")


#: The intrinsic functions :meth:`Resolver.resolve` evaluates, each by its own method.
_INTRINSICS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": Resolver._ref,
    "Fn::GetAtt": Resolver._get_att,
    "Fn::Sub": Resolver._sub,
    "Fn::Join": Resolver._join,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::FindInMap": Resolver._find_in_map,
    "Fn::If": Resolver._if,
}
