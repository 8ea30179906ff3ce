"""Backend agreement (agreement.py): Welch's interval, the verdicts and the report's view."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mobilenet_repro.analysis.agreement import compare_backends, verdict, welch_interval


def _runs(spec: dict[tuple[str, str], list[float]], classes: int = 10) -> pd.DataFrame:
    """Runs from {(model, backend): [test top-1 per seed]} on one data set."""
    rows = [
        {
            "dataset": "digits",
            "model": model,
            "backend": backend,
            "seed": seed,
            "test_top1": top1,
            "classes": classes,
            "train_seconds": 10.0 + seed,
        }
        for (model, backend), values in spec.items()
        for seed, top1 in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_welch_interval_matches_the_textbook_formula():
    a = pd.Series([0.80, 0.82, 0.81, 0.83])
    b = pd.Series([0.85, 0.88, 0.86])
    diff, low, high = welch_interval(a, b)
    va, vb = a.var() / 4, b.var() / 3
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 2)
    from scipy import stats

    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert diff == pytest.approx(b.mean() - a.mean())
    assert (low, high) == pytest.approx((diff - half, diff + half))
    # scipy's own Welch test agrees: the interval excludes 0 exactly when p < 0.05
    p = stats.ttest_ind(b, a, equal_var=False).pvalue
    assert (low > 0) == (p < 0.05)


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(-0.01, 0.015, "agree"), (0.001, 0.03, "differ"), (-0.05, -0.01, "differ"),
     (-0.01, 0.05, "inconclusive")],
)  # fmt: skip
def test_verdict_from_the_interval(low, high, expected):
    assert verdict(low, high, tolerance=0.02) == expected


def test_each_backend_is_compared_with_the_first_listed():
    runs = _runs(
        {
            ("same", "tensorflow"): [0.900, 0.902, 0.901],
            ("same", "jax"): [0.901, 0.900, 0.903],
            ("apart", "tensorflow"): [0.90, 0.91, 0.905],
            ("apart", "jax"): [0.80, 0.81, 0.805],
            ("noisy", "tensorflow"): [0.60, 0.90],
            ("noisy", "jax"): [0.70, 0.85],
        }
    )
    table = compare_backends(runs, ["tensorflow", "jax"], tolerance=0.02)
    got = {(r.model, r.backend): r.verdict for r in table.itertuples()}
    assert got == {
        ("same", "tensorflow"): "reference",
        ("same", "jax"): "agree",
        ("apart", "tensorflow"): "reference",
        ("apart", "jax"): "differ",
        ("noisy", "tensorflow"): "reference",
        ("noisy", "jax"): "inconclusive",
    }
    apart = table[(table["model"] == "apart") & (table["backend"] == "jax")].iloc[0]
    assert apart["difference"] == pytest.approx(-0.1)
    assert apart["ci_low"] < -0.1 < apart["ci_high"] < 0
    assert apart["seeds"] == 3 and apart["test_top1_std"] == pytest.approx(0.005)


def test_one_seed_or_a_model_at_chance_gets_no_verdict_and_says_why():
    runs = _runs(
        {
            ("one_seed", "tensorflow"): [0.9],
            ("one_seed", "jax"): [0.8],
            ("chance", "tensorflow"): [0.10, 0.11],
            ("chance", "jax"): [0.12, 0.09],
        }
    )
    table = compare_backends(runs, ["tensorflow", "jax"], tolerance=0.02).set_index(
        ["model", "backend"]
    )
    one = table.loc[("one_seed", "jax")]
    assert one["verdict"] == "no verdict" and "one seed" in one["reason"]
    assert one["difference"] == pytest.approx(-0.1) and math.isnan(one["ci_low"])
    chance = table.loc[("chance", "jax")]
    assert chance["verdict"] == "no verdict" and "chance" in chance["reason"]
    assert not chance["learned"]


def test_the_report_view_reads_every_number_from_the_table(tmp_path):
    from mobilenet_repro.files import write_csv
    from mobilenet_repro.report.agreement import backends_context

    runs = _runs(
        {
            ("m", "tensorflow"): [0.90, 0.91, 0.905],
            ("m", "torch"): [0.80, 0.81, 0.805],
        }
    )
    path = tmp_path / "backends.csv"
    write_csv(compare_backends(runs, ["tensorflow", "torch"], tolerance=0.02), path)
    view = backends_context(path, {"m": "Model M"}, lambda row: [("run/id", "abc")])
    assert view["reference"] == "tensorflow" and view["counts"]["differ"] == 1
    torch_row = view["rows"][1]
    assert torch_row["backend"] == "torch" and torch_row["difference"] == "-10.0"
    assert torch_row["top1"] == "80.5 ± 0.5" and torch_row["verdict"] == "differ"
    assert torch_row["difference"].source == path.as_posix()
    assert "Model M on digits (torch -10.0 points)" in view["finding"]
    assert backends_context(tmp_path / "absent.csv", {}, lambda row: []) is None


def test_the_finding_says_when_no_backend_differs(tmp_path):
    from mobilenet_repro.files import write_csv
    from mobilenet_repro.report.agreement import backends_context

    runs = _runs({("m", "tensorflow"): [0.80, 0.90, 0.85], ("m", "jax"): [0.82, 0.92, 0.80]})
    path = tmp_path / "backends.csv"
    write_csv(compare_backends(runs, ["tensorflow", "jax"], tolerance=0.02), path)
    view = backends_context(path, {"m": "Model M"}, lambda row: [])
    assert view["counts"]["inconclusive"] == 1
    assert (
        "every interval holds 0 (largest difference -0.3 points, Model M on jax)"
        in (view["finding"])
    )
