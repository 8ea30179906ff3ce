"""Every path the workflow writes or reads, spelled once, and the files shipped with the code.

Outputs are relative to the workflow's working directory (the checkout, or `--directory`);
`{...}` fields are Snakemake wildcards, filled with `str.format` outside the workflow; the
`{name}` field is the configuration's `name`, which the workflow fills before it declares a
rule (`for_config`). The rules (workflow/rules/*.smk), the job scripts, the analysis and the
report all take their paths from here, so moving an output is one edit.

Two kinds of output: what is identified by its own id and fingerprint and shared by every
configuration that asks for it (training runs, data manifests, checkpoints, prepared data);
and what is derived for one configuration (the runs table, analyses, verdicts, claims,
architecture tables, the audit table, the report), under that configuration's name, so that
running another configuration never rewrites the sources the first one's report names.

The configuration schema is package data, found with `importlib.resources`. What an author of
the report edits (templates, claims, published numbers and curves) is in the checkout's
top-level report/ folder.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# ------------------------------------------------------------------------- training runs
RUN_PATH = "{experiment}/{dataset}/{model}/{replicate}"  # a run's id, and its folders' tail
RUNS_DIR = "results/runs"
RUN_DIR = f"{RUNS_DIR}/{RUN_PATH}"
RUN_CHECKPOINT_DIR = f"resources/checkpoints/{RUN_PATH}"  # outside the outputs: survives a kill
RUN_LOG = f"logs/train/{RUN_PATH}.log"
RUN_BENCHMARK = f"benchmarks/train/{RUN_PATH}.tsv"
# A run's outputs, by the name the train rule and train_run give them, in its folder.
RUN_FILES = {
    "metrics": "metrics.json",  # written last: its presence means the run finished
    "history": "history.csv",
    "schedule": "lr_schedule.csv",
    "model": "model.keras",
}

# ------------------------------------------------------------------------------ data sets
RESOURCES_DIR = "resources"  # downloads (resources/downloads/) and prepared data sets
DATASET = "resources/datasets/{dataset}.npz"
# A frozen base's pooled features of a data set, computed once for all epochs and seeds.
FEATURES = "resources/features/{dataset}/{model}.npz"
MANIFEST = "results/data/{dataset}/manifest.json"

# ------------------------------------------------------- derived for one configuration
# Everything computed from the runs (and the architecture counts) for the configuration called
# {name}: its report's sources. Its subfolders keep the names they had when they were shared
# (summary/, analysis/, ...), which `shared_form` relies on.
DERIVED_DIR = "results/derived/{name}"
RUNS_TABLE = f"{DERIVED_DIR}/summary/runs.csv"  # one row per run, from every metrics.json
ANALYSES_DIR = f"{DERIVED_DIR}/analysis"  # one folder per experiment, read whole by the report
ANALYSIS_DIR = f"{ANALYSES_DIR}/{{experiment}}"  # notebooks' tables and figures
# The analysis notebooks' outputs in ANALYSIS_DIR, by the rules' output names: each executed
# notebook (notebooks/<name>.ipynb, under its own name), the results table, and the figures
# (stems: each is written as .png and .svg).
ANALYSIS_NOTEBOOKS = {"results": "results.ipynb", "training": "training.ipynb"}
ANALYSIS_TABLE = "results_table.csv"
ANALYSIS_FIGURES = {
    "acc_params": "accuracy_vs_params",  # notebooks/results.ipynb
    "acc_madds": "accuracy_vs_mult_adds",  # notebooks/results.ipynb
    "curves": "learning_curves",  # notebooks/training.ipynb
    "schedule": "lr_schedule",  # notebooks/training.ipynb
}
BACKENDS_TABLE = f"{ANALYSIS_DIR}/backends.csv"
# Counted for the papers' grids and this configuration's models (on its data sets' classes).
ARCHITECTURES_DIR = f"{DERIVED_DIR}/architectures"
# The architecture stage's outputs in ARCHITECTURES_DIR, by the rule's output names.
ARCHITECTURE_FILES = {
    "stats": "stats.csv",
    "layers": "layers.csv",
    "ratios": "separable_ratios.csv",
    "verdicts": "verdicts.csv",
    "structures": "structures.csv",
    "cifar_readings": "cifar_readings.csv",
    "graph": "graph.csv",  # each architecture's layers in order: class, activation, inputs
    "meta": "meta.json",
}
ARCHITECTURES_FIGURE = f"{ARCHITECTURES_DIR}/madds_vs_params"  # .png and .svg
ACCURACY_DIR = f"{DERIVED_DIR}/accuracy"
ACCURACY_VERDICTS = f"{ACCURACY_DIR}/verdicts.csv"
ACCURACY_CURVES = f"{ACCURACY_DIR}/curves"  # .png and .svg
CLAIMS_VERDICTS = f"{DERIVED_DIR}/claims/verdicts.csv"  # every registry claim with its verdict
AUDIT_TABLE = f"{DERIVED_DIR}/audit/audit.csv"  # this configuration's audited runs compared
AUDIT_RUN_DIR = "results/audit/runs"  # the re-trained runs, <run id>/ each, shared like runs
AUDIT_CHECKPOINT_DIR = f"resources/audit_checkpoints/{RUN_PATH}"

# -------------------------------------------------------------------------------- report
# One folder per configuration (its `name`), so a second configuration keeps the first's.
REPORT_DIR = "results/report/{name}"
REPORT_HTML = f"{REPORT_DIR}/report.html"
REPORT_PDF = f"{REPORT_DIR}/report.pdf"
REPORT_NUMBERS = f"{REPORT_DIR}/numbers.json"  # every number the report prints, with its source
# The record of the last report the workflow accepted as complete, for the section "Changes
# since the previous report": the output of its own rule, after the report's (whose outputs
# Snakemake deletes before the report job runs), never written by the render itself.
REPORT_PREVIOUS = f"{REPORT_DIR}/previous/numbers.json"


def for_config(path: str, name: str) -> str:
    """`path` with its `{name}` field filled with a configuration's name, its other fields
    (Snakemake's wildcards) left as they are."""
    return path.replace("{name}", name)


def enclosing(path: str | Path, folder: str, inner: str | None = None) -> Path:
    """The folder that the template `folder` names, found from `path`: a file directly inside
    `folder`, or inside `inner` (a template below `folder`, such as ANALYSIS_DIR below
    ANALYSES_DIR). A rule passes a folder so, from its own input's path (which Snakemake's
    storage may have moved), with the depth the templates here give."""
    depth = len(Path(inner).relative_to(folder).parts) if inner else 0
    return Path(path).parents[depth]


def shared_form(source: str) -> str:
    """A source path as it would be without per-configuration folders
    (results/derived/<name>/summary/runs.csv -> results/summary/runs.csv): the same number of
    two configurations, or of a record written before those folders existed, compares as one."""
    prefix = DERIVED_DIR.split("{name}")[0]
    if source.startswith(prefix) and "/" in source[len(prefix) :]:
        return "results/" + source[len(prefix) :].split("/", 1)[1]
    return source


# --------------------------------------------------------------------- shipped with the code
def package_file(*parts: str) -> Path:
    """A file or folder shipped inside the package (the package is installed as files, not
    zipped, so this is a real path that Snakemake can declare as an input)."""
    return Path(str(files("mobilenet_repro").joinpath(*parts)))


SCHEMA = package_file("config.schema.yaml")

# ------------------------------------------------------- what an author of the report edits
# The checkout's top-level report/ folder: the templates, the claims registry, the published
# numbers and curves. Rules declare these files as inputs; the package turns outputs into
# values and the templates turn values into sentences.
REPORT_SOURCES = Path(__file__).resolve().parents[2] / "report"
PUBLISHED = REPORT_SOURCES / "published.yaml"
CLAIMS = REPORT_SOURCES / "claims.yaml"  # the source documents' checkable claims
PUBLISHED_CURVES = REPORT_SOURCES / "published_curves"
TEMPLATES = REPORT_SOURCES / "templates"
