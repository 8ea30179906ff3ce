"""Snakemake script: our validation curves over the published per-epoch curves."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job

start_job(snakemake)

import pandas as pd

from mobilenet_repro.analysis.accuracy_figures import plot_curves
from mobilenet_repro.counting.published import load_published

published_path = Path(snakemake.input.published)
plot_curves(
    pd.read_csv(snakemake.input.verdicts, keep_default_na=False, na_values=[""]),
    load_published(published_path),
    snakemake.input.histories,
    snakemake.output.png,
    snakemake.output.svg,
    published_dir=published_path.parent,
    names=snakemake.params.names,
)
print(f"wrote {snakemake.output.png} and {snakemake.output.svg}", file=sys.stderr)
