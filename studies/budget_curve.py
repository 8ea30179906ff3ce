"""Test top-1 against training budget: where one CPU hour stands on the published curve.

    .venv/bin/python studies/budget_curve.py      # seconds; reads committed records only

Reads the committed run records under studies/results/ (each a folder with metrics.json and
history.csv) and chenyaofo's published per-epoch CIFAR-10 curves
(report/published_curves/), and draws test top-1 against
training images seen (log axis) -> studies/results/budget_curve.png and budget_curve.csv.

Points: every epoch of a record whose per-epoch evaluation is the test split (the
calibration run) and the final test top-1 of the others (their per-epoch curve is on a
held-out validation split, drawn dotted). chenyaofo's curves: one point per epoch of
50,000 images, their final (best-epoch) figures marked at 200 epochs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
# Folders under studies/results/ holding a run's metrics.json and history.csv.
RECORDS = (
    "cifar10_cpu_hour",  # the seed recipe, 15 epochs of 45,000 images
    "cifar10_calibration",  # chenyaofo's recipe, first 10 of 200 epochs
    "cifar10_cpu_hour/final/seed0",  # the final CPU-hour recipe, two seeds
    "cifar10_cpu_hour/final/seed1",
    "cifar10_15epoch/seed0",  # the 15-epoch recipe chosen by ablations, three seeds
    "cifar10_15epoch/seed1",
    "cifar10_15epoch/seed2",
    "cifar10_15epoch_second/seed0",  # the second 15-epoch recipe (flip_translate)
    "cifar10_15epoch_second/seed1",
    "cifar10_15epoch_second/seed2",
)
CURVES = ROOT / "report/published_curves/chenyaofo_cifar10_mobilenetv2.csv"
THEIR_TRAIN_IMAGES = 50_000  # all of CIFAR-10's training split, every epoch
WIDTHS = {"cifar10_mobilenetv2_x0_5": "x0.5", "cifar10_mobilenetv2_x1_0": "x1.0"}


def record_points(folder: Path, record: str) -> pd.DataFrame:
    """(images seen, top-1 %, split) per epoch of one record, plus its final test top-1."""
    metrics = json.loads((folder / "metrics.json").read_text())
    history = pd.read_csv(folder / "history.csv")
    images = metrics["train_images"]
    on_test = (metrics.get("recipe") or {}).get("validate_on") == "test"
    seen = history["images"] if "images" in history else history["epoch"] * images
    rows = pd.DataFrame(
        {
            "record": record,
            "images": seen.astype(int),
            "top1": history["val_accuracy"] * 100,
            "split": "test" if on_test else "validation",
        }
    )
    final = pd.DataFrame(
        [
            {
                "record": record,
                "images": int(seen.iloc[-1]),
                "top1": metrics["test_top1"] * 100,
                "split": "test (final)",
            }
        ]
    )
    return pd.concat([rows, final], ignore_index=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "studies/results/budget_curve.png"))
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = pd.read_csv(CURVES)
    ours = pd.concat(
        [
            record_points(ROOT / "studies/results" / r, r)
            for r in RECORDS
            if (ROOT / "studies/results" / r / "metrics.json").exists()
        ],
        ignore_index=True,
    )
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for variant, label in WIDTHS.items():
        c = curves[curves["variant"] == variant]
        ax.plot(
            c["epoch"] * THEIR_TRAIN_IMAGES,
            c["top1"],
            lw=1,
            alpha=0.8,
            label=f"chenyaofo {label}, per epoch (published)",
        )
        ax.plot(
            [200 * THEIR_TRAIN_IMAGES],
            [c["top1"].max()],
            "*",
            ms=9,
            color=ax.lines[-1].get_color(),
            label=f"chenyaofo {label}, best epoch {c['top1'].max():.2f}% (published)",
        )
    for record, group in ours.groupby("record", sort=False):
        per_epoch = group[group["split"] != "test (final)"]
        final = group[group["split"] == "test (final)"]
        style = "o-" if (per_epoch["split"] == "test").all() else "o:"
        line = ax.plot(
            per_epoch["images"],
            per_epoch["top1"],
            style,
            ms=3,
            label=f"ours: {record} ({per_epoch['split'].iloc[0]}, per epoch)",
        )
        ax.plot(
            final["images"],
            final["top1"],
            "D",
            ms=6,
            color=line[0].get_color(),
            label=f"ours: {record}, final test top-1",
        )
    ax.set_xscale("log")
    ax.set_xlabel("training images seen (log scale)")
    ax.set_ylabel("CIFAR-10 top-1 (%)")
    ax.grid(True, which="both", alpha=0.3)
    # Beside the axes: inside, the thirteen entries would hide the short runs' curves.
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    out = Path(args.out)
    fig.savefig(out, dpi=150, bbox_inches="tight")
    ours.to_csv(out.with_suffix(".csv"), index=False)
    print(f"wrote {out} and {out.with_suffix('.csv')}")


if __name__ == "__main__":
    main()
