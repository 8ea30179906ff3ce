"""The report's view of seed 002's comparisons: table rows and the finding of each, in words.

Reads the tables that `seed002.compare` wrote (the analysis' <experiment>/*.csv); every
number of a finding comes from them. A model that did not learn (training.diagnosis.learned) is
named as such and never ranked. Table cells are `numbers.Number`s naming the table and column.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pandas as pd

from mobilenet_repro.analysis.noise import MIN_SEEDS_FOR_STD, combined_interval
from mobilenet_repro.analysis.seed002 import TABLES
from mobilenet_repro.formatting import as_bool, fmt_int, mean_std, missing
from mobilenet_repro.report.numbers import Number, sourced


def _num(mean, std, digits=0) -> str:
    """A count or duration over seeds: mean ± std (one seed: the mean alone)."""
    if missing(mean):
        return "-"
    if missing(std):
        return f"{mean:,.{digits}f}"
    return f"{mean:,.{digits}f} ± {std:,.{digits}f}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _predictions(r) -> int | None:
    """Test images behind a mean over seeds: every seed predicts the same ones, so they count
    once, never times the seeds; None if unknown."""
    n = getattr(r, "test_images", None)
    if n is None or n != n:
        return None
    return int(n)


def _interval(r, column: str, scale: float = 100.0, digits: int = 1) -> str:
    """A mean's 95% interval from the table's `<column>_low` and `_high` (three seeds or
    more; '-' otherwise), as 'low-high' in the table's unit times `scale`."""
    low, high = getattr(r, f"{column}_low", None), getattr(r, f"{column}_high", None)
    if missing(low) or missing(high):
        return "-"
    return f"{low * scale:,.{digits}f} to {high * scale:,.{digits}f}"


def _difference(first, second, column: str, accuracy: bool) -> tuple[float, float]:
    """95% interval of first's mean `column` minus second's (rows of one table), over seeds
    (`<column>_std`, `seeds` or `reached`) and, for a test top-1, the test images."""

    def term(r, sign):
        seeds = int(getattr(r, "reached", None) or r.seeds)
        mean, std = getattr(r, f"{column}_mean"), getattr(r, f"{column}_std")
        images = _predictions(r)
        return (sign, mean, std, seeds, mean if accuracy and images else None, images)

    resolution = getattr(first, "step_resolution", 0.0) if column == "steps" else 0.0
    return combined_interval([term(first, 1), term(second, -1)], resolution or 0.0)


def _differences(rows, column: str, accuracy: bool):
    """Each pair (a, b) of table rows in their order, with b's mean `column` minus a's and the
    95% interval of that difference."""
    for a, b in combinations(rows, 2):
        low, high = _difference(b, a, column, accuracy)
        yield a, b, getattr(b, f"{column}_mean") - getattr(a, f"{column}_mean"), low, high


def _pairs(ranked: list[dict], column: str, accuracy: bool, unit: str) -> str:
    """Every pair of `ranked` (best first) beyond the first two: the later minus the
    earlier with the 95% interval of the difference, so that each network the plan compares
    (MobileNetV2 with each other) is answered, not only the leading pair."""
    scale, digits = (100.0, 1) if accuracy else (1.0, 0)
    label = {r["model"]: r["label"] for r in ranked}
    pairs = list(_differences([r["row"] for r in ranked], column, accuracy))
    parts = []
    for a, b, diff, low, high in pairs[1:]:  # the leading two have their own sentence
        verdict = "inside the noise: not a finding" if low <= 0 <= high else "beyond the noise"
        parts.append(
            f"{label[b.model]} minus {label[a.model]} {diff * scale:+,.{digits}f} {unit} "
            f"({low * scale:+,.{digits}f} to {high * scale:+,.{digits}f}: {verdict})"
        )
    if not parts:
        return ""
    return f" The other pairs, with the 95% interval of the difference: {'; '.join(parts)}."


def _spread(r, std):
    """A standard deviation over seeds only from three seeds (two measure no spread)."""
    return std if int(getattr(r, "seeds", 0) or 0) >= MIN_SEEDS_FOR_STD else float("nan")


