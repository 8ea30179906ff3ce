"""Seed 002's three comparisons of MobileNetV2 with VGG and Inception V3 (its slides' plan).

(a) steps_to_accuracy: optimizer steps, training images and seconds until validation accuracy
    first reaches a common target, on the experiment's largest training set;
(b) fully_trained: test accuracy once early stopping ends training, on the largest set;
(c) training_set_size: test accuracy and the train-test gap against training images per class.

Every number comes from the runs' metrics.json and history.csv; a table has one row per
model (per model and training-set size for c), mean and sample std over seeds, and from three
seeds the 95% interval of the mean (`*_low`, `*_high`: Student's t over seeds, plus the test
set's noise for an accuracy; `analysis.noise`). A run within
`training.diagnosis.CHANCE_MARGIN` of chance is marked as not learned, never ranked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mobilenet_repro.analysis.noise import (
    MIN_SEEDS_FOR_STD,
    combined_interval,
    mean_interval,
    seeds_interval,
)
from mobilenet_repro.files import read_json
from mobilenet_repro.training.diagnosis import learned

ANALYSES = ("steps_to_accuracy", "fully_trained", "training_set_size")
TABLES = {name: f"{name}.csv" for name in ANALYSES}


def load_runs(metrics_files) -> pd.DataFrame:
    """One row per run with what the comparisons need, and the path of its history.csv."""
    rows = []
    for path in metrics_files:
        m = read_json(path)
        rows.append(
            {
                **{k: m[k] for k in ("dataset", "model", "seed", "classes", "train_images")},
                **{k: m[k] for k in ("test_top1", "val_top1", "train_top1", "steps")},
                **{k: m[k] for k in ("tested_step", "stopped_early", "train_seconds")},
                "max_steps": m["max_steps"],
                "epochs": m["epochs"],
                "test_images": m.get("test_images"),
                "history": str(Path(path).with_name("history.csv")),
            }
        )
    runs = pd.DataFrame(rows)
    runs["per_class"] = runs["train_images"] / runs["classes"]
    runs["learned"] = [
        learned(t, c) for t, c in zip(runs["test_top1"], runs["classes"], strict=True)
    ]
    return runs


def largest_dataset(runs: pd.DataFrame) -> str:
    """The data set with the most training images: where (a) and (b) compare the models."""
    return runs.groupby("dataset")["train_images"].max().idxmax()


def target_accuracy(runs: pd.DataFrame, configured: float | None) -> float:
    """The configured target, or the lowest best validation accuracy among the runs compared
    that learned (so that every such run reaches it; NaN when none did)."""
    if configured is not None:
        return float(configured)
    best = [pd.read_csv(r.history)["val_accuracy"].max() for r in runs.itertuples() if r.learned]
    return float(min(best)) if best else float("nan")


def _first_reach(history: pd.DataFrame, target: float) -> dict:
    hit = history.index[history["val_accuracy"] >= target]
    if len(hit) == 0:
        return {"reached": False, "steps": np.nan, "images": np.nan, "seconds": np.nan}
    i = hit[0]
    return {
        "reached": True,
        "steps": history.at[i, "step"],
        "images": history.at[i, "images"],
        "seconds": history["seconds"].iloc[: i + 1].sum(),
    }


def _mean_std(frame: pd.DataFrame, column: str) -> dict:
    return {f"{column}_mean": frame[column].mean(), f"{column}_std": frame[column].std()}


def _accuracy_interval(frame: pd.DataFrame, column: str, images) -> dict:
    """The 95% interval of a mean test top-1 over three or more seeds (NaN below)."""
    values = list(frame[column])
    if len(values) < MIN_SEEDS_FOR_STD or not images or images != images:
        return {f"{column}_low": np.nan, f"{column}_high": np.nan}
    low, high = mean_interval(values, int(images))
    # Cut to what an accuracy can be: three seeds' t-factor can reach past 0% or 100%.
    return {f"{column}_low": max(low, 0.0), f"{column}_high": min(high, 1.0)}


def _gap_interval(frame: pd.DataFrame, images) -> dict:
    """The 95% interval of the mean train-test gap: the seeds' spread (Student's t) plus the
    test top-1's noise over the test images (the training split is measured whole)."""
    if len(frame) < MIN_SEEDS_FOR_STD or not images or images != images:
        return {"gap_low": np.nan, "gap_high": np.nan}
    term = (1, frame["gap"].mean(), frame["gap"].std(), len(frame))
    low, high = combined_interval([(*term, frame["test_top1"].mean(), int(images))])
    return {"gap_low": max(low, -1.0), "gap_high": min(high, 1.0)}  # a gap lies in [-1, 1]


