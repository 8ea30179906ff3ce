# Architectures without training: parameters and mult-adds of the papers' grids and of every
# configured model, counted from the built Keras models; the depthwise separable cost ratio;
# the seeds' architecture tables re-derived cell by cell; and a verdict for every published
# number in report/published.yaml. Runs on its own in well under a minute:
#   snakemake --cores 1 results/architectures/stats.csv


rule architecture_stats:
    input:
        published=get_repo_file("report/published.yaml"),
        # The counts are a function of the builders and the counter: editing them reruns this.
        code=[
            get_repo_file("src/mobilenet_repro/models.py"),
            get_repo_file("src/mobilenet_repro/archspec.py"),
            get_repo_file("src/mobilenet_repro/counting.py"),
            get_repo_file("src/mobilenet_repro/formatting.py"),
            get_repo_file("src/mobilenet_repro/architectures/grid.py"),
            get_repo_file("src/mobilenet_repro/architectures/measure.py"),
            get_repo_file("src/mobilenet_repro/architectures/published.py"),
            get_repo_file("src/mobilenet_repro/architectures/structures.py"),
            get_repo_file("src/mobilenet_repro/architectures/cifar_readings.py"),
            get_repo_file("src/mobilenet_repro/architectures/stage.py"),
        ],
    output:
        stats=report(
            "results/architectures/stats.csv",
            caption="../report/architecture_stats.rst",
            category="Architectures",
        ),
        layers="results/architectures/layers.csv",
        ratios="results/architectures/separable_ratios.csv",
        verdicts=report(
            "results/architectures/verdicts.csv",
            caption="../report/architecture_verdicts.rst",
            category="Architectures",
        ),
        structures="results/architectures/structures.csv",
        cifar_readings="results/architectures/cifar_readings.csv",
        meta="results/architectures/meta.json",
    log:
        "logs/architectures/architecture_stats.log",
    benchmark:
        "benchmarks/architectures/architecture_stats.tsv"
    conda:
        "../../envs/tensorflow.yaml"
    params:
        models=get_architecture_models(),
        dataset_classes=get_architecture_dataset_classes(),
    script:
        "../scripts/architecture_stats.py"


rule plot_architectures:
    input:
        stats=rules.architecture_stats.output.stats,
        verdicts=rules.architecture_stats.output.verdicts,
    output:
        png=report(
            "results/architectures/madds_vs_params.png",
            caption="../report/madds_vs_params.rst",
            category="Architectures",
        ),
        svg="results/architectures/madds_vs_params.svg",
    log:
        "logs/architectures/plot_architectures.log",
    benchmark:
        "benchmarks/architectures/plot_architectures.tsv"
    conda:
        "../../envs/tensorflow.yaml"
    script:
        "../scripts/plot_architectures.py"
