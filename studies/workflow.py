"""Benchmark: the workflow's own costs, end to end, up to date, report only, per training job.

In a copy of the checkout (tracked and untracked files that git does not ignore, so the
checkout itself is never touched) with the venv this script runs in:

1. End to end: `snakemake --cores all` with the default configuration from a clean
   results/ and resources/ (install excluded; data preparation, every training job, the
   notebooks and the report included). Once: several minutes.
2. No-op rerun: `snakemake --cores all` when everything is up to date (`--reps` times).
3. Report-only rebuild: a template edited (a Jinja comment appended to the copy's
   report/templates/report.html.j2), then `snakemake --cores all`;
   checked to run the report job and nothing else. Interleaved with 2: no-op, report, no-op,
   report...
4. Fixed cost per training job, from the end-to-end run: each job's wall time (Snakemake's
   `benchmark:` file) against its training time (epochs x its steady epoch, from
   history.csv), and where the difference goes (metrics.json `timings`: interpreter and
   Snakemake start-up, imports, data loading, model building, the first epoch's tracing,
   checkpoints, evaluation, writing outputs, process exit).

    python studies/workflow.py                         # about 10 minutes on 2 cores
    python studies/workflow.py --configfile my-small.yaml --reps 1   # another configuration

Writes JSON (machine, versions, settings, every repetition, medians) to `--out` (default
studies/results/workflow.json).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from input_pipeline import ROOT, machine

BENCH = Path(__file__).resolve().parent
TARGETS = {"end_to_end_seconds": 600, "noop_seconds": 3, "report_only_seconds": 20}
TEMPLATE = "report/templates/report.html.j2"


def copy_checkout(dest: Path) -> int:
    """Copy the files git tracks or would track (not ignored ones: no results, no venv)."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    n = 0
    for name in filter(None, files):
        src = ROOT / os.fsdecode(name)
        if src.is_file():
            target = dest / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
            n += 1
    return n


def snakemake(workdir: Path, args, configfile: Path | None) -> dict:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "all", *args]
    if configfile:
        cmd += ["--configfile", str(configfile)]
    env = dict(os.environ, PYTHONPATH=str(workdir / "src"))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    text = proc.stdout + proc.stderr
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{text[-6000:]}")
    return {
        "seconds": seconds,
        "jobs": planned_jobs(text),
        "nothing_to_do": "Nothing to be done" in text,
        "loadavg": os.getloadavg()[0],
    }


def planned_jobs(text: str) -> dict[str, int]:
    """Rule -> job count from Snakemake's 'Job stats' table."""
    counts, in_table = {}, False
    for line in text.splitlines():
        if line.startswith("Job stats"):
            in_table, counts = True, {}
            continue
        m = re.match(r"^(\w+)\s+(\d+)\s*$", line.strip())
        if in_table and m:
            if m.group(1) == "total":
                in_table = False
            else:
                counts[m.group(1)] = int(m.group(2))
    return counts


def read_benchmark(path: Path) -> dict:
    with open(path) as fh:
        row = next(csv.DictReader(fh, delimiter="\t"))
    return {"seconds": float(row["s"]), "cpu_seconds": float(row["cpu_time"] or 0)}


def job_costs(workdir: Path) -> list[dict]:
    """Per training job: wall time, training time, and where the rest goes."""
    jobs = []
    for metrics_path in sorted((workdir / "results/runs").glob("*/*/*/seed*/metrics.json")):
        m = json.loads(metrics_path.read_text())
        run = metrics_path.parent.relative_to(workdir / "results/runs")
        bench = read_benchmark(workdir / "benchmarks/train" / f"{run}.tsv")
        with open(metrics_path.parent / "history.csv") as fh:
            epochs = [float(r["seconds"]) for r in csv.DictReader(fh)]
        steady = statistics.median(epochs[1:]) if len(epochs) > 1 else epochs[0]
        # Training time: every epoch as measured (validation included), the first one
        # counted at the steady rate; the rest of the first epoch is tracing and warm-up.
        training = sum(epochs) - (epochs[0] - steady)
        t = m.get("timings", {})
        known = {
            "startup": t.get("startup") or 0.0,  # interpreter, Snakemake's script preamble
            "imports": t.get("imports", 0.0),
            "data_load": t.get("data_load", 0.0),
            "build": t.get("build", 0.0),
            "first_epoch_extra": epochs[0] - steady,  # tracing, first execution
            "checkpoints": t.get("checkpoints", 0.0),
            "evaluate": t.get("evaluate", 0.0),
            "finish": t.get("finish", 0.0),
        }
        accounted = sum(known.values()) + training
        jobs.append(
            {
                "run": str(run),
                "model": m["model"],
                "epochs": len(epochs),
                "wall_seconds": bench["seconds"],
                "cpu_seconds": bench["cpu_seconds"],
                "training_seconds": training,
                "steady_epoch_seconds": steady,
                "first_epoch_seconds": epochs[0],
                "fixed_seconds": bench["seconds"] - training,
                "fixed_fraction": (bench["seconds"] - training) / bench["seconds"],
                "breakdown": known | {"other": bench["seconds"] - accounted},
                "timings": t,
            }
        )
    return jobs


