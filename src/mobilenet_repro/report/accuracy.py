"""The report's trained-accuracy section and its scorecard, from the accuracy verdicts.csv.

The verdicts themselves are made by mobilenet_repro.analysis.accuracy (a pipeline rule); this module
only turns them into rows and sentences for the templates.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mobilenet_repro.analysis.accuracy import scorecard
from mobilenet_repro.analysis.noise import MIN_SEEDS_FOR_STD
from mobilenet_repro.formatting import source_name
from mobilenet_repro.report.numbers import Number, sourced

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


def _ours(row) -> str:
    if row["seeds"] == 1:
        return f"{row['ours_mean']:.2f} (one seed)"
    if row["seeds"] < MIN_SEEDS_FOR_STD:  # two seeds: a std of two values says little
        return f"{row['ours_mean']:.2f} (mean of {int(row['seeds'])} seeds)"
    return f"{row['ours_mean']:.2f} ± {row['ours_std']:.2f} ({int(row['seeds'])} seeds)"


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
        "noise_text": r["noise_text"],
        "budget_text": r["budget_text"],
        "network_text": r["network_text"],
        "data_text": r["data_text"],
        # Only where our per-epoch test curve was compared with theirs (an exact network).
        "curve_text": r["curve_text"] if isinstance(r.get("curve_text"), str) else "",
        # Their curve read at our epochs: the source publishes one, so the curves figure
        # draws it under our run (accuracy.plot_curves), whatever the network.
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
                "what": "consistency checks: Keras against itself, not reproductions",
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
