# Trained accuracies against published ones (report/published.yaml, `trained` and the top-1
# columns of `tables`): noise-, budget-, network- and data-aware verdicts, and a figure of our
# validation curves over the published per-epoch curves. Comparing and plotting are separate
# rules so that a figure edit does not recompute the verdicts.


rule compare_accuracy:
    input:
        runs="results/summary/runs.csv",
        published=get_repo_file("report/published.yaml"),
        curves=get_published_curves(),
    output:
        verdicts=report(
            "results/accuracy/verdicts.csv",
            caption="../report/accuracy_verdicts.rst",
            category="Accuracy against published",
        ),
    log:
        "logs/accuracy/compare_accuracy.log",
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
        published=get_repo_file("report/published.yaml"),
        curves=get_published_curves(),
        histories=get_run_files("history.csv"),
    output:
        png=report(
            "results/accuracy/curves.png",
            caption="../report/accuracy_curves.rst",
            category="Accuracy against published",
        ),
        svg="results/accuracy/curves.svg",
    log:
        "logs/accuracy/plot_accuracy_curves.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/plot_accuracy_curves.py"