def rule_seconds(workdir: Path) -> dict[str, float]:
    """Sum of the jobs' wall times per rule directory under benchmarks/."""
    out = {}
    for tsv in (workdir / "benchmarks").rglob("*.tsv"):
        key = tsv.relative_to(workdir / "benchmarks").parts[0]
        out[key] = out.get(key, 0.0) + read_benchmark(tsv)["seconds"]
    return out


def summarize_jobs(jobs: list[dict]) -> dict:
    if not jobs:
        return {}
    keys = jobs[0]["breakdown"].keys()
    total_wall = sum(j["wall_seconds"] for j in jobs)
    total_fixed = sum(j["fixed_seconds"] for j in jobs)
    return {
        "jobs": len(jobs),
        "median_wall_seconds": statistics.median(j["wall_seconds"] for j in jobs),
        "median_fixed_seconds": statistics.median(j["fixed_seconds"] for j in jobs),
        "median_training_seconds": statistics.median(j["training_seconds"] for j in jobs),
        "median_fixed_fraction": statistics.median(j["fixed_fraction"] for j in jobs),
        "total_wall_seconds": total_wall,
        "total_fixed_seconds": total_fixed,
        "fixed_fraction_of_total": total_fixed / total_wall,
        "median_breakdown_seconds": {
            k: statistics.median(j["breakdown"][k] for j in jobs) for k in keys
        },
        "total_breakdown_seconds": {k: sum(j["breakdown"][k] for j in jobs) for k in keys},
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configfile", type=Path, help="instead of config/config.yaml")
    p.add_argument("--reps", type=int, default=5, help="no-op and report-only repetitions")
    p.add_argument("--keep", action="store_true", help="keep the working copy")
    p.add_argument("--out", type=Path, default=BENCH / "results" / "workflow.json")
    args = p.parse_args(argv)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    info = machine(os.cpu_count())
    tmp = Path(tempfile.mkdtemp(prefix="bench-workflow-"))
    work = tmp / "repo"
    try:
        n_files = copy_checkout(work)
        config = None
        if args.configfile:  # replaces the default (Snakemake would merge a --configfile)
            shutil.copy(args.configfile, work / "config" / "config.yaml")
        print(f"copied {n_files} files to {work}; end-to-end run...", file=sys.stderr)
        e2e = snakemake(work, [], config)
        print(f"end to end: {e2e['seconds']:.1f}s", file=sys.stderr, flush=True)
        jobs = job_costs(work)
        noop, report = [], []
        template = work / TEMPLATE
        for rep in range(args.reps):
            noop.append(snakemake(work, [], config))
            with open(template, "a") as fh:
                fh.write(f"{{# studies/workflow.py edit {rep + 1} #}}\n")
            report.append(snakemake(work, [], config))
            print(
                f"rep {rep + 1}/{args.reps}: no-op {noop[-1]['seconds']:.2f}s "
                f"(nothing to do: {noop[-1]['nothing_to_do']}), report only "
                f"{report[-1]['seconds']:.1f}s {report[-1]['jobs']}",
                file=sys.stderr,
                flush=True,
            )
        result = {
            "kind": "workflow",
            "settings": {
                "configfile": str(args.configfile or "config/config.yaml"),
                "reps": args.reps,
                "cores": "all",
                "cpu_count": os.cpu_count(),
                "files_copied": n_files,
            },
            "end_to_end": e2e | {"rule_seconds": rule_seconds(work)},
            "noop": {
                "reps": noop,
                "seconds": [r["seconds"] for r in noop],
                "median_seconds": statistics.median(r["seconds"] for r in noop),
                "all_nothing_to_do": all(r["nothing_to_do"] for r in noop),
            },
            "report_only": {
                "reps": report,
                "seconds": [r["seconds"] for r in report],
                "median_seconds": statistics.median(r["seconds"] for r in report),
                "only_report_ran": all(set(r["jobs"]) <= {"report", "all"} for r in report),
            },
            "train_jobs": {"summary": summarize_jobs(jobs), "jobs": jobs},
            "targets": TARGETS,
        }
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    result.update(
        info,
        started=started,
        loadavg_end=os.getloadavg(),
        command=" ".join([Path(sys.executable).name, *sys.argv]),
    )
    from mobilenet_repro.files import write_json

    write_json(result, args.out)
    print(
        json.dumps(
            {
                "end_to_end_seconds": result["end_to_end"]["seconds"],
                "noop_median_seconds": result["noop"]["median_seconds"],
                "report_only_median_seconds": result["report_only"]["median_seconds"],
                "train_jobs": {
                    k: v
                    for k, v in result["train_jobs"]["summary"].items()
                    if not isinstance(v, dict)
                },
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
