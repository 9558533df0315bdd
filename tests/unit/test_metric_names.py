"""Metric names are written out where they are emitted, and the README lists each."""

from __future__ import annotations

from pathlib import Path

from resizer.handler import _OUTCOME_METRICS
from resizer.pipeline import Result

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_outcome_counts_a_metric_the_readme_names() -> None:
    assert set(_OUTCOME_METRICS) == set(Result)
    assert [name for name in _OUTCOME_METRICS.values() if f"`{name}`" not in README] == []
    assert len(set(_OUTCOME_METRICS.values())) == len(Result)
