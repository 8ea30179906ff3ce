"""Report context: published accuracies are set beside our runs of the same thing."""

from __future__ import annotations

import pandas as pd
import yaml
from conftest import ROOT

from mobilenet_repro.report.context import accuracy_comparisons

PUBLISHED = yaml.safe_load((ROOT / "report/published.yaml").read_text())


def runs(rows):
    cols = ["experiment", "dataset", "model", "arch", "alpha", "resolution", "seed", "test_top1"]
    return pd.DataFrame(rows, columns=cols)


def test_matching_runs_are_compared_in_points_with_mean_and_std():
    config = {"datasets": {"dogs": {"source": "stanford_dogs"}, "digits": {"source": "x"}}}
    df = runs(
        [
            ["e", "dogs", "m224", "mobilenet_v1", 1.0, 224, 0, 0.80],
            ["e", "dogs", "m224", "mobilenet_v1", 1.0, 224, 1, 0.82],
            ["e", "digits", "m224d", "mobilenet_v1", 1.0, 224, 0, 0.99],  # other data set
            ["e", "dogs", "m160", "mobilenet_v1", 1.0, 160, 0, 0.70],  # no published row
        ]
    )
    acc = accuracy_comparisons(PUBLISHED, df, config)
    table = next(t for t in acc["tables"] if t["id"] == "seed001_table10")
    row = next(r for r in table["rows"] if r["label"] == "1.0 MobileNet-224")
    assert row["published"] == "83.3%"
    assert row["ours"] == [{"run": "e/dogs/m224", "top1": "81.0 ± 1.0", "seeds": 2, "diff": "-2.3"}]
    others = [r for r in table["rows"] if r["label"] != "1.0 MobileNet-224"]
    assert others and not any(r["reproduced"] for r in others)
    assert acc["n_reproduced"] == 2  # seed 001's own table has the same model too


def test_nothing_comparable_is_said_not_hidden():
    config = {"datasets": {"digits": {"source": "sklearn_digits"}}}
    df = runs([["e", "digits", "m", "mobilenet_v1", 1.0, 224, 0, 0.9]])
    acc = accuracy_comparisons(PUBLISHED, df, config)
    assert acc["n_reproduced"] == 0
    assert acc["n_published"] >= 10  # both Stanford Dogs tables, listed as not run
    assert acc["configured_sources"] == ["sklearn_digits"]
