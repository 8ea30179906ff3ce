"""Snakemake script: one row per finished run in the runs table (paths.RUNS_TABLE)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job  # noqa: E402

start_job(snakemake)

from mobilenet_repro.analysis.results import runs_table
from mobilenet_repro.files import write_csv

table = runs_table(snakemake.input.metrics)
write_csv(table, snakemake.output.runs)
print(f"{len(table)} runs summarised", file=sys.stderr)
