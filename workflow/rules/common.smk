# Input functions and target lists shared by the rule files. Every (experiment, data set,
# model, backend, seed) of the configuration is one run with its own output directory.
from pathlib import Path

from mobilenet_repro import paths, runs
from mobilenet_repro.analysis.audit import audit_runs
from mobilenet_repro.run_model import (
    dataset_spec,
    expand_runs,
    experiment_backends,
    run_spec,
)
from mobilenet_repro.data.registry import source_classes

RUNS = expand_runs(config)
# Files shipped with the workflow (the notebooks) are addressed from the checkout, so the
# workflow also runs with --directory elsewhere (as the integration tests do); files shipped
# with the package (schema, published numbers, templates) come from mobilenet_repro.paths.
REPO = Path(workflow.basedir)


def for_config(path):
    """A path of paths.py with this configuration's name in its {name} field: what is derived
    for one configuration (results/derived/<name>/, results/report/<name>/) never rewrites
    another's."""
    return paths.for_config(path, config["name"])


# This configuration's report folder (results/report/<name>/).
REPORT = {
    key: for_config(path)
    for key, path in (
        ("html", paths.REPORT_HTML),
        ("pdf", paths.REPORT_PDF),
        ("numbers", paths.REPORT_NUMBERS),
        ("previous", paths.REPORT_PREVIOUS),
    )
}


wildcard_constraints:
    **runs.ID_PATTERNS,


def get_run_files(kind, experiment=None, backend=None):
    """Paths of one output kind (metrics.json, history.csv, ...) of every run (of one
    experiment, of one backend)."""
    return [
        f"{run.dir}/{kind}"
        for run in RUNS
        if experiment in (None, run.experiment) and backend in (None, run.backend)
    ]


def get_run_benchmarks():
    return [run.benchmark for run in RUNS]


def get_run_outputs():
    """The train rule's outputs: every file of paths.RUN_FILES in the run's folder."""
    return {name: f"{paths.RUN_DIR}/{fname}" for name, fname in paths.RUN_FILES.items()}


def get_run_spec(wildcards):
    """Everything that decides a run's result; a change here reruns that run only."""
    run = runs.Run.from_wildcards(wildcards)
    return run_spec(
        config, run.experiment, run.dataset, run.model, run.seed, run.backend
    )


def get_train_features(wildcards):
    """The cached base features a run trains its head on, when it can (training.features)."""
    from mobilenet_repro.training.features import cacheable

    if not cacheable(get_run_spec(wildcards)):
        return []
    return paths.FEATURES.format(dataset=wildcards.dataset, model=wildcards.model)


def get_feature_model(wildcards):
    """What decides a model's base features: its configuration without display keys."""
    from mobilenet_repro.run_model import DISPLAY_ONLY

    model = config["models"][wildcards.model]
    return {k: v for k, v in model.items() if k not in DISPLAY_ONLY}


def get_dataset_spec(wildcards):
    return dataset_spec(config, wildcards.dataset)


def get_dataset_classes(name):
    """Class count of a data set, where it is known without preparing the data."""
    return source_classes(config["datasets"][name]["source"])


def get_experiment_metrics(wildcards):
    return get_run_files(paths.RUN_FILES["metrics"], wildcards.experiment)


def get_experiment_histories(wildcards):
    return get_run_files(paths.RUN_FILES["history"], wildcards.experiment)


def get_reference_backend(wildcards):
    """The experiment's first backend: the others are compared with it."""
    return experiment_backends(config, wildcards.experiment)[0]


def get_reference_files(kind):
    """Input function: one output kind of the runs of the experiment's first backend (seed
    002's comparisons are between models, so on one backend)."""

    def files(wildcards):
        backend = get_reference_backend(wildcards)
        return get_run_files(paths.RUN_FILES[kind], wildcards.experiment, backend)

    return files


def get_compared_experiments():
    """Experiments trained under more than one backend (report section "Backends")."""
    return [e for e in config["experiments"] if len(experiment_backends(config, e)) > 1]


def get_experiment_schedules(wildcards):
    return get_run_files(paths.RUN_FILES["schedule"], wildcards.experiment)


def get_used_datasets():
    return sorted({run.dataset for run in RUNS})


def get_analysis_outputs():
    outputs = expand(
        f"{for_config(paths.ANALYSIS_DIR)}/{{name}}",
        experiment=list(config["experiments"]),
        name=[
            paths.ANALYSIS_TABLE,
            *(f"{stem}.png" for stem in paths.ANALYSIS_FIGURES.values()),
        ],
    )
    outputs += expand(
        for_config(paths.BACKENDS_TABLE), experiment=get_compared_experiments()
    )
    for exp_id, exp in config["experiments"].items():
        if exp["analyses"]:
            for kind in ("tables", "figures"):
                outputs += [
                    path.format(experiment=exp_id)
                    for path in get_seed002_outputs(kind).values()
                ]
    return outputs


def get_seed002_outputs(kind):
    """Seed 002's comparison tables (CSV) or figures (PNG and SVG) of one experiment."""
    from mobilenet_repro.analysis import seed002

    folder = for_config(paths.ANALYSIS_DIR)
    if kind == "tables":
        return {name: f"{folder}/{fname}" for name, fname in seed002.TABLES.items()}
    return {
        f"{name}_{ext}": f"{folder}/{name}.{ext}"
        for name in seed002.ANALYSES
        for ext in ("png", "svg")
    }


def get_seed002_report_outputs(kind):
    """get_seed002_outputs(kind), the tables and PNG figures marked for Snakemake's report."""

    def marked(path):
        if path.endswith(".svg"):
            return path
        caption = f"../report/seed002_{Path(path).stem}.rst"
        return report(
            path,
            caption=caption,
            category="Seed 002 comparisons",
            subcategory="{experiment}",
        )

    return {key: marked(path) for key, path in get_seed002_outputs(kind).items()}