def steps_to_accuracy(runs: pd.DataFrame, target: float) -> pd.DataFrame:
    """Per model: runs reaching `target`, and steps, images and seconds to it (mean, std)."""
    histories = {r.history: pd.read_csv(r.history) for r in runs.itertuples()}
    per_run = pd.DataFrame(
        [
            {"model": r.model, "seed": r.seed, **_first_reach(histories[r.history], target)}
            for r in runs.itertuples()
        ]
    )
    # Steps are known at validations only: their spacing bounds each run's count.
    resolution = float(min(h["step"].diff().min() for h in histories.values()))
    rows = []
    for model, part in per_run.groupby("model", sort=False):
        hit = part[part["reached"]]
        rows.append(
            {
                "model": model,
                "target": target,
                "seeds": len(part),
                "reached": len(hit),
                "step_resolution": resolution,
                **_mean_std(hit, "steps"),
                **dict(
                    zip(
                        ("steps_low", "steps_high"),
                        seeds_interval(
                            hit["steps"].mean(), hit["steps"].std(), len(hit), resolution
                        ),
                        strict=True,
                    )
                ),
                **_mean_std(hit, "images"),
                **_mean_std(hit, "seconds"),
            }
        )
    return pd.DataFrame(rows)


def fully_trained(runs: pd.DataFrame) -> pd.DataFrame:
    """Per model: test accuracy at the best validation, and how long training went on."""
    rows = []
    for model, part in runs.groupby("model", sort=False):
        rows.append(
            {
                "model": model,
                "seeds": len(part),
                "classes": int(part["classes"].iloc[0]),
                **_mean_std(part, "test_top1"),
                **_accuracy_interval(part, "test_top1", part["test_images"].iloc[0]),
                **_mean_std(part, "val_top1"),
                **_mean_std(part, "tested_step"),
                **_mean_std(part, "steps"),
                **_mean_std(part, "epochs"),
                **_mean_std(part, "train_seconds"),
                "stopped_early": int(part["stopped_early"].sum()),
                "max_steps": int(part["max_steps"].iloc[0]),
                "test_images": part["test_images"].iloc[0],
                "learned": learned(part["test_top1"].mean(), int(part["classes"].iloc[0])),
            }
        )
    return pd.DataFrame(rows)


def training_set_size(runs: pd.DataFrame) -> pd.DataFrame:
    """Per model and training-set size: test accuracy and the train-test gap (mean, std)."""
    runs = runs.assign(gap=runs["train_top1"] - runs["test_top1"])
    rows = []
    for (model, dataset), part in runs.groupby(["model", "dataset"], sort=False):
        rows.append(
            {
                "model": model,
                "dataset": dataset,
                "per_class": float(part["per_class"].iloc[0]),
                "train_images": int(part["train_images"].iloc[0]),
                "seeds": len(part),
                "classes": int(part["classes"].iloc[0]),
                **_mean_std(part, "test_top1"),
                **_accuracy_interval(part, "test_top1", part["test_images"].iloc[0]),
                **_mean_std(part, "train_top1"),
                **_mean_std(part, "gap"),
                **_gap_interval(part, part["test_images"].iloc[0]),
                "test_images": part["test_images"].iloc[0],
                **_mean_std(part, "tested_step"),
                "learned": learned(part["test_top1"].mean(), int(part["classes"].iloc[0])),
            }
        )
    return pd.DataFrame(rows).sort_values(["model", "per_class"], kind="stable")


def compare(metrics_files, configured_target: float | None = None) -> dict[str, pd.DataFrame]:
    """The three tables of one experiment, from its runs' files."""
    runs = load_runs(metrics_files)
    largest = runs[runs["dataset"] == largest_dataset(runs)]
    return {
        "steps_to_accuracy": steps_to_accuracy(
            largest, target_accuracy(largest, configured_target)
        ).assign(dataset=largest["dataset"].iloc[0]),
        "fully_trained": fully_trained(largest).assign(dataset=largest["dataset"].iloc[0]),
        "training_set_size": training_set_size(runs),
    }


