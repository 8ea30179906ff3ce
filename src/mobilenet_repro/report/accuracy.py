"""The report's trained-accuracy section and its scorecard, from the accuracy verdicts.csv.

The verdicts themselves are made by mobilenet_repro.analysis.accuracy (a pipeline rule) as values
under stable keys; this module turns them into rows and sentences for the templates.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from mobilenet_repro.analysis.accuracy import (
    CURVE_CONFIDENCE,
    CURVE_MIN_EPOCHS,
    NOISE_STDS,
    scorecard,
)
from mobilenet_repro.analysis.noise import MIN_SEEDS_FOR_STD, interval_text
from mobilenet_repro.formatting import source_name
from mobilenet_repro.report.numbers import Number, sourced
from mobilenet_repro.report.render import noun

NOISE_LABELS = {
    "reproduced": "reproduced",
    "within_noise": "within run-to-run noise",
    "below": "below",
    "above": "above",
    "not_comparable": "not comparable as run",
}


ACCURACY_LABELS = {
    "published": "published top-1 (%)",
    "ours": "our top-1 (%)",
    "diff": "difference (points)",
    "noise": "noise verdict",
}


# The test-time views of a tested variant (training.evaluation's suffixes), in words.
VIEW_WORDS = {
    "flip": "its mirror image",
    "translate": "copies shifted by a pixel or more",
    "flip_translate": "its mirror image and shifted copies of both",
}


def views_in_words(views: list[str]) -> str:
    """Test-time views ("flip", "flip_translate", ...) in words; "" for none."""
    return " or ".join(VIEW_WORDS.get(v, v) for v in views)


def _views(row) -> str:
    """ "" for one view of each test image, else our tested variant's views in words."""
    views = _value(row, "test_views")
    return views_in_words(views.split("/")) if views else ""


def _ours(row) -> str:
    one_view = "; one view" if _views(row) else ""
    if row["seeds"] == 1:
        return f"{row['ours_mean']:.2f} (one seed{one_view})"
    if row["seeds"] < MIN_SEEDS_FOR_STD:  # two seeds: a std of two values says little
        return f"{row['ours_mean']:.2f} (mean of {int(row['seeds'])} seeds{one_view})"
    return f"{row['ours_mean']:.2f} ± {row['ours_std']:.2f} ({int(row['seeds'])} seeds{one_view})"


def views_words(row) -> str:
    """What our tested number adds to the one compared, as a sentence; "" for one view."""
    views = _views(row)
    if not views:
        return ""
    tested = row["ours_tested_mean"]
    gain = tested - row["ours_mean"]
    return (
        "compared on one view of each test image, as published; with each test image's "
        f"prediction averaged over {views} (the tested variant), our runs score "
        f"{tested:.2f}% ({gain:+.2f} points on the same weights)"
    )


def _recipe_text(recipe: dict | None) -> str:
    if not recipe:
        return "training recipe not stated"
    parts = [f"{recipe['epochs']} epochs"] if recipe.get("epochs") else []
    for key in ("optimizer", "schedule"):
        if recipe.get(key):
            parts.append(str(recipe[key]))
    if recipe.get("batch_size"):
        parts.append(f"batch {recipe['batch_size']}")
    if recipe.get("augmentation"):
        parts.append(f"augmentation: {recipe['augmentation']}")
    if recipe.get("label_smoothing"):
        parts.append(f"label smoothing: {recipe['label_smoothing']}")
    if recipe.get("epochs_note"):
        parts.append(f"({recipe['epochs_note']})")
    return "; ".join(parts)


# ------------------------------------------------------------------ the verdicts in words
# analysis.accuracy writes values under stable keys; the sentences are made here.
def _value(row, key):
    """A verdicts.csv cell, or None where it is empty (NaN from the CSV) or absent."""
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _list(row, key) -> list:
    value = _value(row, key)
    return json.loads(value) if value else []


def _ours_words(values: list[float], test_images: int | None) -> str:
    """Our top-1 as a reader should see it: every value for one or two seeds, mean +- std
    from three; with its test-set interval where the test-set size is known."""
    n = len(values)
    mean = sum(values) / n
    if n == 1:
        text = f"{mean:.2f}% (one seed"
    elif n < MIN_SEEDS_FOR_STD:
        text = f"{' and '.join(f'{v:.2f}%' for v in values)} (two seeds, mean {mean:.2f}%"
    else:
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
        text = f"{mean:.2f} ± {std:.2f}% ({n} seeds"
    if test_images:
        text += "; " + interval_text([v / 100 for v in values], int(test_images))
    return text + ")"


def _differences(row) -> str:
    return "; ".join(_list(row, "network_differences")) or "details not stated"


