"""Tables and figures from run outputs, shared by the notebooks, the rules and the tests.

Everything here reads pipeline output files (metrics.json, history.csv, lr_schedule.csv) and
returns DataFrames or writes figures: the notebooks stay short and the logic stays testable.
"""

from __future__ import annotations

import pandas as pd

from mobilenet_repro.analysis.accuracy import validated_on_test
from mobilenet_repro.analysis.accuracy_figures import mark_published
from mobilenet_repro.files import read_json
from mobilenet_repro.runs import DEFAULT as DEFAULT_BACKEND
from mobilenet_repro.runs import Run
from mobilenet_repro.training.diagnosis import learned

RUNS_COLUMNS = [
    "experiment",
    "dataset",
    "model",
    "alpha",
    "resolution",
    "seed",
    "params",
    "mult_adds",
    "test_top1",
    "epochs",
    "train_seconds",
    "images_per_second",
]


def test_views(metrics: dict) -> tuple[str, float]:
    """(the tested variant's test-time views, e.g. "flip_translate", "" for one view; the top-1
    of one view of the same weights) of a run's metrics.json. Published accuracies are of one
    view of each test image unless they say otherwise, so comparisons use the second."""
    variant = metrics.get("tested_variant") or ""
    weights, _, views = variant.partition("_")
    single = (metrics.get("test_top1_variants") or {}).get(weights, metrics.get("test_top1"))
    return views, single


def runs_table(metrics_files) -> pd.DataFrame:
    """One row per run: the consolidated runs table (paths.RUNS_TABLE)."""
    rows = [read_json(p) for p in metrics_files]
    for row in rows:
        row["test_views"], row["test_top1_single"] = test_views(row)
    extra = ["arch", "val_top1", "trainable_params", "resumed", "train_images", "test_images"]
    extra += ["classes", "test_views", "test_top1_single"]
    extra.append("backend")  # Keras backend; runs from before backends existed: TensorFlow
    frame = pd.DataFrame(rows, columns=RUNS_COLUMNS + extra)
    frame["backend"] = frame["backend"].fillna(DEFAULT_BACKEND)
    return frame[RUNS_COLUMNS + extra]


def results_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample standard deviation over seeds of each (data set, model, backend)."""
    if "backend" not in runs:  # a runs table from before backends existed: TensorFlow's
        runs = runs.assign(backend=DEFAULT_BACKEND)
    keys = ["experiment", "dataset", "model", "backend", "arch", "alpha", "resolution"]
    grouped = runs.groupby(keys, sort=False)
    table = grouped.agg(
        seeds=("seed", "count"),
        params=("params", "first"),
        mult_adds=("mult_adds", "first"),
        test_top1_mean=("test_top1", "mean"),
        test_top1_std=("test_top1", "std"),
        train_seconds_mean=("train_seconds", "mean"),
        images_per_second_mean=("images_per_second", "mean"),
        classes=("classes", "first"),
    ).reset_index()
    table["learned"] = [
        learned(t, c) for t, c in zip(table["test_top1_mean"], table["classes"], strict=True)
    ]
    # One seed has no spread: its std stays empty (NaN), never a misleading 0.
    return table


def history_frame(history_files) -> pd.DataFrame:
    """All histories stacked, with the run's identity taken from its path."""
    frames = []
    for path in history_files:
        run = Run.from_path(path)
        frame = pd.read_csv(path)
        frame["seed"] = run.seed
        frame["model"] = run.model
        frame["dataset"] = run.dataset
        frame["backend"] = run.backend
        # The held-out split evaluated each epoch: the test split where nothing is held out.
        frame["val_split"] = "test" if validated_on_test(path) else "validation"
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def curve_label(model: str, backend: str, backends, names=None) -> str:
    """A model's name in a figure (its label where `names` has one, never a bare id where
    the configuration gives a label), with its backend where the figure shows several."""
    name = (names or {}).get(model, model)
    return f"{name} ({backend})" if len(set(backends)) > 1 else name


