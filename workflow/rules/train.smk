# Training: one job per (experiment, data set, model, seed). The checkpoint lives outside
# the declared outputs (Snakemake deletes those before a job starts), so a killed job
# resumes from its last completed epoch when the same command is run again.


rule train:
    input:
        manifest=paths.MANIFEST,
        # A frozen, unaugmented transfer run trains its head on cached features.
        features=get_train_features,
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


# The frozen base's output for every image of a data set, once: with the base frozen and the
# images not augmented it is the same in every epoch and seed (training/features.py).
rule extract_features:
    input:
        manifest=paths.MANIFEST,
    output:
        features=paths.FEATURES,
    log:
        "logs/features/{dataset}/{model}.log",
    benchmark:
        "benchmarks/features/{dataset}/{model}.tsv"
    conda:
        "../../envs/tensorflow.yaml"
    threads: get_train_threads
    resources:
        mem_mb=8000,
    params:
        # The base's configuration: a new width, resolution or weights file recomputes it.
        model=get_feature_model,
    script:
        "../scripts/extract_features.py"


rule summarize_runs:
    input:
        metrics=get_run_files(paths.RUN_FILES["metrics"]),
    output:
        runs=report(
            for_config(paths.RUNS_TABLE),
            caption="../report/runs.rst",
            category="Runs",
        ),
    log:
        f"logs/summary/{config['name']}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize_runs.py"
