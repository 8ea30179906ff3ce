"""The CPU-hour record's numbers: each seed of the final recipe beside the seed recipe.

    .venv/bin/python studies/cpu_hour_record.py     # seconds; reads committed records only

Reads studies/results/cifar10_cpu_hour/metrics.json (the seed recipe: the CIFAR-10 MobileNetV2
report's recipe family, 15 epochs of 45,000 images) and final/seed*/metrics.json (the final
recipe: all 50,000 images, weight averaging, flipped test images), and writes
final/summary.json and the markdown table the READMEs quote: per seed the tested top-1 with
its 95% Wilson interval over the 10,000 test images, the four test variants of the same
weights (last step or average, with or without flips), training seconds and images/s; and the
mean of the seeds (with two seeds, both values and their mean, no std).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from mobilenet_repro.analysis.noise import wilson  # noqa: E402

RECORD = ROOT / "studies/results/cifar10_cpu_hour"
VARIANTS = {
    "raw": "last step",
    "raw_flip": "last step + flip",
    "ema": "average",
    "ema_flip": "average + flip",
}


def _pct(x: float) -> str:
    return f"{x * 100:.2f}%"


def _interval(p: float, n: int) -> str:
    low, high = wilson(p * n, n)
    return f"{low * 100:.2f}-{high * 100:.2f}%"


def main() -> None:
    seed_recipe = json.loads((RECORD / "metrics.json").read_text())
    runs = [
        json.loads(p.read_text()) for p in sorted((RECORD / "final").glob("seed*/metrics.json"))
    ]
    rows = []
    for m in runs:
        n = int(m["test_images"])
        rows.append(
            {
                "seed": m["seed"],
                "test_top1": m["test_top1"],
                "interval": _interval(m["test_top1"], n),
                "tested_variant": m.get("tested_variant"),
                "variants": m.get("test_top1_variants", {}),
                "test_images": n,
                "train_seconds": m["train_seconds"],
                "images_per_second": m["images_per_second"],
                "epochs": m["epochs"],
                "train_images": m["train_images"],
            }
        )
    top1 = [r["test_top1"] for r in rows]
    summary = {
        "seed_recipe": {
            "test_top1": seed_recipe["test_top1"],
            "interval": _interval(seed_recipe["test_top1"], int(seed_recipe["test_images"])),
            "train_seconds": seed_recipe["train_seconds"],
            "epochs": seed_recipe["epochs"],
            "train_images": seed_recipe["train_images"],
        },
        "seeds": rows,
        "mean_test_top1": statistics.mean(top1) if top1 else None,
        "pooled_interval": _interval(statistics.mean(top1), sum(r["test_images"] for r in rows))
        if top1
        else None,
        "variant_means": {
            k: statistics.mean(r["variants"][k] for r in rows)
            for k in VARIANTS
            if rows and all(k in r["variants"] for r in rows)
        },
    }
    (RECORD / "final/summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    s = summary["seed_recipe"]
    print(
        "| run | test top-1 | 95% interval | "
        + " | ".join(VARIANTS.values())
        + " | train s | img/s |"
    )
    print("| --- | --- | --- |" + " --- |" * len(VARIANTS) + " --- | --- |")
    print(
        f"| seed recipe, seed 0 ({s['epochs']} epochs of {s['train_images']:,}) | "
        f"{_pct(s['test_top1'])} | {s['interval']} |"
        + " - |" * len(VARIANTS)
        + f" {s['train_seconds']:,.0f} | - |"
    )
    for r in rows:
        cells = " | ".join(_pct(r["variants"][k]) if k in r["variants"] else "-" for k in VARIANTS)
        print(
            f"| final recipe, seed {r['seed']} ({r['epochs']} epochs of {r['train_images']:,}) | "
            f"**{_pct(r['test_top1'])}** | {r['interval']} | {cells} | "
            f"{r['train_seconds']:,.0f} | {r['images_per_second']:,.0f} |"
        )
    if rows:
        cells = " | ".join(_pct(v) for v in summary["variant_means"].values())
        print(
            f"| final recipe, mean of {len(rows)} seeds | **{_pct(summary['mean_test_top1'])}** | "
            f"{summary['pooled_interval']} (pooled) | {cells} | - | - |"
        )


if __name__ == "__main__":
    main()
