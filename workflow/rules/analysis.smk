# Analysis: papermill runs each parameterized notebook in notebooks/ once per experiment.
# The executed notebook is written under logs/ first (kept when a cell fails, for
# debugging) and copied to results/ only when every cell succeeded. Everything here is this
# configuration's (results/derived/<name>/analysis/, logs/*/<name>/): another configuration
# with an experiment of the same name keeps its own.

ANALYSIS = for_config(paths.ANALYSIS_DIR)
NOTEBOOKS = paths.ANALYSIS_NOTEBOOKS
FIGURES = {key: f"{ANALYSIS}/{stem}" for key, stem in paths.ANALYSIS_FIGURES.items()}
ANALYSIS_LOGS = f"logs/analysis/{config['name']}/{{experiment}}"
NOTEBOOK_LOGS = f"logs/notebooks/{config['name']}/{{experiment}}"
NOTEBOOK_BENCHMARKS = f"benchmarks/analysis/{config['name']}/{{experiment}}"


rule analyse_results:
    input:
        notebook=get_repo_file("notebooks/results.ipynb"),
        metrics=get_experiment_metrics,
        # The published top-1 accuracies the runs are compared with, marked on the figures.
        accuracy_verdicts=for_config(paths.ACCURACY_VERDICTS),
    output:
        notebook=f"{ANALYSIS}/{NOTEBOOKS['results']}",
        table=report(
            f"{ANALYSIS}/{paths.ANALYSIS_TABLE}",
            caption="../report/results_table.rst",
            category="Results",
            subcategory="{experiment}",
        ),
        acc_params_png=report(
            f"{FIGURES['acc_params']}.png",
            caption="../report/accuracy_vs_params.rst",
            category="Results",
            subcategory="{experiment}",
        ),
        acc_params_svg=f"{FIGURES['acc_params']}.svg",
        acc_madds_png=report(
            f"{FIGURES['acc_madds']}.png",
            caption="../report/accuracy_vs_mult_adds.rst",
            category="Results",
            subcategory="{experiment}",
        ),
        acc_madds_svg=f"{FIGURES['acc_madds']}.svg",
    log:
        notebook=f"{NOTEBOOK_LOGS}/results.ipynb",
        stderr=f"{NOTEBOOK_LOGS}/results.log",
    benchmark:
        f"{NOTEBOOK_BENCHMARKS}/results.tsv"
    conda:
        "../../envs/analysis.yaml"
    params:
        # Legends name data sets and models as the report does, never by id.
        names=get_display_names,
    script:
        "../scripts/run_notebook.py"


rule analyse_training:
    input:
        notebook=get_repo_file("notebooks/training.ipynb"),
        histories=get_experiment_histories,
        schedules=get_experiment_schedules,
        accuracy_verdicts=for_config(paths.ACCURACY_VERDICTS),
    output:
        notebook=f"{ANALYSIS}/{NOTEBOOKS['training']}",
        curves_png=report(
            f"{FIGURES['curves']}.png",
            caption="../report/learning_curves.rst",
            category="Results",
            subcategory="{experiment}",
        ),
        curves_svg=f"{FIGURES['curves']}.svg",
        schedule_png=report(
            f"{FIGURES['schedule']}.png",
            caption="../report/lr_schedule.rst",
            category="Results",
            subcategory="{experiment}",
        ),
        schedule_svg=f"{FIGURES['schedule']}.svg",
    log:
        notebook=f"{NOTEBOOK_LOGS}/training.ipynb",
        stderr=f"{NOTEBOOK_LOGS}/training.log",
    benchmark:
        f"{NOTEBOOK_BENCHMARKS}/training.tsv"
    conda:
        "../../envs/analysis.yaml"
    params:
        # Legends name data sets and models as the report does, never by id.
        names=get_display_names,
    script:
        "../scripts/run_notebook.py"


# Seed 002's comparisons, for experiments that list `analyses`: tables first, figures from
# them, so that restyling a figure recomputes nothing.
rule compare_seed002:
    input:
        metrics=get_reference_files("metrics"),
        histories=get_reference_files("history"),
    output:
        **get_seed002_report_outputs("tables"),
    log:
        f"{ANALYSIS_LOGS}/seed002_tables.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        target=lambda wildcards: config["experiments"][wildcards.experiment][
            "target_accuracy"
        ],
    script:
        "../scripts/compare_seed002.py"


rule plot_seed002:
    input:
        **get_seed002_outputs("tables"),
        histories=get_reference_files("history"),
    output:
        **get_seed002_report_outputs("figures"),
    log:
        f"{ANALYSIS_LOGS}/seed002_figures.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        labels=get_model_labels,
    script:
        "../scripts/plot_seed002.py"


# Experiments trained under several Keras backends: each backend's test top-1 over seeds
# beside the first backend's, with Welch's interval and an agreement verdict (agreement.py).
rule compare_backends:
    input:
        metrics=get_experiment_metrics,
    output:
        table=report(
            for_config(paths.BACKENDS_TABLE),
            caption="../report/backends.rst",
            category="Results",
            subcategory="{experiment}",
        ),
    log:
        f"{ANALYSIS_LOGS}/backends.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        backends=lambda wildcards: experiment_backends(config, wildcards.experiment),
        tolerance=config["backend_tolerance"],
    script:
        "../scripts/compare_backends.py"