def steps_context(table: pd.DataFrame, labels: dict) -> dict:
    target = float(table["target"].iloc[0])
    if target != target:  # NaN: no run learned, so there is no accuracy to reach
        return {
            "target": "-",
            "dataset": table["dataset"].iloc[0],
            "rows": [],
            "finding": "No run learned, so there is no common accuracy to reach.",
        }
    rows = []
    for r in table.itertuples():
        rows.append(
            {
                "model": r.model,
                "label": labels.get(r.model, r.model),
                "reached": f"{r.reached} of {r.seeds}",
                "steps": _num(r.steps_mean, _spread(r, r.steps_std)),
                "steps_interval": _interval(r, "steps", 1.0, 0),
                "images": _num(r.images_mean, _spread(r, r.images_std)),
                "seconds": _num(r.seconds_mean, _spread(r, r.seconds_std), 1),
                "steps_mean": r.steps_mean,
                "row": r,
                "all_reached": r.reached == r.seeds,
            }
        )
    ranked = sorted((r for r in rows if r["all_reached"]), key=lambda r: r["steps_mean"])
    missed = [r["label"] for r in rows if not r["all_reached"]]
    finding = ""
    if ranked:
        first = ranked[0]
        seeds = int(table["seeds"].min())
        # Validation every few steps: a mean over seeds need not be one of them, so say so.
        means = f", means of {seeds} seeds" if seeds > 1 else ""
        finding = (
            f"{first['label']} reached {target * 100:.1f}% validation top-1 first, after "
            f"{first['steps']} optimizer steps{means} ({first['images']} images, "
            f"{first['seconds']} s)"
        )
        if len(ranked) > 1:
            others = [f"{r['label']} {r['steps']}" for r in ranked[1:]]
            finding += f"; {_join(others)} steps for the others"
            if seeds >= MIN_SEEDS_FOR_STD:
                second = ranked[1]
                low, high = _difference(second["row"], first["row"], "steps", accuracy=False)
                spread = "" if low > 0 else " beyond the seeds' spread"
                finding += (
                    f". {first['label']} was {'' if low > 0 else 'not '}ahead of "
                    f"{second['label']}{spread}: 95% interval of {second['label']}'s steps "
                    f"minus {first['label']}'s "
                    f"{low:+,.0f} to {high:+,.0f} over {seeds} seeds"
                )
        finding += "."
        if seeds >= MIN_SEEDS_FOR_STD:
            finding += _pairs(ranked, "steps", accuracy=False, unit="steps")
    if missed:
        finding += f" Not reached by every seed: {_join(missed)}."
    for r in rows:
        r.pop("row")  # the table's row, for the intervals above; not for the template
    return {
        "target": f"{target * 100:.1f}",
        "dataset": table["dataset"].iloc[0],
        "rows": rows,
        "finding": finding.strip(),
    }


def fully_trained_context(table: pd.DataFrame, labels: dict) -> dict:
    rows = []
    for r in table.itertuples():
        rows.append(
            {
                "model": r.model,
                "label": labels.get(r.model, r.model),
                "learned": as_bool(r.learned),
                "top1": mean_std(r.test_top1_mean, _spread(r, r.test_top1_std)),
                "interval": _interval(r, "test_top1"),
                "val": mean_std(r.val_top1_mean, _spread(r, r.val_top1_std)),
                "tested_step": _num(r.tested_step_mean, _spread(r, r.tested_step_std)),
                "steps": _num(r.steps_mean, _spread(r, r.steps_std)),
                "epochs": _num(r.epochs_mean, _spread(r, r.epochs_std), 1),
                "stopped": f"{r.stopped_early} of {r.seeds}",
                "top1_mean": r.test_top1_mean,
                "predictions": _predictions(r),
                "row": r,
            }
        )
    ranked = sorted((r for r in rows if r["learned"]), key=lambda r: -r["top1_mean"])
    not_learned = [r["label"] for r in rows if not r["learned"]]
    parts = []
    stopped, runs = int(table["stopped_early"].sum()), int(table["seeds"].sum())
    # Only a run the stopping rule ended was trained as the plan asks: "fully trained" is
    # said of none while the step cap stopped any.
    lead = "Fully trained" if stopped == runs else "Where training ended"
    if len(ranked) == 1:
        parts.append(f"{lead}, {ranked[0]['label']} reached {ranked[0]['top1']}% test top-1.")
    elif ranked:
        best, second = ranked[0], ranked[1]
        others = "; ".join(f"{r['label']} {r['top1']}%" for r in ranked)
        if best["predictions"] and second["predictions"]:
            low, high = _difference(best["row"], second["row"], "test_top1", accuracy=True)
            spread = f"95% interval of the difference {low * 100:+.1f} to {high * 100:+.1f}"
            seeds = int(table["seeds"].min())
            if low > 0 and seeds >= MIN_SEEDS_FOR_STD:
                parts.append(
                    f"{lead}, {best['label']} was the most accurate ({others}; ahead of "
                    f"the next by {spread})."
                )
            elif low > 0:
                parts.append(
                    f"{lead}, {best['label']} was ahead of the next beyond the test "
                    f"set's noise ({others}; {spread}), not yet a finding with {seeds} seeds."
                )
            else:
                few = seeds < MIN_SEEDS_FOR_STD
                noise = "the test set's" if few else "the seeds' and the test set's"
                parts.append(
                    f"{lead}, the two most accurate were tied within {noise} noise "
                    f"({others}; first against second: {spread})."
                )
            if seeds >= MIN_SEEDS_FOR_STD and (
                pairs := _pairs(ranked, "test_top1", True, "points")
            ):
                parts.append(pairs.strip())
        else:
            parts.append(f"{lead}: {others} (no test-set size recorded, so no ranking).")
    if not_learned:
        parts.append(f"Did not learn (within the chance margin): {_join(not_learned)}.")
    cap = fmt_int(table["max_steps"].iloc[0])
    if stopped < runs:
        parts.append(
            f"Only {stopped} of {runs} runs stopped early; the others reached the {cap}-step "
            "cap before the stopping rule ended them, so their accuracy may still have been "
            "rising: a lower bound on the fully trained one."
        )
    else:
        parts.append(f"Every run stopped early, before the {cap}-step cap.")
    for r in rows:
        r.pop("row")  # the table's row, for the intervals above; not for the template
    return {
        "dataset": table["dataset"].iloc[0],
        "max_steps": fmt_int(table["max_steps"].iloc[0]),
        "rows": rows,
        "finding": " ".join(parts),
    }


