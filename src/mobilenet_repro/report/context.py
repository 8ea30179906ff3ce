"""The report's context: everything the templates show, read from the pipeline's files.

Every number shown is read here from a pipeline output file (metrics, tables, manifests,
benchmark files, the architecture stage) or from report/published.yaml, and formatted by
`formatting`; templates only lay them out.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import subprocess
from pathlib import Path

import pandas as pd
import yaml

from mobilenet_repro.analysis import CHANCE_MARGIN
from mobilenet_repro.architectures.grid import OUTPUT_FILES
from mobilenet_repro.formatting import as_bool, fmt_int, fmt_millions, mean_std
from mobilenet_repro.io import read_json
from mobilenet_repro.report.accuracy import accuracy_context
from mobilenet_repro.report.architectures import report_context
from mobilenet_repro.report.datasheets import datasheet
from mobilenet_repro.report.render import REPO_DIR
from mobilenet_repro.report.seed002 import seed002_context


# ----------------------------------------------------------------------------- context
def figure(png: Path | str, svg: Path | str, root: Path) -> dict:
    """A figure for both outputs: a data URI for the HTML, a root-relative path for Typst."""
    png, svg = Path(png), Path(svg)
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    return {
        "png_data_uri": f"data:image/png;base64,{data}",
        "svg_path": "/" + svg.resolve().relative_to(root.resolve()).as_posix(),
    }


def git_state(root: Path) -> dict:
    def git(*args):
        try:
            return subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    commit = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit or "unknown (not a git checkout)", "dirty": bool(dirty)}


def read_benchmarks(paths) -> list[dict]:
    rows = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            continue
        with path.open() as fh:
            records = list(csv.DictReader(fh, delimiter="\t"))
        if not records:
            continue
        rec = records[-1]
        job = path.relative_to(path.parts[0]).with_suffix("").as_posix()
        rows.append(
            {
                "job": job,
                "seconds": float(rec["s"]),
                "max_rss_mb": float(rec["max_rss"])
                if rec.get("max_rss") not in (None, "", "NA", "-")
                else None,
            }
        )
    return rows


def _experiment_context(exp_id, exp, config, analysis_dir: Path, runs: pd.DataFrame, root):
    table = pd.read_csv(analysis_dir / exp_id / "results_table.csv")
    models = config["models"]
    rows = []
    for _, r in table.iterrows():
        top1 = mean_std(r["test_top1_mean"], r["test_top1_std"])
        rows.append(
            {
                "learned": as_bool(r["learned"]),
                "dataset": r["dataset"],
                "model": r["model"],
                "label": models[r["model"]].get("label") or r["model"],
                "arch": r["arch"],
                "alpha": f"{r['alpha']:.2f}",
                "resolution": int(r["resolution"]),
                "params": fmt_int(r["params"]),
                "params_m": fmt_millions(r["params"]),
                "mult_adds_m": fmt_millions(r["mult_adds"], 1),
                "top1": top1 if as_bool(r["learned"]) else f"{top1} (did not learn)",
                "top1_mean": float(r["test_top1_mean"]),
                "seeds": int(r["seeds"]),
                "train_seconds": f"{r['train_seconds_mean']:.1f}",
                "images_per_second": f"{r['images_per_second_mean']:.0f}",
            }
        )
    fig = lambda name: figure(  # noqa: E731
        analysis_dir / exp_id / f"{name}.png", analysis_dir / exp_id / f"{name}.svg", root
    )
    # A model at chance is never "the most accurate" (analysis.CHANCE_MARGIN).
    best = max((r for r in rows if r["learned"]), key=lambda r: r["top1_mean"], default=None)
    labels = {k: v.get("label") or k for k, v in models.items()}
    return {
        "id": exp_id,
        "title": exp.get("title") or exp_id,
        "description": exp.get("description", ""),
        "datasets": exp["datasets"],
        "target_accuracy": exp.get("target_accuracy"),
        "recipe_name": exp["recipe"],
        "recipe": config["recipes"][exp["recipe"]],
        "seeds": exp["seeds"],
        "rows": rows,
        "best": best,
        "not_learned": [f"{r['label']} ({r['dataset']})" for r in rows if not r["learned"]],
        "seed002": seed002_context(analysis_dir / exp_id, exp.get("analyses", []), labels, fig),
        "figures": {
            "accuracy_vs_params": fig("accuracy_vs_params"),
            "accuracy_vs_mult_adds": fig("accuracy_vs_mult_adds"),
            "learning_curves": fig("learning_curves"),
            "lr_schedule": fig("lr_schedule"),
        },
    }


def build_context(
    config: dict,
    runs_csv: Path | str,
    metrics_files,
    analysis_dir: Path | str,
    manifest_files,
    benchmark_files,
    published_file: Path | str,
    arch_dir: Path | str | None = None,
    accuracy_dir: Path | str | None = None,
    root: Path | str = ".",
) -> dict:
    """Everything the templates show, read from the pipeline's files."""
    root = Path(root)
    analysis_dir = Path(analysis_dir)
    runs = pd.read_csv(runs_csv)
    metrics = [read_json(p) for p in metrics_files]
    published = yaml.safe_load(Path(published_file).read_text())
    experiments = [
        _experiment_context(exp_id, exp, config, analysis_dir, runs, root)
        for exp_id, exp in config["experiments"].items()
    ]
    manifests = [read_json(p) for p in manifest_files]
    first = metrics[0] if metrics else {}
    context = {
        "title": config["report"]["title"],
        "authors": config["report"]["authors"],
        "note": config["report"]["note"],
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "n_runs": len(runs),
        "n_experiments": len(experiments),
        "n_models": runs["model"].nunique(),
        "n_datasets": runs["dataset"].nunique(),
        "total_train_minutes": f"{runs['train_seconds'].sum() / 60:.1f}",
        "chance_margin": f"{CHANCE_MARGIN * 100:.0f}",
        "experiments": experiments,
        "datasets": [{**m, "datasheet": datasheet(m)} for m in manifests],
        "models": [
            {**v, "id": k, "label": v.get("label") or k} for k, v in config["models"].items()
        ],
        "versions": first.get("versions", {}),
        "hardware": first.get("hardware", {}),
        "git": git_state(REPO_DIR),
        "config_yaml": yaml.safe_dump(config, sort_keys=False),
        "benchmarks": read_benchmarks(benchmark_files),
        "published": published,
        "arch": None,
        "figures": {},
    }
    if arch_dir is not None and Path(arch_dir, "stats.csv").exists():
        context["arch"] = report_context(Path(arch_dir))
        context["figures"]["madds_vs_params"] = figure(
            Path(arch_dir) / "madds_vs_params.png", Path(arch_dir) / "madds_vs_params.svg", root
        )
    context["cifar_params"] = _cifar_param_check(metrics, published, context["arch"])
    arch_verdicts = Path(arch_dir, OUTPUT_FILES["verdicts"]) if arch_dir is not None else None
    if accuracy_dir is not None:
        accuracy_dir = Path(accuracy_dir)
        context["accuracy"] = accuracy_context(
            accuracy_dir / "verdicts.csv", arch_verdicts, published
        )
        context["figures"]["accuracy_curves"] = figure(
            accuracy_dir / "curves.png", accuracy_dir / "curves.svg", root
        )
    return context


