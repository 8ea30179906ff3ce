# Training: one job per (experiment, data set, model, seed). The checkpoint lives outside
# the declared outputs (Snakemake deletes those before a job starts), so a killed job
# resumes from its last completed epoch when the same command is run again.


rule train:
    input:
        data="resources/datasets/{dataset}.npz",
    output:
        metrics=f"{RUN_DIR}/metrics.json",
        history=f"{RUN_DIR}/history.csv",
        schedule=f"{RUN_DIR}/lr_schedule.csv",
        model=f"{RUN_DIR}/model.keras",
    log:
        "logs/train/{experiment}/{dataset}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/train/{experiment}/{dataset}/{model}/seed{seed}.tsv"
    conda:
        "../../envs/tensorflow.yaml"
    threads: get_train_threads
    resources:
        **get_train_resources(),
    params:
        spec=get_run_spec,
        checkpoint_dir="resources/checkpoints/{experiment}/{dataset}/{model}/seed{seed}",
    script:
        "../scripts/train.py"


rule summarize_runs:
    input:
        metrics=get_run_files("metrics.json"),
    output:
        runs="results/summary/runs.csv",
    log:
        "logs/summary/runs.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize_runs.py"
