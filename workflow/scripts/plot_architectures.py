"""Snakemake script: the figure of mult-adds against parameters for the whole grid."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job  # noqa: E402

start_job(snakemake)

import pandas as pd  # noqa: E402

from mobilenet_repro.counting.figure import plot_madds_vs_params  # noqa: E402

plot_madds_vs_params(
    pd.read_csv(snakemake.input.stats),
    pd.read_csv(snakemake.input.verdicts, keep_default_na=False),
    snakemake.output.png,
    snakemake.output.svg,
)
print(f"wrote {snakemake.output.png} and {snakemake.output.svg}", file=sys.stderr)
