"""One report build: the context, rendered; every number recorded and compared with the
previous record.

The Changes section needs this build's numbers, which only rendering tells (numbers.py), so
the HTML is rendered once to record them, then the comparison is made and both outputs are
rendered with it. The section prints no Number of its own, so both renderings print the
same numbers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from mobilenet_repro.files import write_json
from mobilenet_repro.paths import TEMPLATES
from mobilenet_repro.report import changes
from mobilenet_repro.report.context import ReportInputs, build_context
from mobilenet_repro.report.render import render, render_html


def tolerance_text(tolerance: float) -> str:
    if tolerance <= 0:
        return "none: any change of a printed value counts"
    return f"{tolerance * 100:g}% of the old value"


def write_report(
    inputs: ReportInputs,
    html_path,
    pdf_path,
    numbers_path,
    *,
    previous: Path | str,
    compare_with: str | None = None,
    tolerance: float = 0.0,
    template_dir: Path | str = TEMPLATES,
) -> dict:
    """The report of the files `inputs` names: context, HTML, PDF and numbers.json (see
    `build_report`, which this calls with the runs' records). Returns the record."""
    return build_report(
        build_context(inputs),
        html_path,
        pdf_path,
        numbers_path,
        changes.run_records(inputs.config, inputs.metrics_files, inputs.manifest_files),
        previous=previous,
        compare_with=compare_with,
        tolerance=tolerance,
        root=inputs.root,
        template_dir=template_dir,
        repo=inputs.repo,
    )


def build_report(
    context: dict,
    html_path,
    pdf_path,
    numbers_path,
    runs: dict,
    *,
    previous: Path | str,
    compare_with: str | None = None,
    tolerance: float = 0.0,
    root: Path | str = ".",
    template_dir: Path | str = TEMPLATES,
    repo: Path | str = ".",
) -> dict:
    """Write the HTML, the PDF and numbers.json.

    `runs` is `changes.run_records(...)`; `compare_with` a numbers.json to compare with
    instead of the previous build's record at `previous` (paths.REPORT_PREVIOUS). This never
    writes `previous`: the workflow copies numbers.json there once it holds the build complete
    (`changes.keep_record`), so a render that outlives a killed Snakemake never becomes the
    record the next build compares with. `template_dir` holds the templates; `repo` is the
    checkout whose files the record checksums. Returns the record.
    """
    old, old_path = changes.previous_record(compare_with, previous)
    about = {
        "generated": context.get("generated")
        or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": context.get("git", {}).get("commit", "unknown"),
        "dirty": context.get("git", {}).get("dirty", False),
        "tolerance": tolerance,
    }
    files = changes.file_checksums(repo)
    context = {**context, "changes": None}
    _, numbers = render_html(context, template_dir)
    record = changes.make_record(numbers, runs, files, about)
    context["changes"] = {
        **changes.compare(old, record, tolerance, old_path),
        "tolerance_text": tolerance_text(tolerance),
        "previous": Path(previous).as_posix(),
    }
    record["numbers"] = render(context, html_path, pdf_path, root, template_dir)
    write_json(record, numbers_path)
    return record
