"""Snakemake script: one row per finished run in results/summary/runs.csv."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: SIM115

from mobilenet_repro.analysis import runs_table
from mobilenet_repro.io import write_csv

table = runs_table(snakemake.input.metrics)
write_csv(table, snakemake.output.runs)
print(f"{len(table)} runs summarised", file=sys.stderr)
