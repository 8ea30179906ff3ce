"""The prepared arrays a job reads: a cache under resources/, checked against the manifest.

The workflow tracks a data set by its manifest (results/data/<name>/manifest.json, which holds
`arrays_sha256`), not by the .npz: Snakemake replans every job whose input file is newer, so a
truncated, rewritten or deleted cache would otherwise delete every finished run of that data
set before the first job failed. Here a damaged or missing cache is rebuilt from its source
(same configuration, so the same arrays) and checked against the manifest's digest; only a
change of content, which changes the manifest, retrains anything.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from mobilenet_repro import paths
from mobilenet_repro.data import ImageDataset, load_dataset, save_dataset
from mobilenet_repro.data.manifest import arrays_digest
from mobilenet_repro.data.prepare import prepare_dataset
from mobilenet_repro.errors import DataError
from mobilenet_repro.files import read_json
from mobilenet_repro.jobs import warn
from mobilenet_repro.run_model import dataset_spec

try:
    import fcntl
except ImportError:  # Windows: no flock; concurrent repairs are not serialised there
    fcntl = None


@contextlib.contextmanager
def _locked(cache_path: Path, exclusive: bool):
    """Readers share the cache; a repair (or the prepare job) holds it alone."""
    lock = Path(f"{cache_path}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield


def write_prepared(ds, cache_path: Path | str) -> None:
    """Save a freshly prepared data set to the cache, holding it against readers."""
    with _locked(Path(cache_path), exclusive=True):
        save_dataset(ds, cache_path)


def _read_checked(name: str, cache_path: Path, expected: str):
    """The cached data set if it is there, readable and has the manifest's arrays; else a
    reason it cannot be used."""
    if not cache_path.exists():
        return None, "is missing"
    try:
        ds = load_dataset(cache_path, name)
    except DataError as exc:
        return None, f"cannot be read ({exc.__cause__ or exc})"
    got = arrays_digest(ds)
    if got != expected:
        return None, f"holds other arrays (sha256 {got[:12]}..., manifest {expected[:12]}...)"
    return ds, ""


def load_prepared(
    name: str, spec: dict, manifest_path: Path | str, cache_path: Path | str, resources_dir
):
    """Data set `name` as its manifest records it, rebuilding a damaged or missing cache.

    `spec` is the data set's configuration (the one its prepare job used). Raises DataError
    if the source now gives other arrays than the manifest's: then the finished runs were
    trained on data that can no longer be made, and only the user can choose to retrain.
    """
    cache_path, manifest_path = Path(cache_path), Path(manifest_path)
    expected = read_json(manifest_path)["arrays_sha256"]
    with _locked(cache_path, exclusive=False):
        ds, problem = _read_checked(name, cache_path, expected)
    if ds is not None:
        return ds
    with _locked(cache_path, exclusive=True):
        ds, _ = _read_checked(name, cache_path, expected)  # another job may have repaired it
        if ds is not None:
            return ds
        warn(
            f"prepared data set {cache_path} {problem}; preparing it again from its source "
            "(finished runs are kept)"
        )
        ds = prepare_dataset(name, spec, resources_dir)
        got = arrays_digest(ds)
        if got != expected:
            raise DataError(
                f"data set '{name}': its source now gives other arrays (sha256 {got}) than "
                f"the ones its finished runs trained on ({manifest_path}: {expected}). "
                "Restore the original source files, or retrain every run of this data set "
                f"with: snakemake --cores all --forcerun {manifest_path}"
            )
        save_dataset(ds, cache_path)  # the exclusive lock is already held
        return ds


def job_data(config: dict, name: str, manifest_path: Path | str):
    """A workflow job's loader of data set `name`: load_prepared with the configuration's
    spec and the paths module's cache (called inside the job, after its locks)."""

    def load():
        cache = paths.DATASET.format(dataset=name)
        return load_prepared(
            name, dataset_spec(config, name), manifest_path, cache, paths.RESOURCES_DIR
        )

    return load


def read_dataset(data, name: str) -> ImageDataset:
    """`data` as a data set: a prepared .npz to read, or a loader to call (`job_data`)."""
    return data() if callable(data) else load_dataset(data, name)
