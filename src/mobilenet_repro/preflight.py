"""Preflight: what a valid configuration needs from this machine, checked before the first job.

The local copies its data sets name, the pretrained weights its models name, and the Keras
backend of every run still to train. A missing one stops the workflow before any job starts,
so nothing fails half-way. The configuration itself is checked first (`validation`).
"""

from __future__ import annotations

from pathlib import Path

from mobilenet_repro.errors import ConfigError
from mobilenet_repro.paths import DATASET, MANIFEST
from mobilenet_repro.run_model import expand_runs
from mobilenet_repro.training.backends import BackendUnavailable, check_installed


def check_local_files(config: dict, workdir: Path | str = ".") -> None:
    """Local copies the used data sets name must exist: checked before the first job runs.

    A data set already prepared (its manifest or its cached arrays exist) is not checked: its
    source is needed again only to rebuild a damaged cache (data.cache). Raises ConfigError
    naming the key, the path and the working directory.
    """
    workdir = Path(workdir).resolve()
    used = {run.dataset for run in expand_runs(config)}
    problems = []
    for name in sorted(used):
        spec = config["datasets"][name]
        prepared = (DATASET.format(dataset=name), MANIFEST.format(dataset=name))
        if any((workdir / path).exists() for path in prepared):
            continue
        path = spec.get("path")
        if path is not None and not (workdir / path).exists():
            problems.append(
                f"datasets.{name}.path: received {path!r}; allowed: an existing file or "
                f"directory (relative to the working directory {workdir}); nothing is there"
            )
        if spec["source"] == "image_folder" and path is None and spec.get("url") is None:
            problems.append(
                f"datasets.{name}: an image_folder data set needs `path` (a directory or "
                "archive with train/<class>/ and test/<class>/) or `url` (such an archive)"
            )
    problems += _missing_weights(config, workdir, {run.model for run in expand_runs(config)})
    if problems:
        raise ConfigError(
            "invalid configuration:\n  - " + "\n  - ".join(problems) + "\nNo job was started."
        )


def _missing_weights(config: dict, workdir: Path, used: set[str]) -> list[str]:
    """Pretrained-weights files the used models need and that are not there: a named file
    always; an ImageNet file only when `pretrained_weights_dir` says where it must be."""
    from mobilenet_repro.models.weights import imagenet_file, weights_path

    folder = config.get("pretrained_weights_dir")
    home = (workdir / folder).resolve() if folder else None
    problems = []
    for name in sorted(used):
        model = config["models"][name]
        weights = model.get("weights")
        if weights is None or (weights == "imagenet" and home is None):
            continue
        path = weights_path(model, home)
        if weights != "imagenet":
            path = workdir / path
        if path is None or path.exists():
            continue
        if weights == "imagenet":
            file, url = imagenet_file(model["arch"], model.get("alpha", 1.0), model["resolution"])
            problems.append(
                f"models.{name}: weights: imagenet needs {path} (pretrained_weights_dir: "
                f"{folder!r}); nothing is there. Download {url} on a machine with a network "
                f"and put it there unchanged, or set pretrained_weights_dir: null to let Keras "
                "download it"
            )
        else:
            problems.append(
                f"models.{name}.weights: received {weights!r}; allowed: an existing .h5 file "
                f"(relative to the working directory {workdir}); nothing is there"
            )
    return problems


def check_backends(config: dict, workdir: Path | str = ".") -> None:
    """The Keras backend of every run still to train is installed here: checked before the
    first job, so a missing one stops nothing half-way. Finished runs (metrics.json present)
    need nothing. Raises ConfigError naming the runs' backend and how to install it."""
    workdir = Path(workdir)
    pending = {}
    for run in expand_runs(config):
        if not (workdir / run.file("metrics")).exists():
            pending.setdefault(run.backend, []).append(run.id)
    problems = []
    for backend, ids in pending.items():
        try:
            check_installed(backend)
        except BackendUnavailable as err:
            more = f" and {len(ids) - 1} more" if len(ids) > 1 else ""
            problems.append(f"{err} (needed by run {ids[0]}{more})")
    if problems:
        raise ConfigError(
            "\n  - ".join(["missing Keras backend:", *problems]) + "\nNo job was started."
        )
