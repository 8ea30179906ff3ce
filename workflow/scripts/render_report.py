"""Snakemake script: render results/report/<name>/report.html and report.pdf from the outputs,
with numbers.json (every number and its source) and the changes since the previous report."""

import sys
from pathlib import Path

# The workflow's checkout: its src/ (conda envs too), and the commit and files the report records.
REPO = Path(snakemake.scriptdir).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from mobilenet_repro.jobs import start_job  # noqa: E402

start_job(snakemake)

from mobilenet_repro.report.audit import audit_context
from mobilenet_repro.report.build import build_report
from mobilenet_repro.report.changes import run_records
from mobilenet_repro.report.claims import claims_context
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
    repo=REPO,
)
context["claims"] = claims_context(snakemake.input.claims)
context["audit"] = audit_context(snakemake.input.audit[0] if snakemake.input.audit else None)
build_report(
    context,
    snakemake.output.html,
    snakemake.output.pdf,
    snakemake.output.numbers,
    runs=run_records(snakemake.params.config, snakemake.input.metrics, snakemake.input.manifests),
    previous=snakemake.params.previous,
    compare_with=snakemake.params.compare_with,
    tolerance=snakemake.params.tolerance,
    # The templates the rule declares: the folder holding the top-level ones.
    template_dir=next(
        Path(t).parent for t in snakemake.input.templates if t.endswith("report.html.j2")
    ),
    repo=REPO,
)
print("report rendered", file=sys.stderr)