# ----------------------------------------------------------------------------- figures
def _axes(ncols=1, width=6.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(width, 3.8), squeeze=False)


def _error_bars(table: pd.DataFrame, column: str) -> pd.Series | None:
    """A std as error bars (points) from three seeds only: two seeds measure no spread, and
    the report's captions name error bars only then (None: no bars, not even their caps)."""
    spread = table[column].where(table["seeds"] >= MIN_SEEDS_FOR_STD) * 100
    return None if spread.isna().all() else spread.fillna(0.0)


def _colours(models) -> dict:
    """One colour per model, the same in all three figures (by sorted model id)."""
    return {m: f"C{i}" for i, m in enumerate(sorted(set(models)))}


def plot_steps_to_accuracy(table: pd.DataFrame, histories: pd.DataFrame, labels: dict):
    """Validation accuracy against optimizer steps (mean over seeds), the target dashed."""
    fig, ((ax,),) = _axes()
    target = float(table["target"].iloc[0])
    colours = _colours(histories["model"])
    for model, part in histories.groupby("model", sort=False):
        mean = part.groupby("step")["val_accuracy"].mean()
        ax.plot(mean.index, mean * 100, label=labels.get(model, model), color=colours[model])
    ax.axhline(target * 100, color="k", ls="--", lw=1, label=f"target {target * 100:.1f}%")
    ax.set_xlabel("optimizer steps")
    ax.set_ylabel("validation top-1 (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_fully_trained(table: pd.DataFrame, labels: dict):
    """Test top-1 at early stopping per model (mean +- std), chance dashed."""
    import textwrap

    fig, ((ax,),) = _axes()
    # Long model labels wrap onto several lines so that neighbours never overlap.
    names = ["\n".join(textwrap.wrap(labels.get(m, m), 16)) for m in table["model"]]
    colours = _colours(table["model"])
    colors = [
        colours[m] if ok else "0.7" for m, ok in zip(table["model"], table["learned"], strict=True)
    ]
    ax.bar(
        names,
        table["test_top1_mean"] * 100,
        yerr=_error_bars(table, "test_top1_std"),
        capsize=4,
        color=colors,
    )
    chance = 100 / table["classes"].iloc[0]
    ax.axhline(chance, color="k", ls=":", lw=1, label=f"chance ({chance:.0f}%)")
    ax.set_ylabel("test top-1 (%)")
    ax.set_ylim(0, 105)  # the whole scale: runs near chance still read against 100%
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def plot_training_set_size(table: pd.DataFrame, labels: dict):
    """Test top-1 and train-test gap against training images per class (log scale)."""
    fig, ((left, right),) = _axes(2, 10.0)
    import textwrap

    from matplotlib.ticker import FuncFormatter

    rings = False  # the red rings' legend entry, once
    colours = _colours(table["model"])
    for model, part in table.groupby("model", sort=False):
        label = "\n".join(textwrap.wrap(labels.get(model, model), 28))
        for ax, col in ((left, "test_top1"), (right, "gap")):
            ax.errorbar(
                part["per_class"],
                part[f"{col}_mean"] * 100,
                yerr=_error_bars(part, f"{col}_std"),
                marker="o",
                capsize=3,
                label=label,
                color=colours[model],
            )
        for ax, col in ((left, "test_top1_mean"), (right, "gap_mean")):
            missed = part[~part["learned"].astype(bool)]
            ax.scatter(
                missed["per_class"],
                missed[col] * 100,
                s=90,
                facecolors="none",
                edgecolors="r",
                label="did not learn" if len(missed) and not rings else None,
            )
            rings = rings or bool(len(missed))
    chance = 100 / table["classes"].iloc[0]
    left.axhline(chance, color="k", ls=":", lw=1, label=f"chance ({chance:.0f}%)")
    left.set_ylabel("test top-1 (%)")
    right.set_ylabel("train top-1 minus test top-1 (points)")
    left.set_ylim(0, 105)  # the whole scale: runs near chance still read against 100%
    for ax in (left, right):
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("training images per class")
        ax.grid(True, alpha=0.3)
    # The legend below the panels: long model names never cover an axis label.
    fig.legend(*left.get_legend_handles_labels(), fontsize=7, loc="lower center", ncol=3,
               bbox_to_anchor=(0.5, 0.0), frameon=False)  # fmt: skip
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    return fig
