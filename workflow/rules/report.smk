# Report: Jinja2 templates in report/templates render every table, figure and number from
# the pipeline's output files into a self-contained HTML page and a Typst-typeset PDF.

from mobilenet_repro.report.changes import load_record

# A compare_with that is not a report's record stops the run before any job starts.
if config["compare_with"]:
    try:
        load_record(config["compare_with"])
    except (OSError, ValueError) as exc:
        raise WorkflowError(str(exc)) from None


rule report:
    input:
        runs="results/summary/runs.csv",
        metrics=get_run_files("metrics.json"),
        analysis=get_analysis_outputs(),
        manifests=expand(
            "results/data/{dataset}/manifest.json", dataset=get_used_datasets()
        ),
        # Per-job runtimes for the reproducibility appendix.
        benchmarks=get_run_benchmarks(),
        published=get_repo_file("report/published.yaml"),
        arch_stats="results/architectures/stats.csv",
        arch_figure="results/architectures/madds_vs_params.png",
        accuracy=rules.compare_accuracy.output.verdicts,
        accuracy_figure=rules.plot_accuracy_curves.output.png,
        # Templates are inputs so that editing one reruns the report and nothing else.
        templates=get_report_templates(),
        # The determinism audit only when the configuration asks for it (audit.smk).
        audit=get_audit_report_input(),
    output:
        html=report(
            "results/report/report.html",
            caption="../report/report.rst",
            category="Report",
        ),
        pdf=report(
            "results/report/report.pdf",
            caption="../report/report.rst",
            category="Report",
        ),
        # Every number in the report with its source (the previous build's copy is kept in
        # results/report/previous/, outside these outputs, for the Changes section).
        numbers="results/report/numbers.json",
    log:
        "logs/report/report.log",
    benchmark:
        "benchmarks/report/report.tsv"
    conda:
        "../../envs/analysis.yaml"
    params:
        config=config,
        analysis_dir=lambda wildcards, input: Path(input.analysis[0]).parents[1],
        compare_with=config["compare_with"],
        tolerance=config["compare_tolerance"],
    script:
        "../scripts/render_report.py"
