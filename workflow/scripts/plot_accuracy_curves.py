"""Snakemake script: our validation curves over the published per-epoch curves."""

import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: SIM115
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # conda envs too

import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from mobilenet_repro.accuracy import plot_curves  # noqa: E402

published_path = Path(snakemake.input.published)
plot_curves(
    pd.read_csv(snakemake.input.verdicts, keep_default_na=False, na_values=[""]),
    yaml.safe_load(published_path.read_text(encoding="utf-8")),
    snakemake.input.histories,
    snakemake.output.png,
    snakemake.output.svg,
    published_dir=published_path.parent,
)
print(f"wrote {snakemake.output.png} and {snakemake.output.svg}", file=sys.stderr)
