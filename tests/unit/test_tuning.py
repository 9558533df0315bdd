"""resizer_tools.tuning: the Lambda sizing arithmetic, and one real measurement in a child."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from resizer.errors import ConfigurationError
from resizer_tools.errors import UsageError
from resizer_tools.tuning import (
    ALLOWED_TIMEOUTS,
    DEFAULT_PRICES,
    Assumptions,
    ImageMeasurement,
    Prices,
    batch_seconds,
    child,
    choose_timeout,
    corpus,
    cost_per_million,
    measure_image,
    memory_needed_mb,
    recommend,
    render_report,
    round_memory_mb,
    s3_seconds,
    tune_command,
    vcpus,
)
from resizer_tools.tuning.measure import _DUMMY_ENVIRONMENT


def measurement(
    name: str = "a.jpg",
    *,
    baseline: float = 60.0,
    render: float = 80.0,
    cpu: float = 0.2,
    bytes_in: int = 1_000_000,
    bytes_out: int = 300_000,
) -> ImageMeasurement:
    return ImageMeasurement(
        name=name,
        bytes_in=bytes_in,
        bytes_out=bytes_out,
        megapixels=12.0,
        baseline_mb=baseline,
        peak_mb=baseline + render,
        cpu_s=cpu,
        wall_s=cpu,
    )


# ------------------------------------------------------------------ Lambda facts
def test_vcpus_scale_with_memory_up_to_six() -> None:
    assert vcpus(1769) == 1.0
    assert vcpus(3538) == 2.0
    assert vcpus(512) == pytest.approx(0.2894, abs=1e-4)
    # Lambda's top size has 6 vCPUs; the linear rule says 5.79: the conservative figure
    assert vcpus(10_240) == pytest.approx(5.79, abs=0.01)


def test_memory_rounds_up_to_64_within_lambda_limits() -> None:
    assert round_memory_mb(100) == 128
    assert round_memory_mb(128) == 128
    assert round_memory_mb(129) == 192
    assert round_memory_mb(448) == 448
    assert round_memory_mb(448.1) == 512
    assert round_memory_mb(50_000) == 10_240


def test_memory_needed_is_baseline_plus_one_render_per_worker() -> None:
    assert memory_needed_mb(60, 80, 4) == 380
    assert memory_needed_mb(60, 80, 1) == 140


def test_timeout_is_the_smallest_allowed_value_that_covers() -> None:
    assert ALLOWED_TIMEOUTS == (30, 60, 90, 120, 180, 300, 600, 900)
    assert choose_timeout(1) == 30
    assert choose_timeout(30) == 30
    assert choose_timeout(30.01) == 60
    assert choose_timeout(181) == 300
    assert choose_timeout(901) is None


def test_template_allows_exactly_these_timeouts() -> None:
    text = Path(__file__).parents[2].joinpath("infra", "template.yaml").read_text()
    allowed = '["' + '", "'.join(str(t) for t in ALLOWED_TIMEOUTS) + '"]'
    assert f"AllowedValues: {allowed}" in text


# ------------------------------------------------------------------ time
def test_s3_seconds_counts_requests_and_transfer() -> None:
    assume = Assumptions(s3_request_s=0.05, s3_mb_per_s=100)
    # 3 HEADs + GET + a PUT x 3 renditions = 7 requests; 10 MB at 100 MB/s
    assert s3_seconds(8_000_000, 2_000_000, 3, assume) == pytest.approx(7 * 0.05 + 0.1)


def test_batch_with_a_vcpu_per_worker_runs_in_rounds() -> None:
    # 4 workers, 4 vCPUs: 10 records are 3 rounds of one record's time
    assert batch_seconds(1.0, 0.0, 4 * 1769, workers=4, batch_size=10) == pytest.approx(3.0)
    assert batch_seconds(1.0, 0.5, 4 * 1769, workers=4, batch_size=10) == pytest.approx(4.5)


def test_batch_below_one_vcpu_is_bound_by_the_cpu_share() -> None:
    # 0.5 vCPU: 10 records of 1 CPU-second need 20 s, however many threads
    assert batch_seconds(1.0, 0.0, 1769 // 2 + 1, workers=4, batch_size=10) == pytest.approx(
        20.0, rel=1e-3
    )
    # one worker on 2 vCPUs still runs one record at a time
    assert batch_seconds(1.0, 0.0, 2 * 1769, workers=1, batch_size=10) == pytest.approx(10.0)


# ------------------------------------------------------------------ money
def test_cost_per_million_is_gb_seconds_plus_requests() -> None:
    # 1,024 MB, 2 s per batch of 10: 100,000 invocations x 2 s x 1 GB = 200,000 GB-s
    dollars = cost_per_million(1024, 2.0, 10, 0.0000133334, 0.20)
    assert dollars == pytest.approx(200_000 * 0.0000133334 + 100_000 * 0.20 / 1e6)
    assert dollars == pytest.approx(2.68668)


def test_cost_bills_whole_milliseconds() -> None:
    assert cost_per_million(1024, 0.0001, 1, 1.0, 0.0) == pytest.approx(1e6 * 0.001)


def test_default_prices_are_us_east_1_list_prices() -> None:
    assert DEFAULT_PRICES.per_gb_s("arm64") == 0.0000133334
    assert DEFAULT_PRICES.per_gb_s("x86_64") == 0.0000166667
    assert DEFAULT_PRICES.requests_per_million == 0.20
    assert "us-east-1" in DEFAULT_PRICES.source


def test_prices_from_json_override_some_keys(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"arm64": 0.00001, "source": "eu-west-1 2026-11"}))
    prices = Prices.from_json(path)
    assert prices.arm64_gb_s == 0.00001
    assert prices.x86_64_gb_s == DEFAULT_PRICES.x86_64_gb_s
    assert prices.source == "eu-west-1 2026-11"


@pytest.mark.parametrize(
    "content", ['{"arm64": "cheap"}', '{"arm64": -1}', '{"graviton": 1}', "[1]", "{not json"]
)
def test_bad_price_tables_are_explained(tmp_path: Path, content: str) -> None:
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match="price table"):
        Prices.from_json(path)


# ------------------------------------------------------------------ the recommendation
def test_recommend_sizes_memory_for_the_largest_render_per_worker() -> None:
    small = measurement("small.jpg", render=30, cpu=0.1)
    large = measurement("large.jpg", render=80, cpu=0.3)
    rec = recommend([small, large], assume=Assumptions(workers=4, batch_size=10))
    assert rec.largest is large
    assert rec.memory_needed_mb == 60 + 4 * 80  # 380
    assert rec.chosen.memory_mb == 512  # 380 x 1.25 = 475 -> 512
    assert rec.chosen.vcpus == pytest.approx(512 / 1769)


def test_a_measured_concurrent_peak_above_the_sum_wins() -> None:
    rec = recommend([measurement(render=80)], concurrent_peak_mb=600)
    assert rec.memory_needed_mb == 600
    assert rec.chosen.memory_mb == 768  # 750 -> 768


def test_recommend_timeout_covers_a_batch_of_the_slowest_image() -> None:
    assume = Assumptions(
        workers=4, batch_size=10, timeout_safety=3, deadline_margin_s=10, s3_request_s=0
    )
    m = measurement(render=80, cpu=0.5, bytes_in=0, bytes_out=0)
    rec = recommend([m], assume=assume)
    # 512 MB = 0.2894 vCPU: 10 x 0.5 s / 0.2894 = 17.3 s; x 3 + 10 = 61.8 s -> 90
    assert rec.chosen.batch_s_worst == pytest.approx(17.28, abs=0.01)
    assert rec.chosen.timeout_needed_s == pytest.approx(61.8, abs=0.1)
    assert rec.chosen.timeout_s == 90
    assert rec.chosen.visibility_timeout_s == 540


def test_no_allowed_timeout_is_said() -> None:
    rec = recommend([measurement(cpu=200.0)])
    assert rec.chosen.timeout_s is None
    assert rec.chosen.visibility_timeout_s is None


def test_alternatives_buy_cpu_and_the_costs_are_per_architecture() -> None:
    rec = recommend([measurement(render=80, cpu=0.5)], assume=Assumptions(workers=4, batch_size=10))
    assert [o.memory_mb for o in rec.alternatives] == [1769, 4 * 1769]
    assert rec.alternatives[0].batch_s_mean < rec.chosen.batch_s_mean
    for option in [rec.chosen, *rec.alternatives]:
        ratio = option.cost_per_million["x86_64"] / option.cost_per_million["arm64"]
        assert 1.2 < ratio < 1.25  # 0.0000166667 / 0.0000133334, less the request part


def test_recommend_needs_measurements() -> None:
    with pytest.raises(UsageError, match="no measurements"):
        recommend([])


# ------------------------------------------------------------------ measuring
@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photos" / "gradient.jpg"
    path.parent.mkdir()
    Image.linear_gradient("L").resize((2000, 1500)).convert("RGB").save(path, quality=90)
    return path


def test_one_real_measurement_in_a_child(photo: Path) -> None:
    m = measure_image(photo, repeats=1)
    assert m.name == "gradient.jpg"
    assert m.bytes_in == photo.stat().st_size
    assert m.megapixels == pytest.approx(3.0)
    assert m.bytes_out > 0
    # the child imported the handler and built its runtime (boto3, Powertools) first
    assert 20 < m.baseline_mb < m.peak_mb < 1000
    assert m.render_mb > 0
    assert 0 < m.cpu_s < 30


def test_tune_command_on_a_folder(photo: Path, tmp_path: Path) -> None:
    (photo.parent / "notes.txt").write_text("not an image, not a suffix we look at")
    (photo.parent / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    prices = tmp_path / "prices.json"
    prices.write_text('{"arm64": 0.00001}')
    report = tune_command(photo.parent, prices=prices, workers=2, batch_size=5, repeats=1)
    assert [m.name for m in report.measurements] == ["gradient.jpg"]
    assert len(report.failed) == 1
    assert report.failed[0].startswith("broken.png: ")
    assert "ImageError" in report.failed[0]  # the engine's own reason, not a traceback
    rec = report.recommendation
    assert rec.assumptions.workers == 2
    assert rec.assumptions.batch_size == 5
    assert rec.prices.arm64_gb_s == 0.00001
    assert rec.chosen.timeout_s in ALLOWED_TIMEOUTS
    assert report.concurrent_peak_mb is not None
    assert render_report(report) is not None


def test_corpus_refuses_an_empty_or_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no images"):
        corpus(tmp_path)
    with pytest.raises(UsageError, match="does not exist"):
        corpus(tmp_path / "missing")
    (tmp_path / "a.jpg").write_bytes(b"")
    with pytest.raises(UsageError, match="is not a folder"):
        corpus(tmp_path / "a.jpg")


def test_the_child_measurement_in_process(photo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The module the child runs is ordinary code: the same figures, or one error line."""
    for name, value in _DUMMY_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    figures = child.measure(str(photo), 2, 1)
    assert figures["bytes_in"] == photo.stat().st_size
    assert figures["megapixels"] == pytest.approx(3.0)
    assert 0 < float(figures["baseline_mb"]) <= float(figures["peak_mb"])
    broken = photo.with_name("broken.png")
    broken.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert str(child.measure(str(broken), 1, 1)["error"]).startswith("CorruptImageError: ")
