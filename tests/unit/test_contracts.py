"""docs/CONTRACTS.md, the README's settings table and layout, and each subpackage's
module map (its docstring), checked against the code."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

import resizer.errors
import resizer.storage
from resizer.config import Settings

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = (ROOT / "docs" / "CONTRACTS.md").read_text()
README = (ROOT / "README.md").read_text()


def table_rows(text: str, heading: str) -> list[list[str]]:
    """The body rows of the first Markdown table after ``heading``, cells stripped."""
    section = text[text.index(heading) :]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    return [row for row in rows[1:] if not set(row[0]) <= {"-", " "}]  # drop the rule


def test_every_error_class_is_in_the_errors_table_with_its_retry_rule() -> None:
    documented = {row[0].strip("`"): row[1] == "yes" for row in table_rows(CONTRACTS, "## Errors")}
    classes = {
        name: cls.permanent
        for name, cls in vars(resizer.errors).items()
        if inspect.isclass(cls)
        and issubclass(cls, resizer.errors.ResizerError)
        and cls.__module__ == "resizer.errors"
    }
    assert documented == classes


def test_the_readme_settings_table_names_every_setting_with_its_default() -> None:
    rows = {row[0].strip("`"): row[1] for row in table_rows(README, "## Settings")}
    defaults = Settings.environment_defaults()
    assert [name for name in defaults if name not in rows] == []
    literal = {
        name: cell.strip("`") for name, cell in rows.items() if re.fullmatch(r"`[^`]+`", cell)
    }
    assert {
        name: (literal[name], default)
        for name, default in defaults.items()
        if name in literal and literal[name] != default
    } == {}


def test_the_module_map_names_every_function_module() -> None:
    package = ROOT / "src" / "resizer"
    modules = {f"resizer.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"}
    modules |= {f"resizer.{p.name}" for p in package.iterdir() if (p / "__init__.py").exists()}
    documented = {row[0].strip("`") for row in table_rows(CONTRACTS, "Function modules")}
    assert documented == modules


def test_rendition_metadata_and_download_names_are_as_documented() -> None:
    names = [v for k, v in vars(resizer.storage).items() if k.startswith("META_")]
    assert names
    assert [name for name in names if f"`{name}`" not in CONTRACTS] == []
    form = "filename*=UTF-8''"
    assert form in inspect.getsource(resizer.storage)
    assert form in CONTRACTS


def layout_block() -> list[str]:
    """The lines of the README's layout block (the fenced block under "## Layout")."""
    section = README[README.index("## Layout") :]
    start = section.index("```\n") + 4
    return section[start : section.index("```", start)].splitlines()


def listed(block: list[str], wing: str) -> set[str]:
    """The entries of ``wing`` (``src/resizer/``) in the block: its indented lines' first word."""
    entries: set[str] = set()
    inside = False
    for line in block:
        if not line.startswith(" "):
            inside = line.split()[0] == wing
        elif inside and line.startswith("  ") and not line.startswith("   "):
            entries.add(line.split()[0])
    return entries


def package_entries(package: Path) -> set[str]:
    """A package's public modules (``name.py``) and its subpackages (``name/``)."""
    modules = {p.name for p in package.glob("*.py") if not p.stem.startswith("_")}
    return modules | {f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").exists()}


def test_the_readme_layout_lists_every_module_of_both_wings() -> None:
    block = layout_block()
    for wing in ("src/resizer/", "src/resizer_tools/"):
        assert listed(block, wing) == package_entries(ROOT / wing), wing


def test_every_path_in_the_readme_layout_exists() -> None:
    tops = [line.split()[0] for line in layout_block() if line and not line.startswith(" ")]
    assert tops
    assert [top for top in tops if not (ROOT / top).exists()] == []


#: Each subpackage's docstring is its module map (the wings' maps: README, CONTRACTS).
SUBPACKAGES = sorted(
    ".".join(init.parent.relative_to(ROOT / "src").parts)
    for wing in ("resizer", "resizer_tools")
    for init in (ROOT / "src" / wing).glob("*/__init__.py")
)


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_a_subpackage_s_docstring_names_every_module(package: str) -> None:
    module = importlib.import_module(package)
    doc = module.__doc__ or ""
    names = {p.stem for p in Path(module.__file__ or "").parent.glob("*.py")} - {"__init__"}
    named = {n for n in names if re.search(rf"``{n}``|:mod:`[~\w.]*\.{n}`", doc)}
    assert sorted(names - named) == []
