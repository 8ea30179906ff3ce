# Data sets: turn each configured source into uint8 arrays once (cached under resources/)
# and a manifest (counts, checksums, citation, licence) for the report's datasheet.


rule prepare_dataset:
    output:
        data=paths.DATASET,
        manifest=paths.MANIFEST,
    log:
        "logs/data/{dataset}.log",
    benchmark:
        "benchmarks/data/{dataset}.tsv"
    conda:
        "../../envs/tensorflow.yaml"
    params:
        spec=get_dataset_spec,
    script:
        "../scripts/prepare_dataset.py"
