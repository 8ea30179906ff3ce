"""Every path the workflow writes or reads, spelled once, and the files shipped with the code.

Outputs are relative to the workflow's working directory (the checkout, or `--directory`);
`{...}` fields are Snakemake wildcards, filled with `str.format` outside the workflow. The
rules (workflow/rules/*.smk), the job scripts, the analysis and the report all take their
paths from here, so moving an output is one edit.

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
RUNS_TABLE = "results/summary/runs.csv"  # one row per run, from every metrics.json

# ------------------------------------------------------------------------------ data sets
RESOURCES_DIR = "resources"  # downloads (resources/downloads/) and prepared data sets
DATASET = "resources/datasets/{dataset}.npz"
# A frozen base's pooled features of a data set, computed once for all epochs and seeds.
FEATURES = "resources/features/{dataset}/{model}.npz"
MANIFEST = "results/data/{dataset}/manifest.json"

# ------------------------------------------------------------------------------ analyses
ANALYSIS_DIR = "results/analysis/{experiment}"  # notebooks' tables and figures, seed 002's
BACKENDS_TABLE = f"{ANALYSIS_DIR}/backends.csv"
ARCHITECTURES_DIR = "results/architectures"
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
ACCURACY_DIR = "results/accuracy"
ACCURACY_VERDICTS = f"{ACCURACY_DIR}/verdicts.csv"
ACCURACY_CURVES = f"{ACCURACY_DIR}/curves"  # .png and .svg
CLAIMS_VERDICTS = "results/claims/verdicts.csv"  # every registry claim with its verdict
AUDIT_DIR = "results/audit"
AUDIT_TABLE = f"{AUDIT_DIR}/audit.csv"
AUDIT_RUN_DIR = f"{AUDIT_DIR}/runs"  # the re-trained runs, <run id>/ each
AUDIT_CHECKPOINT_DIR = f"resources/audit_checkpoints/{RUN_PATH}"

# -------------------------------------------------------------------------------- report
# One folder per configuration (its `name`), so a second configuration keeps the first's.
REPORT_DIR = "results/report/{name}"
REPORT_HTML = f"{REPORT_DIR}/report.html"
REPORT_PDF = f"{REPORT_DIR}/report.pdf"
REPORT_NUMBERS = f"{REPORT_DIR}/numbers.json"  # every number the report prints, with its source
# The previous build's record, kept outside the report's outputs (which Snakemake deletes
# before the job runs) for the section "Changes since the previous report".
REPORT_PREVIOUS = f"{REPORT_DIR}/previous/numbers.json"


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
