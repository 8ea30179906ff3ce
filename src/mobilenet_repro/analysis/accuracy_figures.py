"""Figures of trained accuracies against published ones (analysis.accuracy's verdicts): the
published top-1 as a level on our figures, and our per-epoch curves over the published ones."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mobilenet_repro.analysis.accuracy import PUBLISHED_DIR, reference_rows, validated_on_test
from mobilenet_repro.runs import Run


def mark_published(ax, published: pd.DataFrame | None) -> None:
    """Each published top-1 in `published` (`compared_with`) as a dashed line across the axes,
    named in the legend: their networks and budgets are not ours (the verdicts say how), so
    the line is a level to read our points against, not a point of the same axes."""
    if published is None or published.empty:
        return
    styles = ((0, (5, 2)), (0, (1, 1.5)), (0, (5, 2, 1, 2)))
    shown = published.drop_duplicates(["reference", "label"])
    for i, (_, p) in enumerate(shown.iterrows()):
        ax.axhline(
            float(p["published"]),
            color="k",
            lw=1,
            ls=styles[i % len(styles)],
            label=f"published: {p['label']}, {p['published_text']}% ({p['source']})",
        )


def _histories(history_files) -> dict:
    """Each compared run's histories by the verdicts' `run` (experiment/data set/model): one
    (seed<n>, the split it validated on, its history.csv) per seed."""
    histories = {}
    for path in history_files:
        run = Run.from_path(path)
        key = f"{run.experiment}/{run.dataset}/{run.model}"  # the verdicts' `run` column
        split = "test split" if validated_on_test(path) else "validation split"
        histories.setdefault(key, []).append((f"seed{run.seed}", split, pd.read_csv(path)))
    return histories


def plot_curves(
    verdicts, published, history_files, png, svg, published_dir=PUBLISHED_DIR, names=None
):
    """Our per-epoch top-1 (test or validation split, as the run evaluated) over each
    published per-epoch curve it is compared with, and the published figure as a star.
    `names`: what the legend calls our data sets and models, by id.

    The x axis is logarithmic so that a 15-epoch run and a 200-epoch schedule both read.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mobilenet_repro.figures import save_figure

    refs = {r["reference"] + "/" + r["label"]: r for r in reference_rows(published, published_dir)}
    histories = _histories(history_files)
    rows = verdicts[verdicts["status"] == "compared"]
    with_curve = [
        refs[f"{r}/{lab}"]["curve"] is not None
        for r, lab in zip(rows["reference"], rows["label"], strict=True)
    ]
    rows = rows.loc[np.asarray(with_curve, dtype=bool)]  # a plain empty list would pick columns
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if rows.empty:
        ax.text(0.5, 0.5, "No run is compared with a published per-epoch curve", ha="center")
        ax.set_axis_off()
    for ref_key in dict.fromkeys(rows["reference"] + "/" + rows["label"]):
        ref = refs[ref_key]
        (line,) = ax.plot(
            list(ref["curve"]),
            list(ref["curve"].values()),
            lw=1.2,
            label=f"published: {ref['label']}",
        )
        # The figure the source reports (best or final epoch), at the curve's last epoch.
        ax.plot(
            [max(ref["curve"])],
            [ref["value"]],
            "*",
            ms=10,
            color=line.get_color(),
            markeredgecolor="k",
            label=f"published: {ref['label']}, {ref['text']}% as reported",
        )
    names = names or {}
    for run in dict.fromkeys(rows["run"]):
        _, dataset, model = run.split("/")
        shown = f"{names.get(model, model)} on {names.get(dataset, dataset)}"
        for seed, split, frame in histories.get(run, []):
            ax.plot(
                frame["epoch"],
                frame["val_accuracy"] * 100,
                "o-",
                ms=3,
                lw=1.5,
                label=f"ours: {shown}, {seed} ({split}, one view)",
            )
    if not rows.empty:
        from matplotlib.ticker import FuncFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 10, not 10^1
        ax.set_xlabel("epoch (log scale)")
        ax.set_ylabel("top-1 accuracy (%)")
        ax.set_ylim(bottom=max(0, ax.get_ylim()[0]))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    save_figure(fig, png, svg)
    plt.close(fig)