def noise_words(row) -> str:
    """The noise verdict of one verdicts.csv row as a sentence."""
    images = _value(row, "test_images")
    images = int(images) if images else None
    values = [float(v) for v in _list(row, "ours_values")]
    ours = _ours_words(values, images)
    diff, tolerance, kind = row["diff_points"], row["tolerance_points"], row["noise"]
    spread = (
        f"95% interval of the difference {row['diff_low']:+.2f} to {row['diff_high']:+.2f}"
        if images
        else ""
    )
    if kind == "not_comparable":
        why = {
            "network": f"a different network: {_differences(row)}",
            "budget": f"{_value(row, 'budget_fraction') or 0:.1%} of their training budget",
        }
        reasons = "; ".join(why[r] for r in _list(row, "not_comparable_reasons"))
        return f"not comparable as run ({reasons}): ours {ours}, {diff:+.2f} points"
    if kind == "reproduced":
        return f"reproduced: {ours}, {diff:+.2f} points, within the tolerance of ±{tolerance:g}"
    if kind == "within_noise" and images:
        return (
            f"tied within the test-set noise: {ours}, {diff:+.2f} points, {spread} "
            f"(tolerance ±{tolerance:g})"
        )
    if kind == "within_noise":
        return (
            f"within run-to-run noise: {ours}, {diff:+.2f} points, inside {NOISE_STDS:g} "
            f"standard deviations of our seeds (tolerance ±{tolerance:g})"
        )
    text = f"{kind} by {abs(diff):.2f} points: {ours}" + (f", {spread}" if spread else "")
    text += f" (tolerance ±{tolerance:g})"
    if len(values) == 1 and not images:
        text += "; one seed, so run-to-run noise is not measured"
    return text


def budget_words(row) -> str:
    """The share of their training ours had, and their curve at our epochs, as a sentence."""
    fraction = _value(row, "budget_fraction")
    if fraction is None:
        return "their training schedule is not stated, so the budgets are not compared"
    ours, theirs = int(row["our_epochs"]), int(row["their_epochs"])
    text = (
        f"{fraction:.1%} of their training budget ({ours} epochs of {int(row['our_images']):,} "
        f"images against {theirs} of {int(row['their_images']):,})"
    )
    if fraction >= 0.999:
        text = f"the full budget or more: {text}"
    at, mean = _value(row, "curve_at_our_epochs"), row["ours_mean"]
    if at is not None:
        diff, view = row["curve_diff_points"], " (one view)" if _views(row) else ""
        text += (
            f"; their published curve reads {at:.2f}% after {ours} epochs, {abs(diff):.2f} "
            f"points {'below' if diff > 0 else 'above'} our {mean:.2f}%{view} (their learning "
            f"rate was still high there: their schedule runs {theirs} epochs)"
        )
        reached = _value(row, "curve_reaches_ours_at")
        text += (
            f"; their curve first reaches our {mean:.2f}% at epoch {int(reached)}"
            if reached is not None
            else f"; their curve never reaches our {mean:.2f}%"
        )
    elif _value(row, "curve_last_epoch") is not None:
        text += f"; their curve stops at epoch {int(row['curve_last_epoch'])}, before our {ours}"
    return text


def network_words(row) -> str:
    if row["relation"] == "exact":
        return "exact: the published network is the one we train"
    return f"family: a relative of our network, not the same one ({_differences(row)})"


def data_words(row) -> str:
    published = source_name(row["dataset_published"])
    if row["data_relation"] == "published":
        return f"the published data set ({published})"
    note = _value(row, "data_note")
    return f"a copy standing in for {published}: {row['data_title']}" + (
        f"; {note}" if note else ""
    )


def curve_words(row) -> str:
    """Our per-epoch curve against theirs as a sentence; empty where it was not compared."""
    kind = _value(row, "curve_verdict")
    if kind is None:
        return ""
    if kind == "no_verdict":
        epochs = int(row["curve_epochs"])
        return (
            f"{epochs} {noun(epochs, 'epoch')} in common with the published curve; "
            f"a verdict needs at least {CURVE_MIN_EPOCHS}"
        )
    words = {
        "reproduced": "reproduced",
        "not_reproduced": "not reproduced",
        "inconclusive": "inconclusive (neither within nor beyond the tolerance)",
    }[kind]
    return (
        f"{words} over epochs {int(row['curve_from'])}-{int(row['curve_to'])}: ours minus "
        f"theirs {row['curve_mean_diff']:+.2f} points on average, {CURVE_CONFIDENCE:.0%} "
        f"interval {row['curve_low']:+.2f} to {row['curve_high']:+.2f} over "
        f"{int(row['curve_epochs'])} epochs (tolerance ±{row['curve_tolerance_points']:g})"
    )


