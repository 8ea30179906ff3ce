# Determinism audit (opt-in): re-train chosen runs (config `audit_runs`, default the first run
# of each experiment) with the same training entry point and run spec into a scratch folder,
# and compare their metrics.json and history.csv with the originals, field by field:
#   snakemake --cores all audit                    # results/derived/<name>/audit/audit.csv only
#   snakemake --cores all --config audit=True      # and the report shows it
# Nothing else depends on it unless `audit` is set, so no build is forced to re-train.
# Input functions: common.smk (get_audit_*).


rule audit_train:
    input:
        manifest=paths.MANIFEST,
    output:
        **get_audit_run_outputs(),
    log:
        f"logs/audit/{paths.RUN_PATH}.log",
    benchmark:
        f"benchmarks/audit/{paths.RUN_PATH}.tsv"
    conda:
        "../../envs/tensorflow.yaml"
    threads: get_audit_threads
    resources:
        **get_train_resources(),
    params:
        spec=get_run_spec,
        checkpoint_dir=paths.AUDIT_CHECKPOINT_DIR,
        # Threads never rerun a job by themselves; as a parameter, a new audit_threads does.
        threads=get_audit_threads,
    script:
        "../scripts/train.py"


rule audit_compare:
    input:
        metrics=get_audit_pairs("metrics"),
        histories=get_audit_pairs("history"),
    output:
        table=report(
            for_config(paths.AUDIT_TABLE),
            caption="../report/audit.rst",
            category="Reproducibility",
        ),
    log:
        f"logs/audit/{config['name']}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=[run.id for run in AUDIT_RUNS],
    script:
        "../scripts/audit.py"


rule audit:
    input:
        rules.audit_compare.output.table,
