"""The zip's wall (scripts/zip_contents.py): every library the laptop side installs
(pyproject's ``cli`` extra) is either refused in a function module (LAPTOP_IMPORTS) or
left out of the zip (NOT_SHIPPED), so the two lists cannot fall behind the extra."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import zip_contents

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_every_library_of_the_cli_extra_is_kept_out_of_the_function() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    extra = project["optional-dependencies"]["cli"]
    wanted = {re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0].lower() for spec in extra}
    modules: dict[str, set[str]] = {name: set() for name in wanted}
    for module, dists in packages_distributions().items():
        for dist in dists:
            if dist.lower() in modules and not module.startswith("_"):
                modules[dist.lower()].add(module)
    assert all(modules.values()), f"not installed: {[d for d, m in modules.items() if not m]}"
    guarded = set(zip_contents.LAPTOP_IMPORTS) | set(zip_contents.NOT_SHIPPED)
    unguarded = {dist: names - guarded for dist, names in modules.items() if names - guarded}
    assert not unguarded, f"add to LAPTOP_IMPORTS (scripts/zip_contents.py): {unguarded}"
