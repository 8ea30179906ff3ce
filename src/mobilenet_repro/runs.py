"""What a run is: its identity, its folder and its files. Every other module asks here.

A run is one (experiment, data set, model, backend, seed) of the configuration. Its folder
is named by the seed, and by the Keras backend unless that is TensorFlow (the default):
`seed0`, `seed0-jax`, `seed0-torch`. So the same experiment trained under two backends keeps
both sets of results, and runs trained before backends existed keep their folders.

The workflow's rules (workflow/rules/common.smk, train.smk), training (its id in messages
and metrics.json) and the analysis (which reads a run's identity back from its files'
paths) all use these definitions; the folder templates themselves are in `paths`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mobilenet_repro.paths import RUN_BENCHMARK, RUN_DIR, RUN_FILES, RUN_PATH, RUNS_DIR

# The Keras backends a run may train on. They are part of a run's identity (its folder's
# name), so they are defined here, where every stage can read them; choosing and configuring
# one is `training.backends`.
BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT = "tensorflow"
_NAMED_BACKENDS = "|".join(b for b in BACKENDS if b != DEFAULT)
# Wildcard patterns: each id is one folder name (config.schema.yaml allows no '/', no leading
# '.'); the replicate is seed<n> (n a non-negative integer), then -<backend> unless the
# default.
ID_PATTERNS = {
    "experiment": r"[A-Za-z0-9_-]+",
    "dataset": r"[A-Za-z0-9_-]+",
    "model": r"[A-Za-z0-9_-][A-Za-z0-9_.-]*",
    "replicate": rf"seed\d+(?:-(?:{_NAMED_BACKENDS}))?",
}
_REPLICATE_RE = re.compile(rf"seed(?P<seed>\d+)(?:-(?P<backend>{_NAMED_BACKENDS}))?")
_DIR_RE = re.compile(
    r"(?:^|/)"
    + re.escape(RUNS_DIR)
    + "/"
    + RUN_PATH.format(**{k: f"(?P<{k}>{v})" for k, v in ID_PATTERNS.items()})
    + r"(?:/|$)"
)


def replicate_name(seed: int, backend: str = DEFAULT) -> str:
    """A run's folder name: seed<n>, and -<backend> unless the default backend."""
    return f"seed{int(seed)}" + ("" if backend == DEFAULT else f"-{backend}")


def parse_replicate(name: str) -> tuple[int, str]:
    """(seed, backend) of a run folder's name (replicate_name's inverse)."""
    found = _REPLICATE_RE.fullmatch(name)
    if found is None:
        raise ValueError(
            f"{name!r} is not a run folder name (seed<n>, or seed<n>-<backend> for one of "
            f"{_NAMED_BACKENDS.replace('|', ', ')})"
        )
    return int(found["seed"]), found["backend"] or DEFAULT


@dataclass(frozen=True)
class Run:
    """One training run: (experiment, data set, model, seed, Keras backend)."""

    experiment: str
    dataset: str
    model: str
    seed: int
    backend: str = DEFAULT

    @property
    def replicate(self) -> str:
        return replicate_name(self.seed, self.backend)

    def _fields(self) -> dict:
        return {**vars(self), "replicate": self.replicate}

    @property
    def id(self) -> str:
        return RUN_PATH.format(**self._fields())

    @property
    def dir(self) -> str:
        return RUN_DIR.format(**self._fields())

    def file(self, name: str) -> str:
        """Path of one output (a key of paths.RUN_FILES: metrics, history, schedule, model)."""
        return f"{self.dir}/{RUN_FILES[name]}"

    @property
    def benchmark(self) -> str:
        return RUN_BENCHMARK.format(**self._fields())

    @classmethod
    def from_spec(cls, spec: dict) -> Run:
        """The run a run spec (run_model.run_spec) describes."""
        return cls(
            spec["experiment"],
            spec["dataset"],
            spec["model_id"],
            int(spec["seed"]),
            spec.get("backend", DEFAULT),
        )

    @classmethod
    def from_wildcards(cls, wildcards) -> Run:
        """The run of a job's wildcards (experiment, dataset, model, replicate)."""
        seed, backend = parse_replicate(wildcards.replicate)
        return cls(wildcards.experiment, wildcards.dataset, wildcards.model, seed, backend)

    @classmethod
    def from_path(cls, path: str | Path) -> Run:
        """The run whose folder holds `path` (results/runs/<exp>/<data>/<model>/seed<n>/...)."""
        found = _DIR_RE.search(Path(path).as_posix())
        if found is None:
            raise ValueError(f"{path} is not inside a run folder ({RUN_DIR})")
        parts = found.groupdict()
        seed, backend = parse_replicate(parts["replicate"])
        return cls(parts["experiment"], parts["dataset"], parts["model"], seed, backend)
