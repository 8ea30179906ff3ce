# Trained accuracies against published ones (the package's published.yaml, `trained` and the
# top-1 columns of `tables`): noise-, budget-, network- and data-aware verdicts, and a figure
# of our validation curves over the published per-epoch curves. Comparing and plotting are separate
# rules so that a figure edit does not recompute the verdicts.


rule compare_accuracy:
    input:
        runs=for_config(paths.RUNS_TABLE),
        published=str(paths.PUBLISHED),
        curves=get_published_curves(),
        # Runs that evaluated the test split every epoch are compared with published
        # per-epoch curves (metrics.json beside each history says which did).
        histories=get_run_files(paths.RUN_FILES["history"]),
        metrics=get_run_files(paths.RUN_FILES["metrics"]),
    output:
        verdicts=report(
            for_config(paths.ACCURACY_VERDICTS),
            caption="../report/accuracy_verdicts.rst",
            category="Accuracy against published",
        ),
    log:
        f"logs/accuracy/{config['name']}/compare_accuracy.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        # Which data set stands for which published one (compare_as) decides the matches.
        datasets=config["datasets"],
    script:
        "../scripts/compare_accuracy.py"


rule plot_accuracy_curves:
    input:
        verdicts=rules.compare_accuracy.output.verdicts,
        published=str(paths.PUBLISHED),
        curves=get_published_curves(),
        histories=get_run_files(paths.RUN_FILES["history"]),
    output:
        png=report(
            f"{for_config(paths.ACCURACY_CURVES)}.png",
            caption="../report/accuracy_curves.rst",
            category="Accuracy against published",
        ),
        svg=f"{for_config(paths.ACCURACY_CURVES)}.svg",
    log:
        f"logs/accuracy/{config['name']}/plot_accuracy_curves.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        # The legend names our runs by their labels, not their folders.
        names=get_display_names(),
    script:
        "../scripts/plot_accuracy_curves.py"
