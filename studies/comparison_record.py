"""The CIFAR-10 comparison record: the runs of config/cifar10-comparison.yaml, their cost and
how each ended.

    .venv/bin/python studies/comparison_record.py --collect CHECKOUT   # copy finished runs in
    .venv/bin/python studies/comparison_record.py                      # seconds; the tables

--collect copies every finished run of CHECKOUT (a checkout that ran
`snakemake --cores 2 --configfile config/cifar10-comparison.yaml`) into RECORD_DIR (default
studies/results/cifar10_comparison) under its run id, as studies/rerender_record.py reads
it: metrics.json, history.csv and lr_schedule.csv, the train rule's benchmark (benchmark.tsv)
and log (train.log). Then, from the record alone, writes RECORD_DIR/runs.md (one row per run:
test, validation and training-split top-1, the step it was tested at, whether early stopping or
the step cap ended it, seconds and CPU-seconds) and RECORD_DIR/summary.json (the CPU-hours,
the runs the cap cut, the runs per model and size). The report with the three analyses comes
from `studies/rerender_record.py RECORD_DIR`.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from mobilenet_repro import paths  # noqa: E402

RECORD = ROOT / "studies/results/cifar10_comparison"
EXPERIMENT = "cifar10_comparison"


def _run_files(run_id: str) -> dict[str, str]:
    """Record name -> the path the workflow writes it at, relative to the checkout."""
    run_dir = paths.RUN_DIR.replace(paths.RUN_PATH, run_id)
    out = {name: f"{run_dir}/{name}" for name in ("metrics.json", "history.csv")}
    out["lr_schedule.csv"] = f"{run_dir}/{paths.RUN_FILES['schedule']}"
    out["benchmark.tsv"] = paths.RUN_BENCHMARK.replace(paths.RUN_PATH, run_id)
    out["train.log"] = paths.RUN_LOG.replace(paths.RUN_PATH, run_id)
    return out


def collect(checkout: Path, record: Path) -> list[str]:
    """Copy the finished runs (those with a metrics.json) of `checkout` into `record`."""
    copied = []
    runs_dir = checkout / paths.RUNS_DIR / EXPERIMENT
    for metrics in sorted(runs_dir.glob("*/*/*/metrics.json")):
        run_id = metrics.parent.relative_to(checkout / paths.RUNS_DIR).as_posix()
        dest = record / run_id
        shutil.rmtree(dest, ignore_errors=True)  # no file of an earlier run stays beside it
        dest.mkdir(parents=True)
        for name, rel in _run_files(run_id).items():
            if (checkout / rel).is_file():
                shutil.copyfile(checkout / rel, dest / name)
        copied.append(run_id)
    return copied


def _cpu_seconds(benchmark: Path) -> tuple[float | None, float | None]:
    """(wall seconds, CPU-seconds) of Snakemake's benchmark file for one job."""
    if not benchmark.is_file():
        return None, None
    with benchmark.open() as f:
        row = next(csv.DictReader(f, delimiter="\t"))
    return float(row["s"]), float(row["cpu_time"])


def read_runs(record: Path) -> list[dict]:
    rows = []
    for path in sorted(record.glob(f"{EXPERIMENT}/*/*/*/metrics.json")):
        m = json.loads(path.read_text())
        wall, cpu = _cpu_seconds(path.with_name("benchmark.tsv"))
        rows.append(
            {
                "dataset": m["dataset"],
                "model": m["model"],
                "seed": m["seed"],
                "per_class": m["train_images"] // m["classes"],
                **{k: m[k] for k in ("test_top1", "val_top1", "train_top1")},
                **{k: m[k] for k in ("steps", "max_steps", "tested_step", "stopped_early")},
                "train_seconds": m["train_seconds"],
                "job_seconds": wall,
                "cpu_seconds": cpu,
                "cpu": (m.get("hardware") or {}).get("cpu"),
                # A resumed run's benchmark is its last job's: its cost is a lower bound.
                "resumed": bool(m.get("resumed")),
            }
        )
    return sorted(rows, key=lambda r: (r["model"], r["per_class"], r["seed"]))


def summarise(rows: list[dict]) -> dict:
    cpu = [r["cpu_seconds"] for r in rows if r["cpu_seconds"] is not None]
    cells: dict[str, int] = {}
    for r in rows:
        key = f"{r['model']} at {r['per_class']} per class"
        cells[key] = cells.get(key, 0) + 1
    return {
        "runs": len(rows),
        "stopped_early": sum(bool(r["stopped_early"]) for r in rows),
        "cut_by_cap": [
            f"{r['model']} {r['per_class']}/class seed {r['seed']}"
            for r in rows
            if not r["stopped_early"]
        ],
        "cpu_hours": round(sum(cpu) / 3600, 2) if cpu else None,
        # Runs whose CPU-seconds are missing (no benchmark) or a lower bound (resumed): the
        # total above then undercounts.
        "without_benchmark": sum(r["cpu_seconds"] is None for r in rows),
        "resumed": sum(r["resumed"] for r in rows),
        "job_hours": round(sum(r["job_seconds"] or 0 for r in rows) / 3600, 2),
        "seeds_per_cell": cells,
        "cpus": sorted({r["cpu"] for r in rows if r["cpu"]}),
    }


def table(rows: list[dict]) -> str:
    head = (
        "| model | per class | seed | test top-1 (%) | val top-1 (%) | train top-1 (%) "
        "| tested at step | steps | ended by | train s | CPU-s |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    lines = []
    for r in rows:
        ended = "early stopping" if r["stopped_early"] else f"the {r['max_steps']:,}-step cap"
        cpu = f"{r['cpu_seconds']:,.0f}" if r["cpu_seconds"] is not None else "-"
        lines.append(
            f"| {r['model']} | {r['per_class']} | {r['seed']} | {r['test_top1'] * 100:.2f} "
            f"| {r['val_top1'] * 100:.2f} | {r['train_top1'] * 100:.2f} | {r['tested_step']:,} "
            f"| {r['steps']:,} | {ended} | {r['train_seconds']:,.0f} | {cpu} |"
        )
    return head + "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("record", nargs="?", type=Path, default=RECORD)
    parser.add_argument("--collect", type=Path, metavar="CHECKOUT")
    args = parser.parse_args(argv)
    if args.collect:
        for run_id in collect(args.collect, args.record):
            print(f"collected {run_id}")
    rows = read_runs(args.record)
    if not rows:
        print(f"no finished run in {args.record}", file=sys.stderr)
        return 1
    summary = summarise(rows)
    (args.record / "runs.md").write_text(table(rows))
    (args.record / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
