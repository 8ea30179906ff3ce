# Report: the package's Jinja2 templates (report/templates) render every
# table, figure and number from the pipeline's output files into a self-contained HTML page
# and a Typst-typeset PDF, in results/report/<name>/ (the configuration's `name`).

from mobilenet_repro.report.changes import keep_record, load_record

# A compare_with that is not a report's record stops the run before any job starts.
if config["compare_with"]:
    try:
        load_record(config["compare_with"])
    except (OSError, ValueError) as exc:
        raise WorkflowError(str(exc)) from None


rule report:
    input:
        runs=for_config(paths.RUNS_TABLE),
        metrics=get_run_files(paths.RUN_FILES["metrics"]),
        analysis=get_report_tables(),
        manifests=expand(paths.MANIFEST, dataset=get_used_datasets()),
        # Per-job runtimes for the reproducibility appendix.
        benchmarks=get_run_benchmarks(),
        published=str(paths.PUBLISHED),
        arch_stats=get_architecture_file("stats"),
        accuracy=rules.compare_accuracy.output.verdicts,
        claims=rules.check_claims.output.verdicts,
        # Every figure the report embeds, and every template: editing a template reruns the
        # report and nothing else, and the renderer reads the templates declared here.
        figures=get_report_figures(),
        templates=get_report_templates(),
        # The determinism audit only when the configuration asks for it (audit.smk).
        audit=get_audit_report_input(),
    output:
        html=report(
            REPORT["html"],
            caption="../report/report.rst",
            category="Report",
        ),
        pdf=report(
            REPORT["pdf"],
            caption="../report/report.rst",
            category="Report",
        ),
        # Every number in the report with its source (keep_report_record copies it to
        # previous/ beside it, outside these outputs, for the next build's Changes section).
        numbers=REPORT["numbers"],
    log:
        f"logs/report/{config['name']}.log",
    benchmark:
        f"benchmarks/report/{config['name']}.tsv"
    conda:
        "../../envs/analysis.yaml"
    params:
        config=config,
        # The folders the inputs above lie in, as paths.py nests them.
        analysis_dir=lambda wildcards, input: paths.enclosing(
            input.analysis[0], paths.ANALYSES_DIR, paths.ANALYSIS_DIR
        ),
        arch_dir=lambda wildcards, input: paths.enclosing(
            input.arch_stats, paths.ARCHITECTURES_DIR
        ),
        accuracy_dir=lambda wildcards, input: paths.enclosing(
            input.accuracy, paths.ACCURACY_DIR
        ),
        compare_with=config["compare_with"],
        tolerance=config["compare_tolerance"],
        # The record of the last report the workflow accepted (keep_report_record's).
        previous=REPORT["previous"],
    script:
        "../scripts/render_report.py"


# The record the next report compares with advances here only: Snakemake starts this job after
# it has taken the report job as finished (its outputs complete, its metadata written). A render
# that outlives a killed Snakemake leaves outputs marked incomplete and never gets here, so
# the report rebuilt with --rerun-incomplete still compares with the last accepted one.
rule keep_report_record:
    input:
        numbers=REPORT["numbers"],
    output:
        previous=REPORT["previous"],
    log:
        f"logs/report/{config['name']}.record.log",
    localrule: True
    run:
        keep_record(input.numbers, output.previous)
        Path(log[0]).write_text(f"kept {input.numbers} as {output.previous}\n")
