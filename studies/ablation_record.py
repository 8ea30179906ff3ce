"""The CIFAR-10 15-epoch recipe's ablations: each arm against the reference arm, on validation.

    .venv/bin/python studies/ablation_record.py [RECORD_DIR]   # seconds; reads committed records

RECORD_DIR (default studies/results/cifar10_ablation) holds one folder per arm (an experiment of
config/cifar10-ablation.yaml), each with seed<k>/metrics.json and seed<k>/history.csv. Choices
are read from the last epoch's validation top-1 (the held-out split of the training images),
never from the test split; each run's test top-1 is shown beside it for the record only. Writes
RECORD_DIR/summary.json and RECORD_DIR/table.md: per arm each seed's validation top-1 with its
95% Wilson interval, the arm's mean, and its difference from the reference arm (or, for the
second stage's arms, from the arm in AGAINST) with the 95% interval of the difference (the
validation images counted once; the seeds' spread only from three seeds, so with two the
difference is the validation set's noise alone and not a finding).
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from mobilenet_repro.analysis.noise import (  # noqa: E402
    MIN_SEEDS_FOR_STD,
    means_difference,
    seeds_interval,
    wilson,
)

RECORD = ROOT / "studies/results/cifar10_ablation"
REFERENCE = "abl5_rmsprop"  # the CPU-hour record's recipe at the ablations' budget
# The second stage's arms each change one setting of the SGD arm (the 15-epoch recipe's
# optimizer), so they are read against it, not against the reference.
AGAINST = {"abl5_sgd_bs64": "abl5_sgd", "abl5_sgd_translate2": "abl5_sgd"}


def _validation(metrics: dict, history: Path) -> float:
    """The delivered weights' validation top-1: after the batch-norm statistics were
    recomputed where they were (the weight-average arm: the averaged weights, whose history.csv
    rows are the raw weights' during training), else the last epoch's."""
    if bn := metrics.get("precise_bn"):
        return float(bn["val_top1_after"])
    rows = list(csv.DictReader(history.open()))
    return float(rows[-1]["val_accuracy"])


def read_arm(folder: Path) -> list[dict]:
    runs = []
    for metrics_file in sorted(folder.glob("seed*/metrics.json")):
        m = json.loads(metrics_file.read_text())
        val = _validation(m, metrics_file.parent / "history.csv")
        n_val = int(m["val_images"])
        low, high = wilson(val * n_val, n_val)
        runs.append(
            {
                "seed": m["seed"],
                "val_top1": val,
                "val_interval": [low, high],
                "val_images": n_val,
                "test_top1": m["test_top1"],
                "test_top1_variants": m.get("test_top1_variants", {}),
                "epochs": m.get("epochs"),
                "train_seconds": m["train_seconds"],
            }
        )
    return runs


def summarise(record: Path) -> dict:
    arms = {f.name: read_arm(f) for f in sorted(record.iterdir()) if f.is_dir()}
    arms = {name: runs for name, runs in arms.items() if runs}
    # The reference arm first: every other arm is read against it or against AGAINST's arm.
    arms = dict(sorted(arms.items(), key=lambda item: item[0] != REFERENCE))
    out = {}
    for name, runs in arms.items():
        values = [r["val_top1"] for r in runs]
        entry = {"runs": runs, "val_mean": sum(values) / len(values), "seeds": len(runs)}
        against = AGAINST.get(name, REFERENCE)
        if (reference := arms.get(against)) and name != REFERENCE:
            ref = [r["val_top1"] for r in reference]
            low, high = means_difference(
                values, runs[0]["val_images"], ref, reference[0]["val_images"]
            )
            entry["against"] = against
            entry["difference"] = entry["val_mean"] - sum(ref) / len(ref)
            entry["interval"] = [low, high]
            seeds = min(len(runs), len(reference))
            if low <= 0 <= high:
                entry["finding"] = "tied within the validation set's noise"
            elif seeds < MIN_SEEDS_FOR_STD:
                entry["finding"] = "beyond the validation set's noise; fewer than three seeds"
            else:
                entry["finding"] = "better" if low > 0 else "worse"
        out[name] = entry
    return out


def table(summary: dict) -> str:
    lines = [
        "| arm | seed | val top-1 (95% interval) | test top-1 (not used to choose) | "
        "difference from the reference arm, or the arm named (95% interval) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, arm in summary.items():
        for r in arm["runs"]:
            low, high = r["val_interval"]
            lines.append(
                f"| {name} | {r['seed']} | {r['val_top1'] * 100:.2f}% ({low * 100:.2f}-"
                f"{high * 100:.2f}%) | {r['test_top1'] * 100:.2f}% | |"
            )
        diff = ""
        if "difference" in arm:
            low, high = arm["interval"]
            diff = (
                f"{arm['difference'] * 100:+.2f} points ({low * 100:+.2f} to {high * 100:+.2f}); "
                f"{arm['finding']}"
            )
            if arm["against"] != REFERENCE:
                diff = f"against {arm['against']}: {diff}"
        lines.append(
            f"| {name} | mean of {arm['seeds']} | {arm['val_mean'] * 100:.2f}% | | {diff} |"
        )
    return "\n".join(lines) + "\n"


VIEWS = ("plain", "flip", "translate", "flip_translate")


def views_table(record: Path) -> str:
    """Test-time views on the same weights (studies/tta_record.py's tta.json of each run): the
    test split, used here only to measure a test-time technique, never to choose a recipe."""
    lines = [
        "| arm | seed | plain | flip | 1-pixel translate | flip + translate |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    gains = {v: [] for v in VIEWS[1:]}
    for path in sorted(record.glob("*/seed*/tta.json")):
        top1 = json.loads(path.read_text())["test_top1"]
        cells = [f"{top1['plain'] * 100:.2f}%"] + [
            f"{top1[v] * 100:.2f}% ({(top1[v] - top1['plain']) * 100:+.2f})" for v in VIEWS[1:]
        ]
        for v in VIEWS[1:]:
            gains[v].append(top1[v] - top1["plain"])
        lines.append(
            f"| {path.parent.parent.name} | {path.parent.name[4:]} | " + " | ".join(cells) + " |"
        )
    if len(lines) == 2:
        return ""
    lines.append(
        f"| mean gain over {len(gains['flip'])} runs (95% t-interval) | | | "
        + " | ".join(_gain_cell(values) for values in gains.values())
        + " |"
    )
    return "\n".join(lines) + "\n"


def _gain_cell(values: list[float]) -> str:
    """The mean gain of a view over runs, with the runs' Student's t interval (each gain is
    measured on one run's own weights, so the test images' noise is in the runs' spread)."""
    mean = statistics.fmean(values)
    if len(values) < MIN_SEEDS_FOR_STD:
        return f"{mean * 100:+.2f} (fewer than three runs: no interval)"
    low, high = seeds_interval(mean, statistics.stdev(values), len(values))
    return f"{mean * 100:+.2f} ({low * 100:+.2f} to {high * 100:+.2f})"


def average_table(record: Path) -> str:
    """The weight average against the raw weights of the same run, each with batch-norm
    statistics of its own (metrics.json test_top1_variants "ema*" and "raw*"): the test split,
    a measurement of one technique on the same run, never a choice."""
    lines = [
        "| arm | seed | raw weights | averaged weights | averaged, flipped too |",
        "| --- | --- | --- | --- | --- |",
    ]
    for path in sorted(record.glob("*/seed*/metrics.json")):
        metrics = json.loads(path.read_text())
        variants = metrics.get("test_top1_variants", {})
        # Runs without an average list "ema" equal to "raw" where their code (before f314536)
        # measured the raw weights twice: only a run with an average is one of this table's.
        if not metrics.get("recipe", {}).get("ema_decay") or "ema" not in variants:
            continue
        raw, ema = variants["raw"], variants["ema"]
        flip = variants.get("ema_flip")
        flip_cell = (
            f"{flip * 100:.2f}% ({(flip - variants['raw_flip']) * 100:+.2f} against raw flipped)"
            if flip is not None
            else ""
        )
        lines.append(
            f"| {path.parent.parent.name} | {path.parent.name[4:]} | {raw * 100:.2f}% | "
            f"{ema * 100:.2f}% ({(ema - raw) * 100:+.2f}) | {flip_cell} |"
        )
    return "\n".join(lines) + "\n" if len(lines) > 2 else ""


def statistics_table(record: Path) -> str:
    """Batch-norm statistics on the same weights (studies/precise_bn_record.py's
    precise_bn.json of each run): validation top-1 with the statistics training left, and
    recomputed on unaugmented and on augmented training batches."""
    lines = [
        "| arm | seed | batches | as trained | recomputed, unaugmented | recomputed, augmented |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for path in sorted(record.glob("*/seed*/precise_bn.json")):
        study = json.loads(path.read_text())
        val = {k: v["val"] for k, v in study["top1"].items()}
        lines.append(
            f"| {path.parent.parent.name} | {path.parent.name[4:]} | {study['batches']} | "
            f"{val['saved'] * 100:.2f}% | "
            + " | ".join(
                f"{val[k] * 100:.2f}% ({(val[k] - val['saved']) * 100:+.2f})"
                for k in ("unaugmented", "augmented")
            )
            + " |"
        )
    return "\n".join(lines) + "\n" if len(lines) > 2 else ""


def main(record: Path = RECORD) -> dict:
    summary = summarise(record)
    (record / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    text = table(summary)
    if views := views_table(record):
        text += (
            "\nTest-time views on the same weights (test split; points against plain):\n\n" + views
        )
    if average := average_table(record):
        text += (
            "\nThe weight average on the same run (test split; batch-norm statistics recomputed "
            "for each; points against the raw weights):\n\n" + average
        )
    if bn := statistics_table(record):
        text += (
            "\nBatch-norm statistics recomputed on training batches, on the same weights "
            "(validation split; points against the statistics as trained):\n\n" + bn
        )
    (record / "table.md").write_text(text)
    print(text)
    return summary


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else RECORD)
