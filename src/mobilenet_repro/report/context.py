"""The report's context: everything the templates show, read from the pipeline's files.

Every number shown is read here from a pipeline output file (metrics, tables, manifests,
benchmark files, the architecture stage) or from report/published.yaml, and formatted by
`formatting`; templates only lay them out. Each is a `numbers.Number`: its text with the file
and field it was read from, its runs and their configuration fingerprints (numbers.json).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import subprocess
from pathlib import Path

import pandas as pd
import yaml

from mobilenet_repro.analysis.noise import MIN_SEEDS_FOR_STD
from mobilenet_repro.analysis.results import CHANCE_MARGIN
from mobilenet_repro.config import experiment_backends
from mobilenet_repro.files import read_json
from mobilenet_repro.formatting import fmt_int
from mobilenet_repro.paths import ARCHITECTURE_FILES, RUNS_DIR
from mobilenet_repro.report.accuracy import accuracy_context
from mobilenet_repro.report.agreement import backends_context
from mobilenet_repro.report.counting import report_context
from mobilenet_repro.report.datasheets import datasheet
from mobilenet_repro.report.numbers import Number, sourced
from mobilenet_repro.report.results import (
    cached_features,
    compute_used,
    final_sides,
    rank_models,
    result_row,
    settings_rows,
    surprises,
)
from mobilenet_repro.report.seed002 import seed002_context
from mobilenet_repro.runs import Run
from mobilenet_repro.training.backends import DEFAULT as DEFAULT_BACKEND


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


def _weights_files(metrics: list[dict]) -> list[tuple[str, str]]:
    """Pretrained weights the runs started from: each file once, with its sha256."""
    return sorted(
        {
            (Path(m["weights_file"]["path"]).name, m["weights_file"]["sha256"] or "missing")
            for m in metrics
            if m.get("weights_file")
        }
    )


def _cached_features(metrics: list[dict]) -> list[dict]:
    return [{**f, "seconds": f"{f['seconds']:.0f}"} for f in cached_features(metrics)]


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
                "path": path.as_posix(),
                "job": job,
                "seconds": float(rec["s"]),
                "max_rss_mb": float(rec["max_rss"])
                if rec.get("max_rss") not in (None, "", "NA", "-")
                else None,
            }
        )
    return rows


def _experiment_context(
    exp_id, exp, config, analysis_dir: Path, index: dict, root, runs, arch_dir=None
):
    table = pd.read_csv(analysis_dir / exp_id / "results_table.csv")
    models = config["models"]
    backends = experiment_backends(config, exp_id)
    # The backend is named beside each model where it is not only the default.
    named = backends != [DEFAULT_BACKEND]
    rows = [result_row(r, runs, exp_id, models, backend_named=named) for _, r in table.iterrows()]
    fig = lambda name: figure(  # noqa: E731
        analysis_dir / exp_id / f"{name}.png", analysis_dir / exp_id / f"{name}.svg", root
    )
    # A model at chance is never "the most accurate" (analysis.CHANCE_MARGIN).
    best = max((r for r in rows if r["learned"]), key=lambda r: r["top1_mean"], default=None)
    ranking = rank_models(rows)
    labels = {k: v.get("label") or k for k, v in models.items()}
    runs_of = lambda row: index.get(  # noqa: E731
        (exp_id, row["dataset"], row["model"], row["backend"]), []
    )
    return {
        "id": exp_id,
        "title": exp.get("title") or exp_id,
        "description": exp.get("description", ""),
        "datasets": exp["datasets"],
        "target_accuracy": exp.get("target_accuracy"),
        "recipe_name": exp["recipe"],
        "recipe": config["recipes"][exp["recipe"]],
        "settings": settings_rows(config["recipes"][exp["recipe"]]),
        "seeds": exp["seeds"],
        "backends": backends,
        "backend_comparison": backends_context(
            analysis_dir / exp_id / "backends.csv", labels, runs_of
        ),
        "rows": rows,
        "best": best,
        "ranking": ranking,
        "surprises": surprises(rows, final_sides(arch_dir)),
        "underpowered": len(exp["seeds"]) < MIN_SEEDS_FOR_STD,
        # Seeds of a frozen base share its features: they vary the new head only.
        "head_only_seeds": bool(config["recipes"][exp["recipe"]].get("freeze_base")),
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
    repo: Path | str = ".",
) -> dict:
    """Everything the templates show, read from the pipeline's files; `repo` is the checkout
    whose commit the report names."""
    root = Path(root)
    analysis_dir = Path(analysis_dir)
    runs = pd.read_csv(runs_csv)
    metrics = [read_json(p) for p in metrics_files]
    published = yaml.safe_load(Path(published_file).read_text())
    index = _run_index(metrics)
    experiments = [
        _experiment_context(exp_id, exp, config, analysis_dir, index, root, runs, arch_dir)
        for exp_id, exp in config["experiments"].items()
    ]
    manifests = [read_json(p) for p in manifest_files]
    first = metrics[0] if metrics else {}
    device_hours, on_gpu = compute_used(metrics)
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
        "device_hours": f"{device_hours:.2f}",
        "cached_features": _cached_features(metrics),
        "device_kind": "GPU" if on_gpu else "CPU core",
        "chance_margin": f"{CHANCE_MARGIN * 100:.0f}",
        "experiments": experiments,
        "datasets": [{**m, "datasheet": datasheet(m)} for m in manifests],
        "models": [
            {**v, "id": k, "label": v.get("label") or k} for k, v in config["models"].items()
        ],
        "versions": first.get("versions", {}),
        "weights_files": _weights_files(metrics),
        "hardware": first.get("hardware", {}),
        "git": git_state(Path(repo)),
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
    context["cifar_params"] = _cifar_param_check(metrics, published, context["arch"], arch_dir)
    _source_context(context, config, metrics, metrics_files, manifest_files, runs_csv, analysis_dir)
    arch_verdicts = Path(arch_dir, ARCHITECTURE_FILES["verdicts"]) if arch_dir is not None else None
    if accuracy_dir is not None:
        accuracy_dir = Path(accuracy_dir)
        context["accuracy"] = accuracy_context(
            accuracy_dir / "verdicts.csv", arch_verdicts, published
        )
        context["figures"]["accuracy_curves"] = figure(
            accuracy_dir / "curves.png", accuracy_dir / "curves.svg", root
        )
    return context


# ----------------------------------------------------------------------------- provenance
# The results table's columns: context key -> (field of results_table.csv, label, kind).
RESULT_FIELDS = {
    "alpha": ("alpha", "alpha", "config"),
    "resolution": ("resolution", "input size", "config"),
    "params_m": ("params", "params (M)", "result"),
    "mult_adds_m": ("mult_adds", "mult-adds (M)", "result"),
    "top1": ("test_top1_mean, test_top1_std (one or two seeds: each)", "test top-1 (%)", "result"),
    "interval": ("test_top1_mean, with runs.csv test_images", "95% interval (%)", "result"),
    "test_images": ("test_images (runs.csv)", "test images", "count"),
    "seeds": ("seeds", "seeds", "count"),
    "train_seconds": ("train_seconds_mean", "train s", "runtime"),
    "images_per_second": ("images_per_second_mean", "img/s", "runtime"),
}


def _backend_tag(row: dict) -> str:
    """A number's label names its backend unless the default (labels of reports from before
    backends existed stay as they were, for "Changes since the previous report")."""
    return "" if row["backend"] == DEFAULT_BACKEND else f" ({row['backend']})"


def _run_index(metrics: list[dict]) -> dict[tuple, list[tuple[str, str]]]:
    """(experiment, data set, model, backend) -> [(run id, configuration fingerprint)]."""
    index: dict[tuple, list] = {}
    for m in metrics:
        backend = m.get("backend", DEFAULT_BACKEND)
        run = Run(m["experiment"], m["dataset"], m["model"], int(m["seed"]), backend)
        index.setdefault((run.experiment, run.dataset, run.model, run.backend), []).append(
            (run.id, m.get("fingerprint", ""))
        )
    return index


def _source_context(context, config, metrics, metrics_files, manifest_files, runs_csv, analysis):
    """Give every number the context shows its source (numbers.Number), in place."""
    index = _run_index(metrics)
    runs_of = lambda exp, row=None: [  # noqa: E731
        r
        for (e, d, m, b), found in index.items()
        if e == exp and (row is None or (d, m, b) == (row["dataset"], row["model"], row["backend"]))
        for r in found
    ]
    all_runs = [r for found in index.values() for r in found]
    runs_csv = Path(runs_csv).as_posix()
    for key, field, kind in (
        ("n_runs", "rows", "count"),
        ("n_experiments", "experiment (distinct)", "count"),
        ("n_models", "model (distinct)", "count"),
        ("n_datasets", "dataset (distinct)", "count"),
        ("total_train_minutes", "train_seconds (sum / 60)", "runtime"),
        ("device_hours", "train_seconds x threads or GPUs (sum / 3600)", "runtime"),
    ):
        context[key] = Number(
            context[key],
            f"all runs: {key.replace('_', ' ')}",
            runs_csv,
            field,
            [r for r, _ in all_runs],
            [f for _, f in all_runs],
            kind,
        )
    for exp in context["experiments"]:
        exp_id = exp["id"]
        sourced(
            exp["rows"],
            {key: field for key, (field, _, _) in RESULT_FIELDS.items()},
            (Path(analysis) / exp_id / "results_table.csv").as_posix(),
            label=lambda r, key, e=exp_id: (
                f"{e}: {r['model']} on {r['dataset']}{_backend_tag(r)}: {RESULT_FIELDS[key][1]}"
            ),
            runs=lambda r, e=exp_id: [i for i, _ in runs_of(e, r)],
            fingerprints=lambda r, e=exp_id: [f for _, f in runs_of(e, r)],
            kinds={key: kind for key, (_, _, kind) in RESULT_FIELDS.items()},
        )
        found = runs_of(exp_id)
        exp["recipe"] = {
            k: Number(
                v,
                f"{exp_id}: recipe {exp['recipe_name']}: {k}",
                "configuration",
                f"recipes.{exp['recipe_name']}.{k}",
                [i for i, _ in found],
                [f for _, f in found],
                "config",
            )
            if isinstance(v, int | float) and not isinstance(v, bool)
            else v
            for k, v in exp["recipe"].items()
        }
    for dataset, path in zip(context["datasets"], manifest_files, strict=True):
        _source_dataset(dataset, Path(path).as_posix())
    first = Path(metrics_files[0]).as_posix() if metrics_files else "-"
    for what in ("versions", "hardware"):
        context[what] = {
            k: Number(v, f"{what}: {k}", first, f"{what}.{k}", kind="environment")
            if isinstance(v, str | int) and not isinstance(v, bool)
            else v
            for k, v in context[what].items()
        }
    _source_benchmarks(context["benchmarks"])
    context["runtimes"] = runtimes_by_rule(context["benchmarks"])
    if context["cifar_params"]:
        _source_cifar(context["cifar_params"], index)


def _source_benchmarks(benchmarks: list[dict]) -> None:
    """Each job's runtime and peak memory, sourced from its benchmark file, in place."""
    for b in benchmarks:
        try:
            run = [Run.from_path(f"{RUNS_DIR}/" + b["job"].split("/", 1)[1]).id]
        except ValueError:
            run = []
        b["seconds_shown"] = Number(
            f"{b['seconds']:.1f}",
            f"runtime of {b['job']} (s)",
            b["path"],
            "s",
            run,
            (),
            "runtime",
        )
        b["max_rss_mb"] = Number(
            fmt_int(b["max_rss_mb"]),
            f"peak memory of {b['job']} (MB)",
            b["path"],
            "max_rss",
            run,
            (),
            "runtime",
        )


