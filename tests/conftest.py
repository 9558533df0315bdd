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


#: Session-scoped fixtures worth building once per run rather than once per worker:
#: the tests that use them share one parallel worker (tests/pipeline/conftest.py).
_SHARED_BUILDS = frozenset({"host_build", "lambda_builds"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Groups for pytest-xdist's ``--dist loadgroup`` (``make test``): a test file runs
    whole on one worker, so its module-scoped stacks and corpora are built once; the
    tests of the Lambda zips share the worker that builds the zips."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        group = "zip-builds" if fixtures & _SHARED_BUILDS else item.nodeid.partition("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
