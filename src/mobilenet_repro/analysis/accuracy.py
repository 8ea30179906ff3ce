"""Trained accuracies against published ones: a verdict a reader can act on.

Each published top-1 accuracy (report/published.yaml: `trained`, and the top-1 columns of
`tables`) is compared with our runs of the matching network on the matching data, with four
judgements:

- comparability: a run of another network, or with under half of the published training
  budget, is "not comparable as run": both numbers side by side, no verdict.
- noise: otherwise our mean over seeds against the published value and its tolerance:
  "reproduced" (within the tolerance), "tied within noise" (the 95% interval of the
  difference, from the test-set size, contains zero), else "below" or "above" by so many
  points. Mean +- std only from three seeds (analysis.noise); one or two are shown as values.
- budget: the share of their training (images seen) that ours used and, where the source
  publishes a per-epoch curve, their accuracy at our epoch count.
- network: "exact" (the published network is ours) or "family" (a relative, and what differs).
- data: the published data set itself, or a stand-in copy (the CIFAR-10 JPEG copy) and how
  it differs.

Everything is read from pipeline outputs (the configuration's runs table) and published.yaml;
the verdicts land in its accuracy/verdicts.csv (paths.ACCURACY_VERDICTS), which the report and
its scorecard read. They are values under stable keys (VERDICT_COLUMNS), never sentences:
report.accuracy words them, so the wording can change without remaking the verdicts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mobilenet_repro.analysis.noise import MIN_SEEDS_FOR_STD, means_difference
from mobilenet_repro.files import read_json
from mobilenet_repro.paths import PUBLISHED, RUN_FILES
from mobilenet_repro.runs import Run

DEFAULT_TOLERANCE_POINTS = 0.5  # published top-1 figures are printed to 0.1-0.01 points
CURVE_TOLERANCE_POINTS = 2.0  # a high rate's per-epoch test top-1 swings by 2-5 points
CURVE_CONFIDENCE = 0.95
NOISE_STDS = 2.0  # |ours - published| within this many of our seed std is run-to-run noise
PUBLISHED_DIR = PUBLISHED.parent  # curve files are named relative to published.yaml

NOISE_KINDS = ("reproduced", "within_noise", "below", "above", "not_comparable")
COMPARABILITY_REASONS = ("network", "budget")
DATA_RELATIONS = ("published", "stand_in")
CURVE_MIN_EPOCHS = 4
# A run with less than this share of the published training (images seen) is not compared
# with the published figure as if it were the same experiment: "not comparable as run".
COMPARABLE_BUDGET = 0.5
VERDICT_COLUMNS = [
    "reference",
    "source",
    "label",
    "dataset_published",
    "published_text",
    "published",
    "tolerance_points",
    "relation",  # exact | family
    # JSON list: what differs in a family relative, published.yaml's own words (registry data)
    "network_differences",
    "status",  # compared | not_run
    "run",
    "dataset",
    "seeds",
    "ours_values",  # JSON list: our test top-1 per seed (percent), one view of each image
    "ours_mean",
    "ours_std",
    "test_views",  # our tested variant's test-time views ("flip", ...); empty: one view
    "ours_tested_mean",  # the mean of the tested variant's top-1 (percent), with those views
    "diff_points",
    "noise",  # NOISE_KINDS
    "not_comparable_reasons",  # JSON list of COMPARABILITY_REASONS; empty when comparable
    "diff_low",  # 95% interval of ours minus theirs from the test-set size (points)
    "diff_high",
    "test_images",
    "budget_fraction",  # empty when their schedule is not stated
    "our_epochs",
    "our_images",
    "their_epochs",
    "their_images",
    "curve_at_our_epochs",  # their published curve read at our epoch count
    "curve_diff_points",
    "curve_reaches_ours_at",  # first epoch of their curve at or above our mean; empty: never
    "curve_last_epoch",  # their curve's last epoch, where one is published
    "data_relation",  # DATA_RELATIONS
    "data_title",  # a stand-in's title and note, from the configuration's data set
    "data_note",
    "curve_verdict",  # our per-epoch test curve against theirs: reproduced | not_reproduced | ...
    "curve_mean_diff",
    "curve_low",
    "curve_high",
    "curve_from",  # the epochs compared (the last half of those in common)
    "curve_to",
    "curve_epochs",  # how many epochs were compared (no_verdict: how many are in common)
    "curve_tolerance_points",
]


# ------------------------------------------------------------------ the four judgements
def noise_verdict(
    top1: Sequence[float],
    published: float,
    tolerance: float,
    test_images: int | None = None,
    not_comparable: Sequence[str] = (),
) -> dict:
    """Our top-1 over seeds (percent) against a published top-1 (percent).

    `not_comparable` (COMPARABILITY_REASONS: another network, a small share of their budget)
    makes the verdict "not_comparable": the numbers stand side by side, with no
    reproduced/differs. Otherwise: reproduced within the tolerance; "within_noise" when the
    95% interval of the difference (the test set counted once, plus the seeds' spread from
    three seeds; theirs on as many images) contains zero,
    or, without a test-set size, within two standard deviations of three or more seeds;
    else below or above.
    """
    values = np.asarray([float(v) for v in top1], dtype=float)
    if values.size == 0:
        raise ValueError("noise_verdict: no runs to compare")
    n = int(values.size)
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if n >= 2 else None
    diff = mean - published
    out = {
        "values": [float(v) for v in values],
        "mean": mean,
        "std": std,
        "n": n,
        "diff": diff,
        "low": None,
        "high": None,
        "not_comparable_reasons": list(not_comparable),
    }
    if test_images:
        # Every seed predicts the same test images: the test set counts once, and the
        # seeds' spread adds to it from three seeds on.
        low, high = means_difference(
            [v / 100 for v in values], int(test_images), [published / 100], int(test_images)
        )
        out["low"], out["high"] = low * 100, high * 100
    if test_images:
        noise = out["low"] <= 0 <= out["high"]
    else:
        noise = n >= MIN_SEEDS_FOR_STD and abs(diff) <= NOISE_STDS * std
    if not_comparable:
        kind = "not_comparable"
    elif abs(diff) <= tolerance:
        kind = "reproduced"
    elif noise:
        kind = "within_noise"
    else:
        kind = "below" if diff < 0 else "above"
    return {**out, "noise": kind}


def budget_verdict(
    our_epochs: int,
    our_images: int,
    recipe: dict | None,
    mean: float,
    curve: dict[int, float] | None = None,
) -> dict:
    """How much of the published training ours had, and their accuracy at our epoch count."""
    recipe = recipe or {}
    their_epochs, their_images = recipe.get("epochs"), recipe.get("train_images")
    out = {
        "budget_fraction": None,
        "our_epochs": our_epochs,
        "our_images": our_images,
        "their_epochs": their_epochs,
        "their_images": None,
        "curve_at_our_epochs": None,
        "curve_diff_points": None,
        "curve_reaches_ours_at": None,
        "curve_last_epoch": max(curve) if curve else None,
    }
    if not their_epochs:
        return out
    # A source that states no image count trained on the full set we compare against.
    their_images = their_images or our_images
    out["their_images"] = their_images
    out["budget_fraction"] = (our_epochs * our_images) / (their_epochs * their_images)
    if curve and our_epochs in curve:
        at = curve[our_epochs]
        out["curve_at_our_epochs"], out["curve_diff_points"] = at, mean - at
        reached = [e for e in sorted(curve) if curve[e] >= mean]
        out["curve_reaches_ours_at"] = reached[0] if reached else None
    return out


def curve_verdict(
    ours: dict[int, float], theirs: dict[int, float], tolerance: float = CURVE_TOLERANCE_POINTS
) -> dict:
    """Our per-epoch test top-1 (percent, by epoch) against a published per-epoch test curve.

    At a high learning rate one epoch's test accuracy swings by several points from the next
    (chenyaofo's x0.5: 77.6% at epoch 9, 75.1% at 10), so no single epoch decides. Compared:
    the epoch-by-epoch differences over the last half of the epochs both curves have (the
    first half is dominated by how fast a run leaves chance), their mean and a Student-t
    interval. Consecutive epochs of one run are not independent, so the interval is, if
    anything, too narrow. Verdicts: reproduced (the interval inside +-tolerance), not
    reproduced (the interval wholly outside it), inconclusive (neither).
    """
    from scipy import stats

    common = sorted(set(ours) & set(theirs))
    if len(common) < CURVE_MIN_EPOCHS:
        return {
            "curve_verdict": "no_verdict",
            "curve_epochs": len(common),
            "curve_tolerance_points": tolerance,
        }
    half = common[len(common) // 2 :]
    diffs = np.array([ours[e] - theirs[e] for e in half])
    mean = float(diffs.mean())
    half_width = float(
        stats.t.ppf(0.5 + CURVE_CONFIDENCE / 2, len(diffs) - 1)
        * diffs.std(ddof=1)
        / np.sqrt(len(diffs))
    )
    low, high = mean - half_width, mean + half_width
    if -tolerance <= low and high <= tolerance:
        kind = "reproduced"
    elif high < -tolerance or low > tolerance:
        kind = "not_reproduced"
    else:
        kind = "inconclusive"
    return {
        "curve_verdict": kind,
        "curve_mean_diff": mean,
        "curve_low": low,
        "curve_high": high,
        "curve_from": half[0],
        "curve_to": half[-1],
        "curve_epochs": len(diffs),
        "curve_tolerance_points": tolerance,
    }


def network_verdict(relation: str, differences: Sequence[str] = ()) -> dict:
    """The published network against ours: exact or a family relative, with what differs
    (published.yaml's own description of it, passed on as it is)."""
    if relation not in ("exact", "family"):
        raise ValueError(f"relation must be 'exact' or 'family'; received {relation!r}")
    return {
        "relation": relation,
        "network_differences": list(differences) if relation == "family" else [],
    }


def data_verdict(published_dataset: str, dataset_cfg: dict) -> dict:
    """The published data set itself, or a stand-in copy: with the configuration's title
    and note of the copy."""
    if dataset_cfg.get("source") == published_dataset:
        return {"data_relation": "published", "data_title": None, "data_note": None}
    return {
        "data_relation": "stand_in",
        "data_title": dataset_cfg.get("title") or dataset_cfg.get("source"),
        "data_note": (dataset_cfg.get("compare_as") or {}).get("note") or None,
    }


# ------------------------------------------------------------------ matching
def compared_source(dataset_cfg: dict) -> str:
    """The published data set a configured data set is compared with."""
    return (dataset_cfg.get("compare_as") or {}).get("source") or dataset_cfg["source"]


def load_curve(path: Path | str, variant: str | None) -> dict[int, float]:
    frame = pd.read_csv(path)
    if variant is not None:
        frame = frame[frame["variant"] == variant]
    return {int(e): float(a) for e, a in zip(frame["epoch"], frame["top1"], strict=True)}


def reference_rows(published: dict, published_dir: Path | str = PUBLISHED_DIR) -> list[dict]:
    """Every published top-1 accuracy as one flat record, with what to compare it against."""
    rows = []
    for ref in published.get("trained", []):
        curve_file = Path(published_dir) / ref["curve"] if ref.get("curve") else None
        for row in ref["rows"]:
            rows.append(
                {
                    "reference": ref["id"],
                    "source": ref["source"],
                    "label": row["label"],
                    "dataset": ref["dataset"],
                    "text": row["top1"]["text"],
                    "value": float(row["top1"]["value"]),
                    "tolerance": float(ref.get("tolerance_points", DEFAULT_TOLERANCE_POINTS)),
                    "relation": row.get("relation", "family"),
                    "differences": ref.get("differences", []),
                    "recipe": ref.get("recipe"),
                    "ours": row["ours"],
                    "curve": load_curve(curve_file, row.get("variant")) if curve_file else None,
                }
            )
            if row.get("exact"):  # the published network itself, built as one of ours
                rows.append(
                    {**rows[-1], "relation": "exact", "differences": [], "ours": row["exact"]}
                )
    for table in published.get("tables", []):
        col = next(
            (c for c, v in table.get("columns", {}).items() if v["quantity"] == "top1_accuracy"),
            None,
        )
        if col is None or not table.get("dataset"):
            continue
        for row in table["rows"]:
            if col not in row:
                continue
            cell = row[col]
            text = cell["text"] if isinstance(cell, dict) else str(cell)
            rows.append(
                {
                    "reference": table["id"],
                    "source": table.get("source", ""),
                    "label": row["label"],
                    "dataset": table["dataset"],
                    "text": text,
                    "value": float(text.rstrip("%")),  # percent points, as printed
                    "tolerance": DEFAULT_TOLERANCE_POINTS,
                    "relation": "exact",
                    "differences": [],
                    "recipe": table.get("recipe"),
                    "ours": row["model"],
                    "curve": None,
                }
            )
    return rows


def _matching_runs(runs: pd.DataFrame, ref: dict, config: dict) -> pd.DataFrame:
    ours = ref["ours"]
    datasets = [n for n, d in config["datasets"].items() if compared_source(d) == ref["dataset"]]
    hit = runs[
        runs["dataset"].isin(datasets)
        & (runs["arch"] == ours["arch"])
        & ((runs["alpha"] - ours.get("alpha", 1.0)).abs() < 1e-9)
    ]
    if "resolution" in ours:
        hit = hit[hit["resolution"] == ours["resolution"]]
    return hit


def validated_on_test(history_file) -> bool:
    """Whether the run of a history.csv evaluated the test split after every epoch (recipe
    validate_on: test, nothing held out), read from the metrics.json beside it."""
    metrics = Path(history_file).with_name(RUN_FILES["metrics"])
    return (
        metrics.exists() and (read_json(metrics).get("recipe") or {}).get("validate_on") == "test"
    )


def test_curves(history_files) -> dict[str, dict[int, float]]:
    """Per-epoch test top-1 (percent, mean over seeds) of the runs that evaluated the test
    split after every epoch (recipe validate_on: test), by "experiment/dataset/model"."""
    by_run: dict[str, list[pd.Series]] = {}
    for path in history_files:
        if not validated_on_test(path):
            continue
        run = Run.from_path(path)
        frame = pd.read_csv(path)
        per_epoch = frame.set_index("epoch")["val_accuracy"] * 100
        by_run.setdefault(f"{run.experiment}/{run.dataset}/{run.model}", []).append(per_epoch)
    return {
        key: {int(e): float(v) for e, v in pd.concat(series, axis=1).mean(axis=1).items()}
        for key, series in by_run.items()
    }


def _curve_columns(ref: dict, run_key: str, curves: dict) -> dict:
    if ref["curve"] is None or ref["relation"] != "exact" or run_key not in curves:
        return {}
    return curve_verdict(curves[run_key], ref["curve"])


def _test_images(group: pd.DataFrame) -> int | None:
    if "test_images" not in group:
        return None
    n = pd.to_numeric(group["test_images"], errors="coerce").dropna()
    return int(n.iloc[0]) if len(n) else None


def comparability(ref: dict, budget: dict) -> list[str]:
    """Why a published figure and our run are not the same experiment (COMPARABILITY_REASONS);
    empty when they are."""
    reasons = []
    if ref["relation"] != "exact":
        reasons.append("network")
    fraction = budget.get("budget_fraction")
    if fraction is not None and fraction < COMPARABLE_BUDGET:
        reasons.append("budget")
    return reasons


def tested_views(runs: pd.DataFrame) -> list[str]:
    """The test-time views of some runs' tested variants (the runs table's test_views), each
    once; empty where every run was tested on one view of each test image."""
    return sorted({v for v in runs.get("test_views", pd.Series(dtype=str)).fillna("") if v})


def _one_view(group: pd.DataFrame) -> tuple[pd.Series, str]:
    """(each run's top-1 on one view of each test image, the tested views): a published
    accuracy is of one view unless it says otherwise, so a run tested with its mirror image
    or shifted copies is compared on the same weights' single view (results.test_views)."""
    if "test_top1_single" not in group:  # a runs table from before test-time views
        return group["test_top1"], ""
    single = group["test_top1_single"].fillna(group["test_top1"])
    return single, "/".join(tested_views(group))


def _json_lists(values: dict) -> dict:
    # A CSV cell holds a list as JSON: pandas would write a Python repr.
    return {k: json.dumps(v) if isinstance(v, list) else v for k, v in values.items()}


def compare(
    published: dict, runs: pd.DataFrame, config: dict, published_dir=PUBLISHED_DIR, curves=None
):
    """One row per (published number, matching run group); unmatched numbers as not run.
    `curves`: per-epoch test curves of our runs (`test_curves`), compared with a published
    per-epoch curve where the published network is exactly ours."""
    curves = curves or {}
    out = []
    for ref in reference_rows(published, published_dir):
        base = {
            "reference": ref["reference"],
            "source": ref["source"],
            "label": ref["label"],
            "dataset_published": ref["dataset"],
            "published_text": ref["text"],
            "published": ref["value"],
            "tolerance_points": ref["tolerance"],
            **_json_lists(network_verdict(ref["relation"], ref["differences"])),
            "their_epochs": (ref["recipe"] or {}).get("epochs"),
        }
        hit = _matching_runs(runs, ref, config)
        if hit.empty:
            out.append({**base, "status": "not_run"})
            continue
        for (exp, ds, model), group in hit.groupby(["experiment", "dataset", "model"]):
            epochs = int(group["epochs"].iloc[0])
            single, views = _one_view(group)
            budget = budget_verdict(
                epochs,
                int(group["train_images"].iloc[0]),
                ref["recipe"],
                float(single.mean() * 100),
                ref["curve"],
            )
            noise = noise_verdict(
                single * 100,
                ref["value"],
                ref["tolerance"],
                test_images=_test_images(group),
                not_comparable=comparability(ref, budget),
            )
            out.append(
                {
                    **base,
                    **budget,
                    **_curve_columns(ref, f"{exp}/{ds}/{model}", curves),
                    "status": "compared",
                    "run": f"{exp}/{ds}/{model}",
                    "dataset": ds,
                    "seeds": noise["n"],
                    "ours_values": json.dumps(noise["values"]),
                    "ours_mean": noise["mean"],
                    "ours_std": noise["std"],
                    "test_views": views,
                    "ours_tested_mean": float(group["test_top1"].mean() * 100),
                    "diff_points": noise["diff"],
                    "noise": noise["noise"],
                    "not_comparable_reasons": json.dumps(noise["not_comparable_reasons"]),
                    "diff_low": noise["low"],
                    "diff_high": noise["high"],
                    "test_images": _test_images(group),
                    **data_verdict(ref["dataset"], config["datasets"][ds]),
                }
            )
    return pd.DataFrame(out, columns=VERDICT_COLUMNS)


# ------------------------------------------------------------------ scorecard
def scorecard(arch_verdicts: pd.DataFrame | None, accuracy: pd.DataFrame) -> dict:
    """How many published numbers were compared, reproduced, differ, or were not run."""
    card = {}
    if arch_verdicts is not None and len(arch_verdicts):
        # A library's account of itself (Keras's documentation, its count_params()) checks
        # our builders against Keras: a line of its own, never counted as reproduced.
        own = (
            arch_verdicts["consistency"].fillna("").astype(str) != ""
            if "consistency" in arch_verdicts
            else pd.Series(False, index=arch_verdicts.index)
        )
        for key, part in (
            ("architecture", arch_verdicts[~own]),
            ("consistency", arch_verdicts[own]),
        ):
            if part.empty:
                continue
            v = part["verdict"].astype(str).str.startswith("matches")
            card[key] = {
                "published": int(len(v)),
                "compared": int(len(v)),
                "reproduced": int(v.sum()),
                "within_noise": 0,
                "differ": int((~v).sum()),
                "not_comparable": 0,
                "not_run": 0,
            }
    numbers = accuracy.drop_duplicates(["reference", "label"], keep="first")
    compared = accuracy[accuracy["status"] == "compared"]
    # A published number counts once, by its best verdict over the runs compared with it.
    rank = {k: i for i, k in enumerate(NOISE_KINDS)}
    best = (
        compared.assign(rank=compared["noise"].map(rank))
        .sort_values("rank")
        .drop_duplicates(["reference", "label"])
    )
    card["accuracy"] = {
        "published": int(len(numbers)),
        "compared": int(len(best)),
        "reproduced": int((best["noise"] == "reproduced").sum()),
        "within_noise": int((best["noise"] == "within_noise").sum()),
        "differ": int(best["noise"].isin(["below", "above"]).sum()),
        "not_comparable": int((best["noise"] == "not_comparable").sum()),
        "not_run": int(len(numbers) - len(best)),
    }
    return card


# ------------------------------------------------------------------ figure
def compared_with(verdicts_path: Path | str | None, experiment: str) -> pd.DataFrame:
    """The published top-1 accuracies that this experiment's runs are compared with (the
    compare_accuracy rule's verdicts.csv): data set, model, label, source and value."""
    columns = ["dataset", "model", "reference", "source", "label", "published_text", "published"]
    if not verdicts_path or not Path(verdicts_path).is_file():
        return pd.DataFrame(columns=columns)
    verdicts = pd.read_csv(verdicts_path, keep_default_na=False, na_values=[""])
    rows = verdicts[verdicts["status"] == "compared"].copy()
    if rows.empty:
        return pd.DataFrame(columns=columns)
    # The verdicts' `run` is experiment/data set/model (Run's id without the seed).
    parts = rows["run"].astype(str).str.split("/", expand=True)
    rows["model"] = parts[2]
    return rows[parts[0] == experiment][columns].reset_index(drop=True)