def runtimes_by_rule(benchmarks: list[dict]) -> list[dict]:
    """One row per rule: its jobs, their total and longest wall time, the largest peak
    memory; each a Number naming the benchmark files it sums."""
    rows = []
    for rule in dict.fromkeys(b["job"].split("/")[0] for b in benchmarks):
        jobs = [b for b in benchmarks if b["job"].split("/")[0] == rule]
        longest = max(jobs, key=lambda b: b["seconds"])
        rss = [b for b in jobs if str(b["max_rss_mb"]) not in ("", "None", "-")]
        source = f"benchmarks/{rule}/" if len(jobs) > 1 else jobs[0]["path"]
        rows.append(
            {
                "rule": rule.replace("_", " "),
                "jobs": Number(str(len(jobs)), f"jobs of {rule}", source, "count", kind="count"),
                "total": Number(
                    f"{sum(b['seconds'] for b in jobs):.1f}",
                    f"total runtime of {rule} (s)",
                    source,
                    "s",
                    kind="runtime",
                ),
                "longest": longest["seconds_shown"],
                "max_rss_mb": max(rss, key=lambda b: float(str(b["max_rss_mb"]).replace(",", "")))[
                    "max_rss_mb"
                ]
                if rss
                else "-",
            }
        )
    return rows


