"""Snakemake script: prepare one data set (uint8 arrays in resources/) and its manifest."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job  # noqa: E402

start_job(snakemake)

from mobilenet_repro import paths
from mobilenet_repro.data.cache import write_prepared
from mobilenet_repro.data.manifest import write_manifest
from mobilenet_repro.data.prepare import prepare_dataset

name = snakemake.wildcards.dataset
ds = prepare_dataset(name, snakemake.params.spec, paths.RESOURCES_DIR)
write_prepared(ds, paths.DATASET.format(dataset=name))  # a cache: no rule's declared input
write_manifest(ds, snakemake.output.manifest)
print(
    f"prepared {ds.name}: {ds.num_classes} classes, image shape {ds.image_shape()}", file=sys.stderr
)
