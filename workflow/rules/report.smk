# Report: Jinja2 templates in report/templates render every table, figure and number from
# the pipeline's output files into a self-contained HTML page and a Typst-typeset PDF.


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
    output:
        html="results/report/report.html",
        pdf="results/report/report.pdf",
    log:
        "logs/report/report.log",
    benchmark:
        "benchmarks/report/report.tsv"
    conda:
        "../../envs/analysis.yaml"
    params:
        config=config,
        analysis_dir=lambda wildcards, input: Path(input.analysis[0]).parents[1],
    script:
        "../scripts/render_report.py"
