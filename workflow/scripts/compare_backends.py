"""Snakemake script: one experiment's test top-1 per Keras backend and their agreement."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job

start_job(snakemake)

from mobilenet_repro.analysis.agreement import compare_backends
from mobilenet_repro.analysis.results import runs_table
from mobilenet_repro.files import write_csv

table = compare_backends(
    runs_table(snakemake.input.metrics), snakemake.params.backends, snakemake.params.tolerance
)
write_csv(table, snakemake.output.table)
for verdict, n in table["verdict"].value_counts().items():
    print(f"{verdict}: {n}", file=sys.stderr)