def get_model_labels(wildcards=None):
    return {k: v.get("label") or k for k, v in config["models"].items()}


def get_display_names(wildcards=None):
    """What figures call data sets and models: their titles and labels, by id."""
    titles = {k: v.get("title") or k for k, v in config["datasets"].items()}
    return titles | get_model_labels()


def get_repo_file(relative):
    """A file of the checkout (the notebooks)."""
    return str(REPO / relative)


def get_package_files(*relative):
    """Files of the mobilenet_repro package the workflow imports (code or package data)."""
    return [str(paths.package_file(*name.split("/"))) for name in relative]


def get_published_curves():
    """Per-epoch curves published with trained results (published.yaml, `curve`)."""
    return sorted(str(p) for p in paths.PUBLISHED_CURVES.glob("*.csv"))


def get_report_templates():
    """Every template of the report (package data): editing one reruns the report only."""
    return sorted(str(p) for p in paths.TEMPLATES.rglob("*.j2"))


def get_report_figures():
    """Every figure the report embeds: the PNG in the HTML, the SVG in the PDF."""
    stems = [p[: -len(".png")] for p in get_analysis_outputs() if p.endswith(".png")]
    stems += [for_config(paths.ARCHITECTURES_FIGURE), for_config(paths.ACCURACY_CURVES)]
    return [f"{stem}.{ext}" for stem in stems for ext in ("png", "svg")]


def get_report_tables():
    """The analysis tables the report reads (its figures: get_report_figures)."""
    return [p for p in get_analysis_outputs() if p.endswith(".csv")]


def get_architecture_file(key):
    """One output of the architecture stage (paths.ARCHITECTURE_FILES)."""
    return f"{for_config(paths.ARCHITECTURES_DIR)}/{paths.ARCHITECTURE_FILES[key]}"


def get_architecture_dataset_classes():
    """Class count of each configured data set; None where only preparing it tells."""
    return {name: get_dataset_classes(name) for name in config["datasets"]}


def get_architecture_models():
    """The configured models with the data sets they train on (the counts depend on both)."""
    from mobilenet_repro.counting.grid import configured_specs

    return [
        {**vars(spec), "model_id": model_id, "dataset": dataset}
        for spec, model_id, dataset in configured_specs(
            config["models"], config["experiments"], get_architecture_dataset_classes()
        )
    ]


def get_final_targets():
    return [
        for_config(paths.RUNS_TABLE),
        REPORT["html"],
        REPORT["pdf"],
        REPORT["previous"],
    ]


# Cluster resources of training jobs (README "Running on a cluster"; schema: `resources`):
# resources.train, then per_arch[arch], then per_model[model id], key by key. Resources
# never trigger reruns, so raising one after a failed job reruns only what did not finish.
OPTIONAL_TRAIN_RESOURCES = ("gpu_model", "gres", "slurm_partition", "slurm_extra")


def get_model_resources(model_id, attempt=1):
    """Threads, memory, time and GPUs of one model's training job (a retry gets more)."""
    res = config["resources"]
    merged = {"threads": config["threads"], **res["train"]}
    merged.update(res["per_arch"].get(config["models"][model_id]["arch"], {}))
    merged.update(res["per_model"].get(model_id, {}))
    merged["mem_mb"] *= attempt
    merged["runtime"] *= attempt
    if not merged["gpus"]:
        merged["gpu_model"] = None  # a model without a count would ask for one GPU
    return merged


def get_train_threads(wildcards):
    return get_model_resources(wildcards.model)["threads"]


def get_train_resources():
    """The train rule's resources, each a function of the job's model and attempt.

    mem_mb, runtime and gpu (the SLURM plugin's names) always; gpu_model, gres,
    slurm_partition and slurm_extra only when the configuration sets them for some model,
    so that otherwise the profile's default-resources apply.
    """

    def resource(name, key=None):
        return lambda wildcards, attempt: get_model_resources(wildcards.model, attempt)[
            key or name
        ]

    resources = {
        "mem_mb": resource("mem_mb"),
        "runtime": resource("runtime"),
        "gpu": resource("gpu", "gpus"),
    }
    settings = [config["resources"]["train"]]
    settings += config["resources"]["per_arch"].values()
    settings += config["resources"]["per_model"].values()
    for name in OPTIONAL_TRAIN_RESOURCES:
        if any(s.get(name) is not None for s in settings):
            resources[name] = resource(name)
    return resources


# Determinism audit (audit.smk): which runs, their re-trained files, the report's input.
try:
    AUDIT_RUNS = audit_runs(config, RUNS)
except ValueError as exc:  # an unknown run id in audit_runs: stop before any job
    raise WorkflowError(str(exc)) from None


def get_audit_run_outputs():
    """The audit_train rule's outputs: a run's files under results/audit/runs/."""
    return {
        name: f"{paths.AUDIT_RUN_DIR}/{paths.RUN_PATH}/{fname}"
        for name, fname in paths.RUN_FILES.items()
    }


def get_audit_threads(wildcards):
    """The original's threads unless audit_threads says otherwise (a perturbed audit)."""
    return config["audit_threads"] or get_train_threads(wildcards)


def get_audit_pairs(kind):
    """metrics.json or history.csv of each audited run: the originals, then the re-trained."""
    return [run.file(kind) for run in AUDIT_RUNS] + [
        f"{paths.AUDIT_RUN_DIR}/{run.id}/{paths.RUN_FILES[kind]}" for run in AUDIT_RUNS
    ]


def get_audit_report_input():
    """audit.csv when the configuration asks for the audit (`audit`), else nothing."""
    return [for_config(paths.AUDIT_TABLE)] if config["audit"] else []
