"""Snakemake script: seed 002's three comparison figures of one experiment, from its tables."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job

start_job(snakemake)

import pandas as pd

from mobilenet_repro.analysis.results import history_frame
from mobilenet_repro.analysis.seed002 import (
    plot_fully_trained,
    plot_steps_to_accuracy,
    plot_training_set_size,
)
from mobilenet_repro.figures import save_figure

labels = snakemake.params.labels
tables = {
    name: pd.read_csv(snakemake.input[name])
    for name in ("steps_to_accuracy", "fully_trained", "training_set_size")
}
histories = history_frame(snakemake.input.histories)
largest = histories[histories["dataset"] == tables["steps_to_accuracy"]["dataset"].iloc[0]]
figures = {
    "steps_to_accuracy": plot_steps_to_accuracy(tables["steps_to_accuracy"], largest, labels),
    "fully_trained": plot_fully_trained(tables["fully_trained"], labels),
    "training_set_size": plot_training_set_size(tables["training_set_size"], labels),
}
for name, fig in figures.items():
    save_figure(fig, snakemake.output[f"{name}_png"], snakemake.output[f"{name}_svg"])
    print(f"wrote {snakemake.output[f'{name}_png']}", file=sys.stderr)
