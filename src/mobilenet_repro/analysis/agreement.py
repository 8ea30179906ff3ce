"""Backend agreement: the same experiment trained under several Keras backends, compared.

An experiment with `backend: [tensorflow, jax]` trains every (data set, model, seed) under
each backend. Per (data set, model), each backend's test top-1 is summarised over its seeds
(mean and sample std) and every backend after the first is compared with the first (the
reference) on the difference of means, with Welch's 95% confidence interval (seeds are
independent draws; the same seed gives different initial weights under different backends,
so runs are not paired). The verdict:

* agree: the whole interval lies within +- `tolerance` points: any difference is smaller
  than the tolerance, at 95% confidence;
* differ: the interval excludes 0: the backends train to different accuracies;
* inconclusive: the interval holds 0 but reaches past the tolerance: too few seeds or too
  much spread between them to tell (more seeds narrow it);
* no verdict: a backend has one seed (no spread to compare with) or a model did not learn.
"""

from __future__ import annotations

import math

import pandas as pd

from mobilenet_repro.training.diagnosis import learned

VERDICTS = ("agree", "differ", "inconclusive", "no verdict")
CONFIDENCE = 0.95
COLUMNS = [
    "dataset",
    "model",
    "backend",
    "reference",
    "seeds",
    "test_top1_mean",
    "test_top1_std",
    "learned",
    "difference",
    "ci_low",
    "ci_high",
    "tolerance",
    "verdict",
    "reason",
    "train_seconds_mean",
]


def welch_interval(a: pd.Series, b: pd.Series, confidence: float = CONFIDENCE):
    """(difference of means b - a, low, high): Welch's interval for unequal variances."""
    from scipy import stats

    diff = float(b.mean() - a.mean())
    va, vb = float(a.var(ddof=1)) / len(a), float(b.var(ddof=1)) / len(b)
    se = math.sqrt(va + vb)
    if se == 0.0:  # every seed identical on both sides: the difference is exact
        return diff, diff, diff
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    return diff, diff - half, diff + half


def verdict(low: float, high: float, tolerance: float) -> str:
    """agree, differ or inconclusive, from a confidence interval of the difference."""
    if low > 0 or high < 0:
        return "differ"
    if -tolerance <= low and high <= tolerance:
        return "agree"
    return "inconclusive"


def compare_backends(runs: pd.DataFrame, backends: list[str], tolerance: float) -> pd.DataFrame:
    """One row per (data set, model, backend): mean and std over seeds; for each backend
    after the first, the difference from the first with its interval and verdict.

    `runs`: one row per run with dataset, model, backend, seed, test_top1, classes and
    train_seconds (analysis.runs_table). `tolerance`: a fraction (0.02 is 2 points).
    """
    rows = []
    reference = backends[0]
    for (dataset, model), part in runs.groupby(["dataset", "model"], sort=False):
        by = {b: part[part["backend"] == b] for b in backends}
        ref = by[reference]["test_top1"]
        classes = int(part["classes"].iloc[0])
        ref_learned = len(ref) > 0 and learned(ref.mean(), classes)
        for backend in backends:
            own = by[backend]
            top1 = own["test_top1"]
            row = {
                "dataset": dataset,
                "model": model,
                "backend": backend,
                "reference": reference,
                "seeds": len(own),
                "test_top1_mean": top1.mean() if len(top1) else math.nan,
                "test_top1_std": top1.std(ddof=1) if len(top1) > 1 else math.nan,
                "learned": len(top1) > 0 and learned(top1.mean(), classes),
                "tolerance": tolerance,
                "train_seconds_mean": own["train_seconds"].mean() if len(own) else math.nan,
            }
            if backend == reference:
                row |= {"verdict": "reference", "reason": ""}
                rows.append(row)
                continue
            if len(top1) and len(ref):
                row["difference"] = top1.mean() - ref.mean()
            if len(top1) < 2 or len(ref) < 2:
                row |= {
                    "verdict": "no verdict",
                    "reason": "one seed per backend has no spread to compare the "
                    "difference with; list more seeds",
                }
            elif not (row["learned"] and ref_learned):
                row |= {
                    "verdict": "no verdict",
                    "reason": "a model at chance says nothing about agreement",
                }
            else:
                diff, low, high = welch_interval(ref, top1)
                row |= {
                    "difference": diff,
                    "ci_low": low,
                    "ci_high": high,
                    "verdict": verdict(low, high, tolerance),
                    "reason": "",
                }
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)
