"""config/cifar10-cpu.yaml end to end on a few hundred real CIFAR-10 images.

The CPU-budget configuration as shipped, shrunk only in data (30 training and 10 evaluation
images per class) and schedule (one epoch), through the whole workflow to the report: the
run is compared with the published CIFAR-10 results and the report opens with the scorecard.
Needs ../shared/data/cifar10-jpeg.tar.gz; skipped with the reason when it is absent.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from conftest import ROOT, SHARED_CIFAR, copy_workflow
from test_workflow import snakemake

from mobilenet_repro.report.accuracy import budget_words, data_words, network_words, noise_words

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not SHARED_CIFAR.is_file(),
        reason=f"real CIFAR-10 not available: {SHARED_CIFAR} is absent (../shared/data/README.md)",
    ),
]


@pytest.fixture(scope="module")
def cifar_report(tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("cifar10-cpu"))
    config = yaml.safe_load((ROOT / "config/cifar10-cpu.yaml").read_text())
    data = config["datasets"]["cifar10_jpeg"]
    data.update(path=str(SHARED_CIFAR), max_per_class=30, max_eval_per_class=10)
    for recipe in config["recipes"].values():
        recipe.update(epochs=1, batch_size=32, warmup_epochs=0)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake(workdir, "--cores", "2")
    return workdir


def test_the_cpu_budget_run_is_judged_against_published_cifar10(cifar_report):
    verdicts = pd.read_csv(cifar_report / "results/derived/cifar10-cpu/accuracy/verdicts.csv")
    ours = verdicts[verdicts["status"] == "compared"]
    # Width 0.5 is compared with chenyaofo's x0.5, the only published width-0.5 result.
    assert list(ours["published_text"]) == ["92.88"]
    row = ours.iloc[0]
    # A relative of the published network on a few percent of its budget: both numbers, no
    # reproduced/differs verdict.
    assert row["noise"] == "not_comparable"
    assert json.loads(row["not_comparable_reasons"])[0] == "network"
    assert len(json.loads(row["ours_values"])) == 1 and row["test_images"] > 0
    runs = pd.read_csv(cifar_report / "results/derived/cifar10-cpu/summary/runs.csv")
    assert row["budget_fraction"] == pytest.approx(runs["train_images"][0] / (200 * 50000))
    assert not pd.isna(row["curve_at_our_epochs"])
    assert row["relation"] == "family" and row["data_relation"] == "stand_in"
    # The report words those values.
    noise = noise_words(row)
    assert "not comparable as run (a different network" in noise
    assert "one seed" in noise and "95% interval" in noise
    assert "their published curve reads" in budget_words(row)
    assert network_words(row).startswith("family")
    assert "JPEG" in data_words(row)
    assert (verdicts["status"] == "not_run").sum() >= 5


def test_the_report_opens_with_the_summary_and_the_scorecard(cifar_report):
    html = (cifar_report / "results/report/cifar10-cpu/report.html").read_text(encoding="utf-8")
    scorecard = html.index(">Scorecard</h")
    assert html.index(">Reproducibility summary</h") < scorecard
    assert html.index(">Method</h") > scorecard  # the scorecard comes first
    assert html.index(">Accuracies against the published ones</h") > scorecard
    # The architecture tables are in the appendix, after the reproducibility section.
    assert html.index(">Architecture tables</h") > html.index('class="appendix"')
    for text in ("92.88", "family", "of their training budget", "JPEG", "not comparable as run"):
        assert text in html
    curves = cifar_report / "results/derived/cifar10-cpu/accuracy/curves.png"
    assert curves.stat().st_size > 10_000
    assert (cifar_report / "results/report/cifar10-cpu/report.pdf").stat().st_size > 10_000
