"""What a run is: its identity, its folder and its files. Every other module asks here.

A run is one (experiment, data set, model, seed) of the configuration. The workflow's rules
(workflow/rules/common.smk, train.smk), training (its id in messages and metrics.json) and
the analysis (which reads a run's identity back from its files' paths) all use these
definitions, so a run's folder is spelled once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Wildcard patterns: each id is one folder name (config.schema.yaml allows no '/', no leading
# '.'); the seed is a non-negative integer.
ID_PATTERNS = {
    "experiment": r"[A-Za-z0-9_-]+",
    "dataset": r"[A-Za-z0-9_-]+",
    "model": r"[A-Za-z0-9_-][A-Za-z0-9_.-]*",
    "seed": r"\d+",
}
RUN_PATH = "{experiment}/{dataset}/{model}/seed{seed}"  # a run's id, and its folders' tail
RUN_DIR = f"results/runs/{RUN_PATH}"
CHECKPOINT_DIR = f"resources/checkpoints/{RUN_PATH}"
LOG = f"logs/train/{RUN_PATH}.log"
BENCHMARK = f"benchmarks/train/{RUN_PATH}.tsv"
# A run's outputs, by the name the train rule and train_run give them, in its folder.
FILES = {
    "metrics": "metrics.json",  # written last: its presence means the run finished
    "history": "history.csv",
    "schedule": "lr_schedule.csv",
    "model": "model.keras",
}
_DIR_RE = re.compile(
    r"(?:^|/)results/runs/"
    + RUN_PATH.replace("{seed}", f"(?P<seed>{ID_PATTERNS['seed']})").format(
        **{k: f"(?P<{k}>{v})" for k, v in ID_PATTERNS.items() if k != "seed"}
    )
    + r"(?:/|$)"
)


@dataclass(frozen=True)
class Run:
    """One training run: (experiment, data set, model, seed)."""

    experiment: str
    dataset: str
    model: str
    seed: int

    @property
    def id(self) -> str:
        return RUN_PATH.format(**vars(self))

    @property
    def dir(self) -> str:
        return RUN_DIR.format(**vars(self))

    def file(self, name: str) -> str:
        """Path of one output (a key of FILES: metrics, history, schedule, model)."""
        return f"{self.dir}/{FILES[name]}"

    @property
    def checkpoint_dir(self) -> str:
        return CHECKPOINT_DIR.format(**vars(self))

    @classmethod
    def from_spec(cls, spec: dict) -> Run:
        """The run a run spec (config.run_spec) describes."""
        return cls(spec["experiment"], spec["dataset"], spec["model_id"], int(spec["seed"]))

    @classmethod
    def from_path(cls, path: str | Path) -> Run:
        """The run whose folder holds `path` (results/runs/<exp>/<data>/<model>/seed<n>/...)."""
        found = _DIR_RE.search(Path(path).as_posix())
        if found is None:
            raise ValueError(f"{path} is not inside a run folder ({RUN_DIR})")
        parts = found.groupdict()
        return cls(parts["experiment"], parts["dataset"], parts["model"], int(parts["seed"]))
