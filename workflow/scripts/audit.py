"""Snakemake script: compare each audited run's re-training with the original (audit.csv)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job  # noqa: E402

start_job(snakemake)

from mobilenet_repro.analysis.audit import audit_table
from mobilenet_repro.files import write_csv

n = len(snakemake.params.runs)
originals, audits = snakemake.input.metrics[:n], snakemake.input.metrics[n:]
pairs = [
    (run, Path(a).parent, Path(b).parent)
    for run, a, b in zip(snakemake.params.runs, originals, audits, strict=True)
]
table = audit_table(pairs)
write_csv(table, snakemake.output.table)
differ = table[(table["kind"] == "result") & ~table["identical"]]
print(f"{n} run(s) audited; {len(differ)} result field(s) differ", file=sys.stderr)
