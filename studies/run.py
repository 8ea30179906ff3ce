"""Run every benchmark and summarise the figures against their targets.

    .venv/bin/pip install -c constraints.txt -e ".[studies]"     # once: adds PyTorch (CPU)
    .venv/bin/python studies/run.py                             # about 45 min on 2 cores

1. studies/throughput.py: training images/s of the pipeline's entry point on real CIFAR-10
   (a), bare Keras on tensors in memory (b), PyTorch eager channels-last (c) and the CPU's
   float32 matmul peak (d), interleaved, for the CIFAR MobileNetV2 1.0 at 32 and MobileNet
   V1 1.0 at 128 -> studies/results/throughput.json.
2. studies/workflow.py: the default configuration end to end from a clean results/, no-op
   reruns, report-only rebuilds and the fixed cost per training job, in a copy of the
   checkout -> studies/results/workflow.json.
3. The figures beside their targets -> studies/results/summary.json, and as a Markdown table
   on stdout (the README's "Performance" section).

`--quick` runs both with tiny settings (a few minutes; what tests/workflow/test_studies.py runs).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

QUICK_THROUGHPUT = [
    "--models",
    "cifar_mobilenetv2_0.25_32",
    "--steps",
    "3",
    "--skip",
    "1",
    "--reps",
    "1",
    "--eval-images",
    "64",
    "--matmul-sizes",
    "256",
    "--matmul-seconds",
    "0.2",
]
QUICK_CONFIG = """\
report: {title: "bench --quick", authors: "studies/run.py", note: "tiny"}
threads: 1
datasets:
  digits: {source: sklearn_digits, max_per_class: 10, split: {val_fraction: 0.15, test_fraction: 0.2, seed: 0}}
models:
  mobilenet_0.25_32: {arch: mobilenet_v1, alpha: 0.25, resolution: 32}
recipes:
  quick: {optimizer: adam, learning_rate: 0.002, warmup_epochs: 1, epochs: 2, batch_size: 32}
experiments:
  quick: {title: "quick", datasets: [digits], models: [mobilenet_0.25_32], recipe: quick, seeds: [0]}