def _cifar_param_check(metrics, published, arch) -> dict | None:
    """Our CIFAR MobileNetV2's trainable parameters next to seed 000's stated count.

    The comparison is at seed 000's own configuration (alpha 1.0, 32x32, 10 classes) from
    the architecture stage; the configured runs, which may be thinner, are listed beside it.
    """
    stated = (published or {}).get("seed000", {}).get("cifar_mobilenet_v2_trainable_params")
    if stated is None or arch is None:
        return None
    value = stated["value"] if isinstance(stated, dict) else stated
    cifar = arch["cifar"]
    runs = {}
    for m in metrics:
        if m["arch"] == "cifar_mobilenet_v2":
            runs.setdefault(
                m["model"],
                {
                    "model": m["model"],
                    "alpha": m["alpha"],
                    "resolution": m["resolution"],
                    "classes": m["classes"],
                    "trainable": fmt_int(m["trainable_params"]),
                },
            )
    return {
        "stated": fmt_int(value),
        "trainable": cifar["trainable_params"],
        "diff": cifar["trainable_difference"],
        "diff_pct": cifar["trainable_relative"],
        "exact": cifar["exact"],
        "closest": cifar["closest"],
        "closest_distance": cifar["closest_distance"],
        "runs": list(runs.values()),
    }
