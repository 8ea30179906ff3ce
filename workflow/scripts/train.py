"""Snakemake script: train one (experiment, data set, model, seed) run."""

import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job  # noqa: E402

start_job(snakemake, append=True)  # append: a resumed run's log keeps the first attempt's

from mobilenet_repro.training import backends  # noqa: E402 (imports no framework)

# Keras reads its backend once, at its first import: before mobilenet_repro.training.loop.
backends.select(snakemake.params.spec.get("backend", backends.DEFAULT), snakemake.threads)

from mobilenet_repro.data.cache import job_data
from mobilenet_repro.training.loop import train_run

train_run(
    spec=snakemake.params.spec,
    # Checked against the manifest; a damaged cache is rebuilt, finished runs are kept.
    data=job_data(snakemake.config, snakemake.wildcards.dataset, snakemake.input.manifest),
    out=dict(snakemake.output.items()),
    checkpoint_dir=snakemake.params.checkpoint_dir,
    threads=snakemake.threads,
    # From the config, not params: the cadence changes no result, so it must not rerun jobs.
    checkpoint_every_s=snakemake.config["checkpoint_every_seconds"],
    # Cached base features where the run can use them (empty, or absent for the audit: None).
    features_path=getattr(snakemake.input, "features", None) or None,
)
# The process ends here: spare it the interpreter's final garbage collection over every
# TensorFlow and Keras object (about 1.8 s per job on a 2-core CPU; bench/workflow.py).
gc.freeze()