def plot_accuracy_vs(table: pd.DataFrame, x: str, xlabel: str, published=None, names=None):
    """Test top-1 (mean +- std over seeds) against model size or cost (seed 001, Fig. 4.1);
    red rings mark runs that did not learn (`learned`); dashed lines the published top-1
    accuracies the runs are compared with (`accuracy.compared_with`). `names`: data sets'
    titles and models' labels by id (the configuration's), for the legend and annotations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from mobilenet_repro.analysis.noise import MIN_SEEDS_FOR_STD
    from mobilenet_repro.figures import declutter

    fig, ax = plt.subplots(figsize=(6, 4))
    notes = []
    for dataset, part in table.groupby("dataset", sort=False):
        # A std of one or two seeds says little: error bars from three seeds only.
        spread = part["test_top1_std"].where(part["seeds"] >= MIN_SEEDS_FOR_STD) * 100
        ax.errorbar(
            part[x] / 1e6,
            part["test_top1_mean"] * 100,
            yerr=spread.fillna(0.0),
            fmt="o",
            capsize=3,
            label=(names or {}).get(dataset, dataset),
        )
        missed = part[~part["learned"].astype(bool)]
        ax.scatter(
            missed[x] / 1e6,
            missed["test_top1_mean"] * 100,
            s=110,
            facecolors="none",
            edgecolors="r",
            label="did not learn" if len(missed) else None,
        )
        for _, row in part.iterrows():
            notes.append(
                ax.annotate(
                    curve_label(row["model"], row["backend"], table["backend"], names),
                    (row[x] / 1e6, row["test_top1_mean"] * 100),
                    fontsize=7,
                    xytext=(4, 2),
                    textcoords="offset points",
                )
            )
    values = table[x][table[x] > 0]
    if len(values) and values.max() > 10 * values.min():  # a log axis only for a wide range
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    mark_published(ax, published)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test top-1 accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(title=None if published is not None and len(published) else "data set", fontsize=8)
    fig.tight_layout()
    declutter(fig, notes)
    return fig


def curve_axis(history: pd.DataFrame) -> str:
    """ "epoch", unless the curves' data sets differ in size: an epoch of 100 images and one of
    1,169 are not the same amount of training, so such curves share the optimizer step."""
    if "step" not in history or history["dataset"].nunique() < 2:
        return "epoch"
    ratio = (history["step"] / history["epoch"]).groupby(history["dataset"]).median()
    return "step" if ratio.max() > 1.01 * ratio.min() else "epoch"


def plot_learning_curves(history: pd.DataFrame, published=None, names=None):
    """Train and validation accuracy per epoch, mean over seeds (seed 001, Fig. 4.2), with
    the published top-1 accuracies the runs are compared with (`accuracy.compared_with`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    x = curve_axis(history)
    keys = ["dataset", "model", "backend", x]
    mean = history.groupby(keys, sort=False).mean(numeric_only=True)
    for (dataset, model, backend), part in mean.groupby(level=[0, 1, 2], sort=False):
        epochs = part.index.get_level_values(x)
        shown = (names or {}).get(dataset, dataset)
        label = f"{curve_label(model, backend, history['backend'], names)} ({shown})"
        (line,) = axes[0].plot(epochs, part["accuracy"] * 100, "--", alpha=0.7)
        axes[0].plot(epochs, part["val_accuracy"] * 100, "-", color=line.get_color(), label=label)
        axes[1].plot(epochs, part["loss"], "--", color=line.get_color(), alpha=0.7)
        axes[1].plot(epochs, part["val_loss"], "-", color=line.get_color())
    mark_published(axes[0], published)
    from matplotlib.ticker import MaxNLocator

    held_out = " or ".join(sorted(set(history.get("val_split", pd.Series(["validation"])))))
    axes[0].set_ylabel(f"accuracy (%) (dashed: train, solid: {held_out})")
    axes[1].set_ylabel(f"loss (dashed: train, solid: {held_out})")
    for ax in axes:
        ax.set_xlabel("optimizer step" if x == "step" else "epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.5
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_lr_schedule(schedule_files, names=None):
    """Learning rate per step as recorded by training (seed 000, Fig. 5)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    frames = [pd.read_csv(path) for path in schedule_files]
    # Training sets of several sizes give one schedule in steps but many in epochs (20,000
    # steps are 5,000 epochs of 100 images): then the axis is steps, which they share.
    lengths = {round(f["step"].iloc[-1] / f["epoch"].iloc[-1], 6) for f in frames if len(f) > 1}
    x = "epoch" if len(lengths) <= 1 else "step"
    seen = set()
    for path, frame in zip(schedule_files, frames, strict=True):
        key = tuple(frame["learning_rate"].round(12))
        if key in seen:  # every seed of a recipe has the same schedule
            continue
        seen.add(key)
        model = Run.from_path(path).model
        ax.plot(frame[x], frame["learning_rate"], label=(names or {}).get(model, model))
    ax.set_xlabel("epoch" if x == "epoch" else "optimizer step")
    ax.set_ylabel("learning rate")
    ax.grid(True, alpha=0.3)
    if len(seen) > 1:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