"""  # noqa: E501


def run(script: str, args: list[str]) -> None:
    cmd = [sys.executable, str(BENCH / script), *args]
    print(f"$ {' '.join(cmd)}", file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True)


def row(figure, value, unit, target=None, higher_is_better=True, command=""):
    if value is None:
        return {"figure": figure, "value": None, "unit": unit, "target": target}
    out = {"figure": figure, "value": value, "unit": unit, "command": command}
    if target is not None:
        out |= {
            "target": target,
            "target_kind": ">=" if higher_is_better else "<=",
            "ratio_to_target": value / target,
            "met": value >= target if higher_is_better else value <= target,
        }
    return out


def summarize(throughput: dict | None, workflow: dict | None) -> list[dict]:
    rows = []
    if throughput:
        cmd = throughput["command"]
        peak = throughput["matmul"].get("median_gflops")
        rows.append(row("(d) float32 matmul peak", peak, "GFLOP/s", command=cmd))
        for model, m in throughput["models"].items():
            sys_ = m["systems"]
            for key, label in (
                ("pipeline", "(a) pipeline entry point, real CIFAR-10"),
                ("keras", "(b) bare Keras fit, tensors in memory"),
                ("torch", "(c) PyTorch eager, channels-last"),
                ("torch_nchw", "(c') PyTorch eager, NCHW"),
            ):
                if key in sys_:
                    rows.append(
                        row(
                            f"{model}: {label}",
                            sys_[key]["median_images_per_second"],
                            "images/s",
                            command=cmd,
                        )
                    )
            for key, ratio in m["ratios"].items():
                rows.append(
                    row(
                        f"{model}: {key}",
                        ratio["median_paired"],
                        "ratio",
                        ratio["target"],
                        command=cmd,
                    )
                )
            flops = m.get("pipeline_flops")
            if flops:
                rows.append(
                    row(
                        f"{model}: (a) training FLOP rate",
                        flops["median_gflops"],
                        "GFLOP/s",
                        command=cmd,
                    )
                )
                rows.append(
                    row(
                        f"{model}: (a) as a fraction of the matmul peak",
                        flops["median_fraction_of_matmul_peak"],
                        "fraction",
                        command=cmd,
                    )
                )
    if workflow:
        cmd, t = workflow["command"], workflow["targets"]
        rows.append(
            row(
                "no-op rerun (`snakemake --cores all`, up to date)",
                workflow["noop"]["median_seconds"],
                "s",
                t["noop_seconds"],
                False,
                cmd,
            )
        )
        rows.append(
            row(
                "report-only rebuild after a template edit",
                workflow["report_only"]["median_seconds"],
                "s",
                t["report_only_seconds"],
                False,
                cmd,
            )
        )
        rows.append(
            row(
                f"end to end, {workflow['settings']['configfile']}, clean results/",
                workflow["end_to_end"]["seconds"],
                "s",
                t["end_to_end_seconds"],
                False,
                cmd,
            )
        )
        jobs = workflow["train_jobs"]["summary"]
        if jobs:
            rows.append(
                row("training job: median wall time", jobs["median_wall_seconds"], "s", command=cmd)
            )
            rows.append(
                row(
                    "training job: median fixed cost (wall - training)",
                    jobs["median_fixed_seconds"],
                    "s",
                    command=cmd,
                )
            )
            rows.append(
                row(
                    "training job: median training time",
                    jobs["median_training_seconds"],
                    "s",
                    command=cmd,
                )
            )
            rows.append(
                row(
                    "training jobs: fixed cost / wall time, all jobs",
                    jobs["fixed_fraction_of_total"],
                    "fraction",
                    command=cmd,
                )
            )
            for k, v in jobs["median_breakdown_seconds"].items():
                rows.append(row(f"training job: median {k}", v, "s", command=cmd))
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| figure | value | target | ratio to target |", "| --- | --- | --- | --- |"]
    for r in rows:
        v = r["value"]
        value = "n/a" if v is None else (f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}")
        value += f" {r['unit']}" if r["unit"] not in ("ratio", "fraction") else ""
        target = f"{r['target_kind']} {r['target']:g}" if r.get("target") is not None else ""
        ratio = ""
        if r.get("ratio_to_target") is not None:
            ratio = f"{r['ratio_to_target']:.2f} ({'met' if r['met'] else 'NOT met'})"
        lines.append(f"| {r['figure']} | {value} | {target} | {ratio} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny settings: a smoke run")
    p.add_argument("--only", choices=("throughput", "workflow"))
    p.add_argument("--out-dir", type=Path, default=BENCH / "results")
    args = p.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    tp_out, wf_out = args.out_dir / "throughput.json", args.out_dir / "workflow.json"
    if args.only in (None, "throughput"):
        run("throughput.py", [*(QUICK_THROUGHPUT if args.quick else []), "--out", str(tp_out)])
    if args.only in (None, "workflow"):
        with tempfile.TemporaryDirectory() as tmp:
            extra = []
            if args.quick:
                config = Path(tmp) / "quick.yaml"
                config.write_text(QUICK_CONFIG)
                extra = ["--configfile", str(config), "--reps", "1"]
            run("workflow.py", [*extra, "--out", str(wf_out)])
    load = lambda p: json.loads(p.read_text()) if p.exists() else None  # noqa: E731
    rows = summarize(load(tp_out), load(wf_out))
    summary = {
        "kind": "summary",
        "started": started,
        "quick": args.quick,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "sources": [str(p) for p in (tp_out, wf_out) if p.exists()],
        "figures": rows,
    }
    sys.path.insert(0, str(ROOT / "src"))
    from mobilenet_repro.files import write_json

    write_json(summary, args.out_dir / "summary.json")
    print(markdown(rows))


if __name__ == "__main__":
    main()
