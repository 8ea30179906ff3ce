"""Snakemake script: verdicts of our trained accuracies against the published ones."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job

start_job(snakemake)

import pandas as pd

from mobilenet_repro.analysis.accuracy import compare, test_curves
from mobilenet_repro.counting.published import load_published
from mobilenet_repro.files import write_csv

published_path = Path(snakemake.input.published)
verdicts = compare(
    load_published(published_path),
    pd.read_csv(snakemake.input.runs),
    {"datasets": snakemake.params.datasets},
    published_dir=published_path.parent,
    curves=test_curves(snakemake.input.histories),
)
write_csv(verdicts, snakemake.output.verdicts)
counts = verdicts["status"].value_counts().to_dict()
print(f"{len(verdicts)} comparisons: {counts}", file=sys.stderr)
