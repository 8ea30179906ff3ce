"""Snakemake script: render results/report/<name>/report.html and report.pdf from the outputs,
with numbers.json (every number and its source) and the changes since the previous report."""

import sys
from pathlib import Path

# The workflow's checkout: its src/ (conda envs too), and the commit and files the report records.
REPO = Path(snakemake.scriptdir).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from mobilenet_repro.jobs import start_job  # noqa: E402

start_job(snakemake)

from mobilenet_repro.report.build import write_report
from mobilenet_repro.report.context import ReportInputs

inputs = snakemake.input
write_report(
    ReportInputs(
        config=snakemake.params.config,
        runs_csv=inputs.runs,
        metrics_files=list(inputs.metrics),
        analysis_dir=snakemake.params.analysis_dir,
        manifest_files=list(inputs.manifests),
        benchmark_files=list(inputs.benchmarks),
        published_file=inputs.published,
        arch_dir=snakemake.params.arch_dir,
        accuracy_dir=snakemake.params.accuracy_dir,
        claims_file=inputs.claims,
        audit_file=inputs.audit[0] if inputs.audit else None,
        repo=REPO,
    ),
    snakemake.output.html,
    snakemake.output.pdf,
    snakemake.output.numbers,
    previous=snakemake.params.previous,
    compare_with=snakemake.params.compare_with,
    tolerance=snakemake.params.tolerance,
    # The templates the rule declares: the folder holding the top-level ones.
    template_dir=next(Path(t).parent for t in inputs.templates if t.endswith("report.html.j2")),
)
print("report rendered", file=sys.stderr)
