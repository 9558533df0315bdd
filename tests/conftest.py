"""Fixtures every test directory shares."""

from __future__ import annotations

from collections.abc import Iterator

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
