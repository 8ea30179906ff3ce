"""The CIFAR-10 15-epoch record's numbers: each seed of config/cifar10-15epoch.yaml and their mean.

    .venv/bin/python studies/epoch15_record.py [RECORD_DIR]   # seconds; reads committed records

RECORD_DIR (default studies/results/cifar10_15epoch) holds seed<k>/metrics.json, one per
finished run. Writes RECORD_DIR/summary.json and RECORD_DIR/table.md: per seed the tested
top-1 (flipped and translated test images) with its 95% Wilson interval over the 10,000 test
images, every test-time view of the same weights, the epochs, training time, images/s and the
CPU; then the mean of the seeds with the 95% interval of the mean (Student's t over seeds plus
the test set's noise, the test images counted once: every seed predicts the same ones) from
three seeds, and the seeds' values alone below three.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from mobilenet_repro.analysis.noise import MIN_SEEDS_FOR_STD, mean_interval, wilson  # noqa: E402

RECORD = ROOT / "studies/results/cifar10_15epoch"
GOAL = 0.88  # issue 35: the mean of 3 seeds at 88% or more (stretch 90%)
VIEWS = {
    "raw": "plain",
    "raw_flip": "flip",
    "raw_translate": "1-pixel translate",
    "raw_flip_translate": "flip + translate",
}


def read_seeds(record: Path) -> list[dict]:
    rows = []
    for path in sorted(record.glob("seed*/metrics.json")):
        m = json.loads(path.read_text())
        n = int(m["test_images"])
        low, high = wilson(m["test_top1"] * n, n)
        rows.append(
            {
                "seed": m["seed"],
                "test_top1": m["test_top1"],
                "interval": [low, high],
                "tested_variant": m.get("tested_variant"),
                "variants": m.get("test_top1_variants", {}),
                "test_images": n,
                "epochs": m["epochs"],
                "train_images": m["train_images"],
                "train_seconds": m["train_seconds"],
                "images_per_second": m["images_per_second"],
                "cpu": (m.get("hardware") or {}).get("cpu"),
            }
        )
    return rows


def summarize(rows: list[dict]) -> dict:
    top1 = [r["test_top1"] for r in rows]
    summary = {"seeds": rows, "goal": GOAL}
    if not top1:
        return summary
    summary["mean_test_top1"] = statistics.mean(top1)
    if len(top1) >= MIN_SEEDS_FOR_STD:
        summary["std_test_top1"] = statistics.stdev(top1)
        summary["interval_of_mean"] = list(mean_interval(top1, rows[0]["test_images"]))
        summary["goal_met"] = summary["mean_test_top1"] >= GOAL
    return summary


def _pct(x: float) -> str:
    return f"{x * 100:.2f}%"


def table(summary: dict) -> str:
    head = ["seed", "tested top-1", "95% interval", *VIEWS.values(), "epochs", "train s", "img/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in summary["seeds"]:
        views = [_pct(r["variants"][k]) if k in r["variants"] else "-" for k in VIEWS]
        lines.append(
            f"| {r['seed']} | **{_pct(r['test_top1'])}** | "
            f"{_pct(r['interval'][0])}-{_pct(r['interval'][1])} | " + " | ".join(views) + " | "
            f"{r['epochs']} of {r['train_images']:,} | {r['train_seconds']:,.0f} | "
            f"{r['images_per_second']:,.0f} |"
        )
    rows = summary["seeds"]
    if "interval_of_mean" in summary:
        low, high = summary["interval_of_mean"]
        verdict = "met" if summary["goal_met"] else "missed"
        lines.append(
            f"\nMean of {len(rows)} seeds: **{_pct(summary['mean_test_top1'])}** ± "
            f"{summary['std_test_top1'] * 100:.2f} (std), 95% interval of the mean "
            f"{_pct(low)}-{_pct(high)}; the 88% goal {verdict}."
        )
    elif rows:
        lines.append(
            f"\n{len(rows)} of 3 seeds so far (values above; no spread between seeds is "
            "measured below three, so no mean is a finding yet)."
        )
    cpus = sorted({r["cpu"] for r in rows if r["cpu"]})
    if cpus:
        lines.append(f"\nCPU: {', '.join(cpus)} (2 cores); times are of that machine.")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("record", nargs="?", type=Path, default=RECORD)
    args = parser.parse_args(argv)
    summary = summarize(read_seeds(args.record))
    (args.record / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (args.record / "table.md").write_text(table(summary))
    print(table(summary))


if __name__ == "__main__":
    main()