def _source_dataset(dataset: dict, manifest: str) -> None:
    name = dataset.get("name", manifest)
    dataset["counts"] = {
        split: Number(
            fmt_int(n),
            f"data set {name}: {split} images",
            manifest,
            f"counts.{split}",
            kind="count",
        )
        for split, n in dataset["counts"].items()
    }
    dataset["num_classes"] = Number(
        dataset["num_classes"], f"data set {name}: classes", manifest, "num_classes", kind="count"
    )
    dataset["counts_per_class"] = {
        split: {
            c: Number(
                fmt_int(n),
                f"data set {name}: {split} images of class {c}",
                manifest,
                f"counts_per_class.{split}.{c}",
                kind="count",
            )
            for c, n in per_class.items()
        }
        for split, per_class in dataset["counts_per_class"].items()
    }


def _source_cifar(check: dict, index) -> None:
    arch = check["readings_file"]
    published = "report/published.yaml"
    for key, source, field, kind in (
        ("stated", published, "seed000.cifar_mobilenet_v2_trainable_params", "published"),
        ("trainable", arch, "trainable_params (reading: tables)", "result"),
        ("diff", arch, "trainable_difference (reading: tables)", "result"),
        ("diff_pct", arch, "trainable_difference / stated", "result"),
        ("closest_distance", arch, "closest_distance", "result"),
    ):
        check[key] = Number(
            check[key],
            f"the CIFAR-10 MobileNetV2 report's parameter count: {key}",
            source,
            field,
            kind=kind,
        )
    for r in check["runs"]:
        found = [x for (_, _, m, _), runs in index.items() if m == r["model"] for x in runs]
        source = Run.from_path(f"{RUNS_DIR}/{found[0][0]}").file("metrics") if found else "-"
        r["trainable"] = Number(
            r["trainable"],
            f"{r['model']}: trainable parameters",
            source,
            "trainable_params",
            [i for i, _ in found],
            [f for _, f in found],
        )


def _cifar_param_check(metrics, published, arch, arch_dir) -> dict | None:
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
        # The architecture stage's readings, the source of the numbers above.
        "readings_file": Path(arch_dir, ARCHITECTURE_FILES["cifar_readings"]).as_posix(),
    }
