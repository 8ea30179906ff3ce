"""Data sets as uint8 image arrays with train/val/test splits, and their manifests.

Every source (the embedded scikit-learn digits, CIFAR-10, MNIST, Stanford Dogs, an image
folder) is turned once into an `ImageDataset`: uint8 NHWC arrays at the source's own size,
integer labels and class names. `prepare_dataset` dispatches on the configured `source`;
a new source is one function registered with `@register_source`. Resizing to a model's
input resolution happens later, per batch, in `mobilenet_repro.pipeline`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mobilenet_repro.io import atomic_path, write_json

SPLITS = ("train", "val", "test")


class DataError(RuntimeError):
    """A data set is missing, corrupt or unusable; the message says which file and what to do."""


@dataclass
class ImageDataset:
    """Images (uint8, N x H x W x C) and labels (int) per split."""

    name: str
    class_names: list[str]
    splits: dict[str, tuple[np.ndarray, np.ndarray]]
    meta: dict = field(default_factory=dict)  # source, citation, licence, checksums

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.splits["train"][0].shape[1:])


SourceFn = Callable[[str, dict, Path], ImageDataset]
SOURCES: dict[str, SourceFn] = {}


def register_source(name: str):
    """Register a function (name, spec, resources_dir) -> ImageDataset under `name`."""

    def wrap(fn: SourceFn) -> SourceFn:
        SOURCES[name] = fn
        return fn

    return wrap


def split_indices(labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int):
    """Stratified, deterministic train/val/test index split."""
    rng = np.random.default_rng(seed)
    parts = {s: [] for s in SPLITS}
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        n_test = int(round(len(idx) * test_fraction))
        n_val = int(round(len(idx) * val_fraction))
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test : n_test + n_val])
        parts["train"].append(idx[n_test + n_val :])
    return {s: np.sort(np.concatenate(p)) for s, p in parts.items()}


def carve_validation(x, y, val_fraction: float, seed: int):
    """Split a train set into train and val, stratified and deterministic."""
    idx = split_indices(y, val_fraction, 0.0, seed)
    return (x[idx["train"]], y[idx["train"]]), (x[idx["val"]], y[idx["val"]])


@register_source("sklearn_digits")
def load_sklearn_digits(name: str, spec: dict, resources_dir: Path) -> ImageDataset:
    """scikit-learn's bundled handwritten digits: 1,797 8x8 grey images, 10 classes, offline."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    # Pixel values are counts 0..16 of an 4x4 block; scale to the 0..255 of every other source.
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = digits.target.astype(np.int64)
    split = spec.get("split", {})
    idx = split_indices(
        labels, split.get("val_fraction", 0.15), split.get("test_fraction", 0.2), split.get("seed", 0)
    )
    return ImageDataset(
        name=name,
        class_names=[str(int(c)) for c in digits.target_names],
        splits={s: (images[i], labels[i]) for s, i in idx.items()},
        meta={
            "source": "sklearn_digits",
            "description": "UCI ML hand-written digits (optical recognition), as bundled with "
            "scikit-learn; 8x8 greyscale",
            "citation": "E. Alpaydin and C. Kaynak, Optical Recognition of Handwritten Digits, "
            "UCI Machine Learning Repository, 1998.",
            "license": "CC BY 4.0",
            "files": {},
        },
    )


def prepare_dataset(name: str, spec: dict, resources_dir: Path | str) -> ImageDataset:
    """Build a data set from its configured source."""
    source = spec.get("source")
    if source not in SOURCES:
        raise DataError(
            f"datasets.{name}.source: unknown source {source!r}; choose one of {sorted(SOURCES)}"
        )
    ds = SOURCES[source](name, spec, Path(resources_dir))
    if spec.get("max_per_class"):
        ds = limit_train_per_class(ds, spec["max_per_class"], spec.get("split", {}).get("seed", 0))
    return ds


def limit_train_per_class(ds: ImageDataset, max_per_class: int, seed: int = 0) -> ImageDataset:
    """Keep at most `max_per_class` training images per class (deterministic; quick runs)."""
    x, y = ds.splits["train"]
    rng = np.random.default_rng(seed)
    keep = np.sort(
        np.concatenate(
            [rng.permutation(np.flatnonzero(y == c))[:max_per_class] for c in np.unique(y)]
        )
    )
    splits = dict(ds.splits, train=(x[keep], y[keep]))
    meta = dict(ds.meta, max_per_class=max_per_class)
    return ImageDataset(ds.name, ds.class_names, splits, meta)


def save_dataset(ds: ImageDataset, path: Path | str) -> None:
    """Write the prepared arrays to one .npz (atomically: complete or absent)."""
    arrays = {"class_names": np.array(ds.class_names)}
    for split, (x, y) in ds.splits.items():
        arrays[f"x_{split}"] = x
        arrays[f"y_{split}"] = y
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays, meta=np.array(json.dumps(ds.meta)))


def load_dataset(path: Path | str, name: str | None = None) -> ImageDataset:
    """Read a data set written by `save_dataset`."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            splits = {s: (f[f"x_{s}"], f[f"y_{s}"]) for s in SPLITS}
            class_names = [str(c) for c in f["class_names"]]
            meta = json.loads(str(f["meta"]))
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"prepared data set {path} is unreadable ({exc}); delete it and rerun to prepare it again"
        ) from exc
    return ImageDataset(name or path.stem, class_names, splits, meta)


def manifest(ds: ImageDataset) -> dict:
    """Counts per split and class, image shape, checksums of the arrays and of the sources."""
    digest = hashlib.sha256()
    for split in SPLITS:
        x, y = ds.splits[split]
        digest.update(np.ascontiguousarray(x).tobytes())
        digest.update(np.ascontiguousarray(y).tobytes())
    return {
        "name": ds.name,
        "num_classes": ds.num_classes,
        "class_names": ds.class_names,
        "image_shape": list(ds.image_shape()),
        "counts": {s: int(len(ds.splits[s][1])) for s in SPLITS},
        "counts_per_class": {
            s: {
                ds.class_names[c]: int(n)
                for c, n in zip(*np.unique(ds.splits[s][1], return_counts=True), strict=True)
            }
            for s in SPLITS
        },
        "arrays_sha256": digest.hexdigest(),
        **ds.meta,
    }


def write_manifest(ds: ImageDataset, path: Path | str) -> None:
    write_json(manifest(ds), path)
