# Data sets: turn each configured source into uint8 arrays once (cached under resources/)
# and a manifest (counts, checksums, citation, licence) for the report's datasheet.
# Jobs depend on the manifest, not on the arrays' .npz: a damaged or deleted cache must never
# replan (and so delete) finished runs; the jobs that read it rebuild it and check it against
# the manifest's arrays_sha256 (data/cache.py). New content means a new manifest: retraining.


rule prepare_dataset:
    output:
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
