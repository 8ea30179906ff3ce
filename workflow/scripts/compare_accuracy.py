"""Snakemake script: verdicts of our trained accuracies against the published ones."""

import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: SIM115
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # conda envs too

import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from mobilenet_repro.accuracy import compare  # noqa: E402
from mobilenet_repro.io import write_csv  # noqa: E402

published_path = Path(snakemake.input.published)
verdicts = compare(
    yaml.safe_load(published_path.read_text(encoding="utf-8")),
    pd.read_csv(snakemake.input.runs),
    {"datasets": snakemake.params.datasets},
    published_dir=published_path.parent,
)
write_csv(verdicts, snakemake.output.verdicts)
counts = verdicts["status"].value_counts().to_dict()
print(f"{len(verdicts)} comparisons: {counts}", file=sys.stderr)
