# Training: one job per (experiment, data set, model, seed). The checkpoint lives outside
# the declared outputs (Snakemake deletes those before a job starts), so a killed job
# resumes from its last completed epoch when the same command is run again.


rule train:
    input:
        data=paths.DATASET,
    output:
        **get_run_outputs(),
    log:
        paths.RUN_LOG,
    benchmark:
        paths.RUN_BENCHMARK
    conda:
        "../../envs/tensorflow.yaml"
    threads: get_train_threads
    resources:
        **get_train_resources(),
    params:
        spec=get_run_spec,
        checkpoint_dir=paths.RUN_CHECKPOINT_DIR,
    script:
        "../scripts/train.py"


rule summarize_runs:
    input:
        metrics=get_run_files(paths.RUN_FILES["metrics"]),
    output:
        runs=report(
            paths.RUNS_TABLE,
            caption="../report/runs.rst",
            category="Runs",
        ),
    log:
        "logs/summary/runs.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize_runs.py"
