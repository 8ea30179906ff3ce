"""Snakemake script: seed 002's three comparison tables of one experiment (seed002.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job

start_job(snakemake)

from mobilenet_repro.analysis.seed002 import compare
from mobilenet_repro.files import write_csv

tables = compare(snakemake.input.metrics, snakemake.params.target)
for name, table in tables.items():
    write_csv(table, snakemake.output[name])
    print(f"{name}: {len(table)} rows", file=sys.stderr)
