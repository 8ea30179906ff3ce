"""Snakemake script: train one (experiment, data set, model, seed) run."""

import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # noqa: SIM115  (append: resumes keep history)

from mobilenet_repro.train import train_run

train_run(
    spec=snakemake.params.spec,
    data_path=snakemake.input.data,
    out=dict(snakemake.output.items()),
    checkpoint_dir=snakemake.params.checkpoint_dir,
    threads=snakemake.threads,
)
