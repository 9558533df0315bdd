"""Fixtures every test directory shares."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from contracts import validating
from PIL import Image


@pytest.fixture(autouse=True)
def _pillow_guard_restored() -> Iterator[None]:
    """resizer keeps Pillow's process-wide bomb guard at the settings' MAX_INPUT_PIXELS
    (one setting per Lambda container); a test rendering with a tiny limit must not
    leave it behind for the next test's own Image.open (an error under -W error)."""
    saved = Image.MAX_IMAGE_PIXELS
    yield
    Image.MAX_IMAGE_PIXELS = saved


@pytest.fixture(autouse=True)
def contract_violations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every manifest and event a test produces (in-process: the in-memory pipeline
    and the handler on emulated AWS) is valid against docs/schemas/ (the published
    contract, docs/CONTRACTS.md); the test fails otherwise."""
    with validating(monkeypatch) as violations:
        yield violations
    assert not violations, "broke the published contract (docs/schemas/):\n" + "\n".join(violations)


#: Directories whose tests share one parallel worker: tests/pipeline builds the Lambda
#: zips once per session (tests/pipeline/conftest.py) from one wheelhouse
#: (build/wheelhouse) that two builds must not fill at once.
_ONE_WORKER = ("tests/pipeline/",)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``make test``'s parallel workers (pytest-xdist, ``--dist loadfile``): a test file
    runs whole on one worker, so its module-scoped stacks and corpora are built once;
    each directory of :data:`_ONE_WORKER` runs whole on one worker."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ByFile(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return next((d for d in _ONE_WORKER if path.startswith(d)), path)

    return ByFile(config, log)