def training_set_size_context(table: pd.DataFrame, labels: dict) -> dict:
    rows = []
    for r in table.itertuples():
        rows.append(
            {
                "label": labels.get(r.model, r.model),
                "model": r.model,
                "per_class": fmt_int(r.per_class),
                "train_images": fmt_int(r.train_images),
                "learned": as_bool(r.learned),
                "top1": mean_std(r.test_top1_mean, _spread(r, r.test_top1_std)),
                "interval": _interval(r, "test_top1"),
                "train_top1": mean_std(r.train_top1_mean, _spread(r, r.train_top1_std)),
                "gap": _num(r.gap_mean * 100, _spread(r, r.gap_std * 100), 1),
                "gap_interval": _interval(r, "gap"),
                "tested_step": _num(r.tested_step_mean, _spread(r, r.tested_step_std)),
                "top1_mean": r.test_top1_mean,
                "per_class_value": r.per_class,
            }
        )
    smallest = min(r["per_class_value"] for r in rows)
    largest = max(r["per_class_value"] for r in rows)
    at_small = sorted(
        (r for r in rows if r["per_class_value"] == smallest and r["learned"]),
        key=lambda r: -r["top1_mean"],
    )
    parts = []
    if at_small:
        best = at_small[0]
        parts.append(
            f"With {best['per_class']} training images per class, {best['label']} had the "
            f"highest mean test top-1, {best['top1']}%, {best['gap']} points below its training "
            "accuracy"
        )
        if len(at_small) > 1:
            parts[-1] += "; " + _join([f"{r['label']} {r['top1']}%" for r in at_small[1:]])
        parts[-1] += "."
    drops = []
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = {r["per_class_value"]: r for r in rows if r["model"] == model}
        if smallest not in mine or largest not in mine:
            continue
        lo, hi = mine[smallest], mine[largest]
        drops.append(
            f"{(lo['top1_mean'] - hi['top1_mean']) * 100:+.1f} points for {lo['label']} "
            f"({hi['top1']}% to {lo['top1']}%)"
        )
    if drops:
        parts.append(
            f"From {largest:,.0f} to {smallest:,.0f} images per class, test top-1 changed by "
            f"{_join(drops)}."
        )
    if apart := _apart_by_size(table, labels):
        parts.append(apart)
    not_learned = [f"{r['label']} at {r['per_class']} per class" for r in rows if not r["learned"]]
    if not_learned:
        parts.append(f"Did not learn (within the chance margin): {_join(not_learned)}.")
    return {"rows": rows, "finding": " ".join(parts)}