def _verdict_row(r, run_name) -> dict:
    """One published result of a table: with our runs and the verdicts, when compared."""
    if r["status"] != "compared":
        return {"label": r["label"], "published": r["published_text"], "compared": False}
    return {
        "label": r["label"],
        "published": r["published_text"],
        "compared": True,
        "run": r["run"],
        "run_name": run_name(r["run"]),
        "ours": _ours(r),
        "diff": f"{r['diff_points']:+.2f}",
        "noise": NOISE_LABELS[r["noise"]],
        "noise_text": noise_words(r),
        "budget_text": budget_words(r),
        "network_text": network_words(r),
        "views_text": views_words(r),
        "data_text": data_words(r),
        # Only where our per-epoch test curve was compared with theirs (an exact network).
        "curve_text": curve_words(r),
        # Their curve read at our epochs: the source publishes one, so the curves figure
        # draws it under our run (accuracy_figures.plot_curves), whatever the network.
        "has_curve": not pd.isna(r.get("curve_at_our_epochs", float("nan"))),
    }


def _scorecard(card: dict, verdicts_path, arch_verdicts_path) -> dict:
    """The scorecard's counts as Numbers of the verdicts they count."""
    return {
        what: {
            key: Number(
                n,
                f"scorecard: {what}: {key.replace('_', ' ')}",
                Path(verdicts_path if what == "accuracy" else arch_verdicts_path).as_posix(),
                "noise, status" if what == "accuracy" else "verdict",
                kind="count",
            )
            for key, n in counts.items()
        }
        for what, counts in card.items()
    }


def accuracy_context(verdicts_path, arch_verdicts_path, published: dict, run_name=None) -> dict:
    """Tables of published top-1 accuracies with our runs and verdicts, and the scorecard.

    `run_name(run)` names the verdicts' runs (experiment/data set/model) in the text; the
    numbers' labels keep the ids, stable between builds."""
    run_name = run_name or str
    verdicts = pd.read_csv(verdicts_path, keep_default_na=False, na_values=[""])
    arch = None
    if arch_verdicts_path and Path(arch_verdicts_path).exists():
        arch = pd.read_csv(arch_verdicts_path, keep_default_na=False)
    sources = (published or {}).get("sources", {})
    trained = {t["id"]: t for t in (published or {}).get("trained", [])}
    tables = {t["id"]: t for t in (published or {}).get("tables", [])}
    groups = []
    for ref_id, frame in verdicts.groupby("reference", sort=False):
        ref = trained.get(ref_id) or tables.get(ref_id) or {}
        source = sources.get(ref.get("source"), {})
        rows = [_verdict_row(r, run_name) for _, r in frame.iterrows()]
        sourced(
            rows,
            {
                "published": "published_text",
                "ours": "ours_mean, ours_std, seeds",
                "diff": "diff_points",
                "noise": "noise",
            },
            Path(verdicts_path).as_posix(),
            label=lambda r, key, ref=ref_id: (
                f"{ref}: {r['label']}"
                + (f" against {r['run']}" if r["compared"] and key != "published" else "")
                + f": {ACCURACY_LABELS[key]}"
            ),
            kinds={"published": "published", "noise": "verdict"},
        )
        groups.append(
            {
                "id": ref_id,
                "caption": ref.get("caption", ref_id),
                "source": source.get("title", ref.get("source", "")),
                "url": source.get("url", ""),
                "dataset": source_name(frame["dataset_published"].iloc[0]),
                "metric": ref.get("metric", ""),
                "network": ref.get("network", ""),
                "recipe": _recipe_text(ref.get("recipe")),
                "tolerance": f"{frame['tolerance_points'].iloc[0]:g}",
                "rows": rows,
                "n_compared": sum(r["compared"] for r in rows),
            }
        )
    card = _scorecard(scorecard(arch, verdicts), verdicts_path, arch_verdicts_path)
    return {
        "groups": [g for g in groups if g["n_compared"]]
        + [g for g in groups if not g["n_compared"]],
        "scorecard": [
            {"what": "architecture counts (parameters, mult-adds, ratios)", **card["architecture"]}
            if "architecture" in card
            else None,
            {
                "what": "published counts of Keras models against ours: consistency, not "
                "reproductions",
                **card["consistency"],
            }
            if "consistency" in card
            else None,
            {"what": "trained top-1 accuracies", **card["accuracy"]},
        ],
        "n_compared": card["accuracy"]["compared"],
        # The curves figure only where a run is compared with a published per-epoch curve.
        "has_curves": any(r.get("has_curve") for g in groups for r in g["rows"]),
        "n_published": card["accuracy"]["published"],
    }
