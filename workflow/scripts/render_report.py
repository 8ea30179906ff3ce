"""Snakemake script: render results/report/report.html and report.pdf from the outputs."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job  # noqa: E402

start_job(snakemake)

from mobilenet_repro.report.context import build_context
from mobilenet_repro.report.render import render

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
render(context, snakemake.output.html, snakemake.output.pdf)
print("report rendered", file=sys.stderr)