def _apart_by_size(table: pd.DataFrame, labels: dict) -> str:
    """At each training-set size, the pairs of networks that learned whose test top-1 differ
    beyond the 95% interval of the difference (three seeds or more); every other pair tied."""
    if int(table["seeds"].min()) < MIN_SEEDS_FOR_STD:
        return ""
    apart, pairs = [], 0
    for per_class, part in table.groupby("per_class"):
        ranked = part[part["learned"].map(as_bool)].sort_values("test_top1_mean")
        for a, b, diff, low, high in _differences(list(ranked.itertuples()), "test_top1", True):
            pairs += 1
            if low > 0:  # b above a: said as a below b, the interval of a minus b
                apart.append(
                    f"{labels.get(a.model, a.model)} below {labels.get(b.model, b.model)} "
                    f"on {fmt_int(per_class)} per class by {diff * 100:.1f} points "
                    f"({-high * 100:+.1f} to {-low * 100:+.1f})"
                )
    if not pairs:
        return ""
    if not apart:
        return "At every size, every pair is tied within the seeds' and the test set's noise."
    rest = "every other pair is tied" if len(apart) < pairs else "no pair is tied"
    return (
        f"Beyond the seeds' and the test set's noise (95% interval of the difference): "
        f"{'; '.join(apart)}; {rest}."
    )


def seed002_context(folder: Path, analyses: list[str], labels: dict, figure) -> dict:
    """The sections of the analyses an experiment lists; `figure(name)` embeds one figure."""
    builders = {
        "steps_to_accuracy": steps_context,
        "fully_trained": fully_trained_context,
        "training_set_size": training_set_size_context,
    }
    out, tables = {}, {}
    for name in analyses:
        tables[name] = pd.read_csv(Path(folder) / TABLES[name])
        out[name] = {**builders[name](tables[name], labels), "figure": figure(name)}
        _source(out[name], name, (Path(folder) / TABLES[name]).as_posix(), Path(folder).name)
    if {"fully_trained", "training_set_size"} <= set(out):
        out["fully_trained"]["finding"] += _underfit(tables["training_set_size"], labels)
    return out


# Below this training-split top-1 a network "fully trained" by early stopping had not fit
# its own training images: the stopping rule, not the network, set its accuracy.
UNDERFIT_BELOW = 0.9


def _underfit(table: pd.DataFrame, labels: dict) -> str:
    """(b)'s caveat from (c)'s table: the networks whose tested weights fit less than
    UNDERFIT_BELOW of their training images on the largest training set."""
    largest = table[table["per_class"] == table["per_class"].max()]
    low = largest[largest["train_top1_mean"] < UNDERFIT_BELOW]
    if low.empty:
        return ""
    parts = [
        f"{labels.get(r.model, r.model)} {r.train_top1_mean * 100:.1f}%" for r in low.itertuples()
    ]
    per_class = fmt_int(largest["per_class"].max())
    return (
        f" Fully trained means until this stopping rule ended the run, not until the network "
        f"fit its training images: training-split top-1 of the tested weights on {per_class} "
        f"images per class, {_join(parts)}."
    )


# Each table's cells: context key -> the table's columns it is read from.
SOURCE_FIELDS = {
    "steps_to_accuracy": {
        "reached": "reached, seeds",
        "steps": "steps_mean, steps_std",
        "steps_interval": "steps_low, steps_high",
        "images": "images_mean, images_std",
        "seconds": "seconds_mean, seconds_std",
    },
    "fully_trained": {
        "top1": "test_top1_mean, test_top1_std",
        "interval": "test_top1_low, test_top1_high",
        "val": "val_top1_mean, val_top1_std",
        "tested_step": "tested_step_mean, tested_step_std",
        "steps": "steps_mean, steps_std",
        "epochs": "epochs_mean, epochs_std",
        "stopped": "stopped_early, seeds",
    },
    "training_set_size": {
        "per_class": "per_class",
        "train_images": "train_images",
        "top1": "test_top1_mean, test_top1_std",
        "interval": "test_top1_low, test_top1_high",
        "train_top1": "train_top1_mean, train_top1_std",
        "gap": "gap_mean, gap_std",
        "gap_interval": "gap_low, gap_high",
        "tested_step": "tested_step_mean, tested_step_std",
    },
}


def _source(section: dict, name: str, table: str, experiment: str) -> None:
    def label(row, key):
        at = f" at {row['per_class']} per class" if "per_class_value" in row else ""
        return f"{experiment}: {name}: {row['model']}{at}: {key}"

    kinds = {"seconds": "runtime", "reached": "count", "stopped": "count"}
    sourced(section["rows"], SOURCE_FIELDS[name], table, label, kinds=kinds)
    for key, field in (("target", "target"), ("max_steps", "max_steps")):
        if key in section:
            section[key] = Number(section[key], f"{experiment}: {name}: {key}", table, field)
