"""Snakemake script: render results/report/report.html and report.pdf from the outputs, with
numbers.json (every number and its source) and the changes since the previous report."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job  # noqa: E402

start_job(snakemake)

from mobilenet_repro.audit import audit_context
from mobilenet_repro.report.build import build_report
from mobilenet_repro.report.changes import run_records
from mobilenet_repro.report.context import build_context

context = build_context(
    config=snakemake.params.config,
    runs_csv=snakemake.input.runs,
    metrics_files=snakemake.input.metrics,
    analysis_dir=snakemake.params.analysis_dir,
    manifest_files=snakemake.input.manifests,
    benchmark_files=snakemake.input.benchmarks,
    published_file=snakemake.input.published,
    arch_dir=Path(snakemake.input.arch_stats).parent,
    accuracy_dir=Path(snakemake.input.accuracy).parent,
)
context["audit"] = audit_context(snakemake.input.audit[0] if snakemake.input.audit else None)
build_report(
    context,
    snakemake.output.html,
    snakemake.output.pdf,
    snakemake.output.numbers,
    runs=run_records(snakemake.params.config, snakemake.input.metrics, snakemake.input.manifests),
    compare_with=snakemake.params.compare_with,
    tolerance=snakemake.params.tolerance,
)
print("report rendered", file=sys.stderr)
