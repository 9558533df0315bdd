"""Fixtures every test directory shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def _pillow_guard_restored() -> Iterator[None]:
    """resizer keeps Pillow's process-wide bomb guard at the settings' MAX_INPUT_PIXELS
    (one setting per Lambda container); a test rendering with a tiny limit must not
    leave it behind for the next test's own Image.open (an error under -W error)."""
    saved = Image.MAX_IMAGE_PIXELS
    yield
    Image.MAX_IMAGE_PIXELS = saved
