"""The report's context: everything the templates show, read from the pipeline's files.

`build_context` assembles the whole context, once, from the files the report rule declares
(`ReportInputs`); each section has one builder below. Every number shown is read there from a
pipeline output file (metrics, tables, manifests, benchmark files, the architecture stage) or
from report/published.yaml, formatted by `formatting` and made a `numbers.Number` where it
is read: its text with the file and field, its runs and their configuration fingerprints
(numbers.json). Templates only lay them out.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from mobilenet_repro.analysis.accuracy import compared_with
from mobilenet_repro.analysis.noise import MIN_SEEDS_FOR_STD
from mobilenet_repro.files import read_json
from mobilenet_repro.formatting import fmt_int
from mobilenet_repro.models.specs import ARCH_SPECS
from mobilenet_repro.paths import (
    ACCURACY_CURVES,
    ACCURACY_VERDICTS,
    ANALYSIS_FIGURES,
    ANALYSIS_TABLE,
    ARCHITECTURE_FILES,
    ARCHITECTURES_FIGURE,
    BACKENDS_TABLE,
    PUBLISHED,
    RUNS_DIR,
)
from mobilenet_repro.report.accuracy import accuracy_context
from mobilenet_repro.report.agreement import backends_context
from mobilenet_repro.report.audit import audit_context
from mobilenet_repro.report.claims import claims_context
from mobilenet_repro.report.counting import report_context
from mobilenet_repro.report.datasheets import datasheet
from mobilenet_repro.report.numbers import Number, sourced
from mobilenet_repro.report.results import (
    cached_features,
    compute_used,
    final_sides,
    model_settings_rows,
    rank_models,
    result_row,
    settings_rows,
    surprises,
)
from mobilenet_repro.report.seed002 import seed002_context
from mobilenet_repro.run_model import experiment_backends
from mobilenet_repro.runs import DEFAULT as DEFAULT_BACKEND
from mobilenet_repro.runs import Run
from mobilenet_repro.training.diagnosis import CHANCE_MARGIN


@dataclass(frozen=True)
class ReportInputs:
    """The files the report rule gives the renderer, and the configuration they were made by.

    `arch_dir`, `accuracy_dir`, `claims_file` and `audit_file` are optional so that a part of
    the pipeline can be reported alone; `root` is what figure paths are relative to (Typst's
    root) and `repo` the checkout whose commit the report names.
    """

    config: dict
    runs_csv: Path | str
    metrics_files: list = field(default_factory=list)
    analysis_dir: Path | str = "."
    manifest_files: list = field(default_factory=list)
    benchmark_files: list = field(default_factory=list)
    published_file: Path | str = PUBLISHED
    arch_dir: Path | str | None = None
    accuracy_dir: Path | str | None = None
    claims_file: Path | str | None = None
    audit_file: Path | str | None = None
    root: Path | str = "."
    repo: Path | str = "."


def build_context(inputs: ReportInputs) -> dict:
    """Everything the templates show, each section from its own builder (all but the
    Changes section, which needs this build's printed numbers: build.build_report)."""
    config = inputs.config
    runs = pd.read_csv(inputs.runs_csv)
    metrics = [read_json(p) for p in inputs.metrics_files]
    published = yaml.safe_load(Path(inputs.published_file).read_text())
    index = _run_index(metrics)
    experiments = [
        _experiment_context(exp_id, exp, inputs, runs, index)
        for exp_id, exp in config["experiments"].items()
    ]
    arch, arch_figures = _architectures(inputs)
    accuracy, accuracy_figures = _accuracy(inputs, published)
    return {
        "title": config["report"]["title"],
        "authors": config["report"]["authors"],
        "note": config["report"]["note"],
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        **_summary(runs, Path(inputs.runs_csv), metrics, index, len(experiments)),
        "chance_margin": f"{CHANCE_MARGIN * 100:.0f}",
        "experiments": experiments,
        "datasets": [_dataset(read_json(p), Path(p).as_posix()) for p in inputs.manifest_files],
        "models": [
            {
                **v,
                "id": k,
                "label": v.get("label") or k,
                "architecture": ARCH_SPECS[v["arch"]].label,
            }
            for k, v in config["models"].items()
        ],
        # Data sets are named by their titles in the text, never by their ids.
        "dataset_titles": _names(config["datasets"], "title"),
        **_environment(metrics, inputs.metrics_files),
        "git": git_state(Path(inputs.repo)),
        "config_yaml": yaml.safe_dump(config, sort_keys=False),
        **_runtimes(inputs.benchmark_files),
        "published": published,
        "arch": arch,
        "accuracy": accuracy,
        "claims": claims_context(inputs.claims_file),
        "audit": audit_context(inputs.audit_file),
        "figures": {**arch_figures, **accuracy_figures},
    }


# ----------------------------------------------------------------------------- helpers
def figure(png: Path | str, svg: Path | str, root: Path | str) -> dict:
    """A figure for both outputs: a data URI for the HTML, a root-relative path for Typst."""
    png, svg = Path(png), Path(svg)
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    return {
        "png_data_uri": f"data:image/png;base64,{data}",
        "svg_path": "/" + svg.resolve().relative_to(Path(root).resolve()).as_posix(),
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


def _names(entries: dict, field: str) -> dict[str, str]:
    """Id -> the configuration's name for it (a model's label, a data set's title)."""
    return {k: (v or {}).get(field) or k for k, v in entries.items()}


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


# ----------------------------------------------------------------------------- summary
# The counts the abstract and the summary print: key -> (runs.csv field, kind).
SUMMARY_FIELDS = {
    "n_runs": ("rows", "count"),
    "n_experiments": ("experiment (distinct)", "count"),
    "n_models": ("model (distinct)", "count"),
    "n_datasets": ("dataset (distinct)", "count"),
    "total_train_minutes": ("train_seconds (sum / 60)", "runtime"),
    "device_hours": ("train_seconds x threads or GPUs (sum / 3600)", "runtime"),
}


def _summary(runs: pd.DataFrame, runs_csv: Path, metrics, index, n_experiments: int) -> dict:
    """The abstract's counts and compute, each a Number of runs.csv over every run."""
    device_hours, on_gpu = compute_used(metrics)
    values = {
        "n_runs": len(runs),
        "n_experiments": n_experiments,
        "n_models": runs["model"].nunique(),
        "n_datasets": runs["dataset"].nunique(),
        "total_train_minutes": f"{runs['train_seconds'].sum() / 60:.1f}",
        "device_hours": f"{device_hours:.2f}",
    }
    every = [r for found in index.values() for r in found]
    summary = {
        key: Number(
            values[key],
            f"all runs: {key.replace('_', ' ')}",
            runs_csv.as_posix(),
            field,
            [r for r, _ in every],
            [f for _, f in every],
            kind,
        )
        for key, (field, kind) in SUMMARY_FIELDS.items()
    }
    features = [{**f, "seconds": f"{f['seconds']:.0f}"} for f in cached_features(metrics)]
    return {
        **summary,
        "device_kind": "GPU" if on_gpu else "CPU core",
        "cached_features": features,
        "weights_files": _weights_files(metrics),
    }


def _weights_files(metrics: list[dict]) -> list[tuple[str, str]]:
    """Pretrained weights the runs started from: each file once, with its sha256."""
    return sorted(
        {
            (Path(m["weights_file"]["path"]).name, m["weights_file"]["sha256"] or "missing")
            for m in metrics
            if m.get("weights_file")
        }
    )


# ----------------------------------------------------------------------------- experiments
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


def _result_rows(exp_id, config, table_path: Path, runs, runs_of) -> list[dict]:
    """The experiment's results table, each printed value a Number of results_table.csv."""
    backends = experiment_backends(config, exp_id)
    # The backend is named beside each model where it is not only the default.
    named = backends != [DEFAULT_BACKEND]
    rows = [
        result_row(r, runs, exp_id, config["models"], backend_named=named)
        for _, r in pd.read_csv(table_path).iterrows()
    ]
    return sourced(
        rows,
        {key: field for key, (field, _, _) in RESULT_FIELDS.items()},
        table_path.as_posix(),
        label=lambda r, key: (
            f"{exp_id}: {r['model']} on {r['dataset']}{_backend_tag(r)}: {RESULT_FIELDS[key][1]}"
        ),
        runs=lambda r: [i for i, _ in runs_of(r)],
        fingerprints=lambda r: [f for _, f in runs_of(r)],
        kinds={key: kind for key, (_, _, kind) in RESULT_FIELDS.items()},
    )


def _recipe(exp_id: str, name: str, recipe: dict, found: list) -> dict:
    """The experiment's recipe as configured, its numbers Numbers of the configuration."""
    return {
        k: Number(
            v,
            f"{exp_id}: recipe {name}: {k}",
            "configuration",
            f"recipes.{name}.{k}",
            [i for i, _ in found],
            [f for _, f in found],
            "config",
        )
        if isinstance(v, int | float) and not isinstance(v, bool)
        else v
        for k, v in recipe.items()
    }


EXPERIMENT_FIGURES = tuple(ANALYSIS_FIGURES.values())


def _experiment_context(exp_id, exp, inputs: ReportInputs, runs, index) -> dict:
    config, analysis_dir = inputs.config, Path(inputs.analysis_dir) / exp_id
    recipe = config["recipes"][exp["recipe"]]
    labels = _names(config["models"], "label")
    titles = _names(config["datasets"], "title")

    def runs_of(row):
        return index.get((exp_id, row["dataset"], row["model"], row["backend"]), [])

    def fig(name):
        return figure(analysis_dir / f"{name}.png", analysis_dir / f"{name}.svg", inputs.root)

    rows = _result_rows(exp_id, config, analysis_dir / ANALYSIS_TABLE, runs, runs_of)
    found = [r for (e, *_), runs in index.items() if e == exp_id for r in runs]
    return {
        "id": exp_id,
        "title": exp.get("title") or exp_id,
        "description": exp.get("description", ""),
        "datasets": exp["datasets"],
        "target_accuracy": exp.get("target_accuracy"),
        "recipe_name": exp["recipe"],
        "recipe": _recipe(exp_id, exp["recipe"], recipe, found),
        "settings": model_settings_rows({m: config["models"][m] for m in exp["models"]})
        + settings_rows(recipe),
        # Only a warm-up followed by cosine decay has the shape of the CIFAR-10 MobileNetV2
        # report's Fig. 5; a figure of another schedule must not cite it.
        "fig5_shape": recipe.get("schedule", "cosine") == "cosine"
        and bool(recipe.get("warmup_epochs") or recipe.get("warmup_steps")),
        "seeds": exp["seeds"],
        "backends": experiment_backends(config, exp_id),
        "backend_comparison": backends_context(
            analysis_dir / Path(BACKENDS_TABLE).name, labels, runs_of
        ),
        "rows": rows,
        # A model at chance is never "the most accurate" (training.diagnosis.CHANCE_MARGIN).
        "best": max((r for r in rows if r["learned"]), key=lambda r: r["top1_mean"], default=None),
        "ranking": rank_models(rows),
        "surprises": surprises(rows, final_sides(inputs.arch_dir)),
        "underpowered": len(exp["seeds"]) < MIN_SEEDS_FOR_STD,
        # Seeds of a frozen base share its features: they vary the new head only.
        "head_only_seeds": bool(recipe.get("freeze_base")),
        "not_learned": [
            f"{r['label']} ({titles.get(r['dataset'], r['dataset'])})"
            for r in rows
            if not r["learned"]
        ],
        "seed002": seed002_context(analysis_dir, exp.get("analyses", []), labels, fig),
        # The notebooks draw the published accuracies these runs are compared with.
        "published_marked": not compared_with(_accuracy_verdicts(inputs), exp_id).empty,
        "figures": {name: fig(name) for name in EXPERIMENT_FIGURES},
    }


# ----------------------------------------------------------------------------- data sets
def _dataset(manifest: dict, path: str) -> dict:
    """A data set's manifest with its datasheet, its counts Numbers of the manifest."""
    name = manifest.get("name", path)

    def count(n, what, field):
        return Number(fmt_int(n), f"data set {name}: {what}", path, field, kind="count")

    return {
        **manifest,
        "title": manifest.get("title") or name,
        "datasheet": datasheet(manifest),
        "counts": {
            split: count(n, f"{split} images", f"counts.{split}")
            for split, n in manifest["counts"].items()
        },
        "num_classes": Number(
            manifest["num_classes"], f"data set {name}: classes", path, "num_classes", kind="count"
        ),
        "counts_per_class": {
            split: {
                c: count(n, f"{split} images of class {c}", f"counts_per_class.{split}.{c}")
                for c, n in per_class.items()
            }
            for split, per_class in manifest["counts_per_class"].items()
        },
    }


# ----------------------------------------------------------------------------- reproducibility
def _environment(metrics: list[dict], metrics_files) -> dict:
    """Package versions and hardware, as the first run's metrics.json recorded them."""
    first = metrics[0] if metrics else {}
    source = Path(metrics_files[0]).as_posix() if metrics_files else "-"

    def numbers(what):
        return {
            k: Number(v, f"{what}: {k}", source, f"{what}.{k}", kind="environment")
            if isinstance(v, str | int) and not isinstance(v, bool)
            else v
            for k, v in first.get(what, {}).items()
        }

    return {"versions": numbers("versions"), "hardware": numbers("hardware")}


def read_benchmarks(paths) -> list[dict]:
    """Each job's wall time and peak memory, Numbers of its Snakemake benchmark file."""
    rows = []
    for path in map(Path, paths):
        if not path.exists():
            continue
        with path.open() as fh:
            records = list(csv.DictReader(fh, delimiter="\t"))
        if not records:
            continue
        rec = records[-1]
        job = path.relative_to(path.parts[0]).with_suffix("").as_posix()
        try:
            run = [Run.from_path(f"{RUNS_DIR}/" + job.split("/", 1)[1]).id]
        except ValueError:
            run = []
        rss = None if rec.get("max_rss") in (None, "", "NA", "-") else float(rec["max_rss"])

        def number(text, label, field, path=path, run=run):
            return Number(text, label, path.as_posix(), field, run, (), "runtime")

        rows.append(
            {
                "path": path.as_posix(),
                "job": job,
                "seconds": float(rec["s"]),
                "seconds_shown": number(f"{float(rec['s']):.1f}", f"runtime of {job} (s)", "s"),
                "max_rss_mb": number(fmt_int(rss), f"peak memory of {job} (MB)", "max_rss"),
            }
        )
    return rows


def _runtimes(benchmark_files) -> dict:
    benchmarks = read_benchmarks(benchmark_files)
    return {"benchmarks": benchmarks, "runtimes": runtimes_by_rule(benchmarks)}


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


# ----------------------------------------------------------------------------- stages
def _architectures(inputs: ReportInputs) -> tuple[dict | None, dict]:
    """The architecture stage's section and its figure, where the stage's files are given."""
    if inputs.arch_dir is None or not Path(inputs.arch_dir, ARCHITECTURE_FILES["stats"]).exists():
        return None, {}
    arch_dir = Path(inputs.arch_dir)
    stem = arch_dir / Path(ARCHITECTURES_FIGURE).name
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    section = report_context(
        arch_dir,
        models=_names(inputs.config["models"], "label"),
        datasets=_names(inputs.config["datasets"], "title"),
    )
    return section, {"madds_vs_params": figure(png, svg, inputs.root)}


def _accuracy_verdicts(inputs: ReportInputs) -> Path | None:
    return Path(inputs.accuracy_dir, Path(ACCURACY_VERDICTS).name) if inputs.accuracy_dir else None


def _accuracy(inputs: ReportInputs, published: dict) -> tuple[dict | None, dict]:
    """Trained accuracies against the published ones, and the figure of their curves."""
    if inputs.accuracy_dir is None:
        return None, {}
    accuracy_dir = Path(inputs.accuracy_dir)
    arch_verdicts = (
        Path(inputs.arch_dir, ARCHITECTURE_FILES["verdicts"]) if inputs.arch_dir else None
    )
    stem = accuracy_dir / Path(ACCURACY_CURVES).name
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    models = _names(inputs.config["models"], "label")
    datasets = _names(inputs.config["datasets"], "title")

    def run_name(run: str) -> str:  # experiment/data set/model, as the verdicts name a run
        _, dataset, model = run.split("/")
        return f"{models.get(model, model)} on {datasets.get(dataset, dataset)}"

    return (
        accuracy_context(_accuracy_verdicts(inputs), arch_verdicts, published, run_name),
        {"accuracy_curves": figure(png, svg, inputs.root)},
    )
