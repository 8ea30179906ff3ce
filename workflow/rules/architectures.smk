# Architectures without training: parameters and mult-adds of the papers' grids and of every
# configured model, counted from the built Keras models; the depthwise separable cost ratio;
# the seeds' architecture tables re-derived cell by cell; and a verdict for every published
# number in the package's published.yaml. Runs on its own in well under a minute:
#   snakemake --cores 1 results/derived/default/architectures/stats.csv


rule architecture_stats:
    input:
        published=str(paths.PUBLISHED),
        # The counts are a function of the builders and the counter: editing them reruns this.
        code=get_package_files(
            "models/catalog.py",
            "models/common.py",
            "models/mobilenets.py",
            "models/baselines.py",
            "models/specs.py",
            "formatting.py",
            "counting/counters.py",
            "counting/grid.py",
            "counting/measure.py",
            "counting/published.py",
            "counting/structures.py",
            "counting/cifar_readings.py",
            "counting/stage.py",
        ),
    output:
        stats=report(
            get_architecture_file("stats"),
            caption="../report/architecture_stats.rst",
            category="Architectures",
        ),
        layers=get_architecture_file("layers"),
        ratios=get_architecture_file("ratios"),
        verdicts=report(
            get_architecture_file("verdicts"),
            caption="../report/architecture_verdicts.rst",
            category="Architectures",
        ),
        structures=get_architecture_file("structures"),
        cifar_readings=get_architecture_file("cifar_readings"),
        graph=get_architecture_file("graph"),
        meta=get_architecture_file("meta"),
    log:
        f"logs/architectures/{config['name']}/architecture_stats.log",
    benchmark:
        f"benchmarks/architectures/{config['name']}/architecture_stats.tsv"
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
            f"{for_config(paths.ARCHITECTURES_FIGURE)}.png",
            caption="../report/madds_vs_params.rst",
            category="Architectures",
        ),
        svg=f"{for_config(paths.ARCHITECTURES_FIGURE)}.svg",
    log:
        f"logs/architectures/{config['name']}/plot_architectures.log",
    benchmark:
        f"benchmarks/architectures/{config['name']}/plot_architectures.tsv"
    conda:
        "../../envs/tensorflow.yaml"
    script:
        "../scripts/plot_architectures.py"
