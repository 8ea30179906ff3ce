"""Snakemake script: count every architecture of the grid and the configuration, compare.

Writes stats.csv, layers.csv, separable_ratios.csv, verdicts.csv, structures.csv,
cifar_readings.csv and meta.json into the folder of `output.stats`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job  # noqa: E402

start_job(snakemake)

import os  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter

from mobilenet_repro.training.backends import select_for_tools  # noqa: E402

# The models are built only to be counted: on TensorFlow where it is installed, else on JAX
# or PyTorch (before anything imports Keras, which reads its backend once).
select_for_tools()

from mobilenet_repro.counting.grid import Spec  # noqa: E402
from mobilenet_repro.counting.stage import run_stage  # noqa: E402
from mobilenet_repro.paths import ARCHITECTURE_FILES  # noqa: E402

out_dir = Path(snakemake.output.stats).parent
for key, name in ARCHITECTURE_FILES.items():
    declared = Path(getattr(snakemake.output, key))
    if declared != out_dir / name:
        raise ValueError(f"output {key} must be {out_dir / name}; the rule declares {declared}")

configured = [
    (
        Spec(m["arch"], float(m["alpha"]), int(m["resolution"]), int(m["classes"]), m["head"]),
        m["model_id"],
        m["dataset"],
    )
    for m in snakemake.params.models
]
run_stage(
    out_dir,
    configured=configured,
    dataset_classes=dict(snakemake.params.dataset_classes),
    published_path=snakemake.input.published,
    log=lambda msg: print(msg, file=sys.stderr),
)
