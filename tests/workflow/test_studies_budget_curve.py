"""studies/budget_curve.py on the committed records: every record present is drawn, and the
15-epoch seeds' per-epoch points are on the test split, as their recipe validates on it."""

from __future__ import annotations

import pandas as pd
from conftest import load_study


def test_the_committed_records_are_drawn_over_the_published_curves(tmp_path):
    study = load_study("budget_curve")
    study.main(["--out", str(tmp_path / "curve.png")])
    assert (tmp_path / "curve.png").stat().st_size > 10_000
    points = pd.read_csv(tmp_path / "curve.csv")
    present = [r for r in study.RECORDS if (study.ROOT / "studies/results" / r).is_dir()]
    assert sorted(points["record"].unique()) == sorted(present)
    seeds = points[points["record"].str.startswith("cifar10_15epoch/")]
    assert set(seeds["split"]) <= {"test", "test (final)"}
    assert seeds["images"].max() == 15 * 50_000
