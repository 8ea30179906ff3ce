"""Snakemake script: a frozen base's pooled features of every image of a data set, once."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job  # noqa: E402

start_job(snakemake)

from mobilenet_repro.training import backends  # noqa: E402 (imports no framework)

backends.select("tensorflow", snakemake.threads)  # the cache feeds the tf.data input path

from mobilenet_repro.data.cache import job_data
from mobilenet_repro.training.features import extract

done = extract(
    snakemake.params.model,
    job_data(snakemake.config, snakemake.wildcards.dataset, snakemake.input.manifest),
    snakemake.wildcards.dataset,
    snakemake.output.features,
    name=snakemake.wildcards.model,
)
print(
    f"{done['images']:,} images -> {done['dim']} features each in {done['seconds']:.1f} s",
    file=sys.stderr,
)
