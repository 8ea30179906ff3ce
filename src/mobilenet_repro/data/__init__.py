"""Data sets as uint8 image arrays with train/val/test splits, and their manifests.

Every source (the embedded scikit-learn digits, CIFAR-10, MNIST, Stanford Dogs, an image
folder) is turned once into an `ImageDataset`: uint8 images at the source's own size,
integer labels and class names. Images of one size are a dense N x H x W x C array; images
of different sizes (Stanford Dogs, most image folders) are a `RaggedImages` store, one flat
uint8 buffer plus each image's shape, so nothing is padded or resized before training (set
`storage_size` to store them as dense squares instead). `prepare_dataset` dispatches on the
configured `source`; a new source is one function registered with `@register_source`
(the real sources live in `mobilenet_repro.sources`). Resizing to a model's input
resolution happens later, per batch, in `mobilenet_repro.pipeline`.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mobilenet_repro.errors import DataError
from mobilenet_repro.io import atomic_path, write_json

__all__ = [
    "SOURCES",
    "SOURCE_CLASSES",
    "SPLITS",
    "SPLIT_DEFAULTS",
    "DataError",
    "ImageDataset",
    "RaggedImages",
    "load_dataset",
    "manifest",
    "prepare_dataset",
    "register_source",
    "save_dataset",
    "source_classes",
    "split_settings",
    "write_manifest",
]

SPLITS = ("train", "val", "test")


class RaggedImages:
    """uint8 images of different sizes: one flat buffer and an (N, 3) array of (H, W, C).

    Behaves like a read-only sequence of H x W x C arrays: `len`, `x[i]` (a view) and
    `x[index_array]` / `x[bool_mask]` (a new store), so code written for dense arrays
    (subsetting, splitting) works unchanged.
    """

    dtype = np.dtype(np.uint8)

    def __init__(self, flat: np.ndarray, shapes: np.ndarray):
        self.flat = np.ascontiguousarray(flat, dtype=np.uint8).reshape(-1)
        self.shapes = np.asarray(shapes, dtype=np.int32).reshape(-1, 3)
        sizes = np.prod(self.shapes.astype(np.int64), axis=1)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        if self.offsets[-1] != self.flat.size:
            raise ValueError(
                f"ragged store: shapes describe {self.offsets[-1]} bytes, "
                f"buffer has {self.flat.size}"
            )
        if len(self.shapes) and len(set(self.shapes[:, 2].tolist())) > 1:
            raise ValueError("ragged store: every image needs the same number of channels")

    @classmethod
    def from_list(cls, images: list[np.ndarray]) -> RaggedImages:
        """Concatenate images, emptying `images` as it goes (peak memory ~ one copy)."""
        shapes = np.array([im.shape for im in images], dtype=np.int32).reshape(-1, 3)
        flat = np.empty(int(np.prod(shapes.astype(np.int64), axis=1).sum()), np.uint8)
        pos = 0
        images.reverse()
        while images:
            im = images.pop()
            flat[pos : pos + im.size] = im.reshape(-1)
            pos += im.size
        return cls(flat, shapes)

    @property
    def channels(self) -> int:
        return int(self.shapes[0, 2]) if len(self.shapes) else 0

    @property
    def nbytes(self) -> int:
        return int(self.flat.nbytes)

    def __len__(self) -> int:
        return len(self.shapes)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            i = int(key) + (len(self) if key < 0 else 0)
            return self.flat[self.offsets[i] : self.offsets[i + 1]].reshape(self.shapes[i])
        idx = np.arange(len(self))[key]
        if len(idx) == 0:
            return RaggedImages(np.empty(0, np.uint8), np.empty((0, 3), np.int32))
        return RaggedImages(
            np.concatenate([self.flat[self.offsets[i] : self.offsets[i + 1]] for i in idx]),
            self.shapes[idx],
        )

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"RaggedImages({len(self)} images, {self.nbytes:,} bytes)"


@dataclass
class ImageDataset:
    """Images (uint8, N x H x W x C or RaggedImages) and labels (int) per split."""

    name: str
    class_names: list[str]
    splits: dict[str, tuple[np.ndarray | RaggedImages, np.ndarray]]
    meta: dict = field(default_factory=dict)  # source, citation, licence, checksums

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def image_shape(self) -> tuple:
        """(H, W, C); H and W are None when the images differ in size."""
        x = self.splits["train"][0]
        if isinstance(x, RaggedImages):
            return (None, None, x.channels)
        return tuple(int(d) for d in x.shape[1:])


SourceFn = Callable[[str, dict, Path], ImageDataset]
SOURCES: dict[str, SourceFn] = {}
SOURCE_CLASSES: dict[str, int | None] = {}  # class count of each source, None: data decides
# A data set's split when its configuration gives none (the schema's defaults are these;
# tests/test_sources.py checks that they agree).
SPLIT_DEFAULTS = {"val_fraction": 0.15, "test_fraction": 0.2, "seed": 0}


def register_source(name: str, classes: int | None = None):
    """Register a function (name, spec, resources_dir) -> ImageDataset under `name`.

    `classes` is the source's class count when it is fixed (CIFAR-10: 10), so the workflow
    knows it before the data is prepared; None when the data decides (an image folder).
    """

    def wrap(fn: SourceFn) -> SourceFn:
        SOURCES[name] = fn
        SOURCE_CLASSES[name] = classes
        return fn

    return wrap


def _registered() -> dict[str, SourceFn]:
    """Every source; the built-in ones (mobilenet_repro.sources) register on first use."""
    # They import this module, not the reverse.
    from mobilenet_repro import image_folder, sources  # noqa: F401

    return SOURCES


def source_classes(source: str) -> int | None:
    """Class count of a source when fixed, before any data is prepared; else None."""
    _registered()
    return SOURCE_CLASSES.get(source)


def split_settings(spec: dict) -> tuple[float, float, int]:
    """(val_fraction, test_fraction, seed) of a data set's configuration, with the defaults."""
    split = {**SPLIT_DEFAULTS, **(spec.get("split") or {})}
    return split["val_fraction"], split["test_fraction"], split["seed"]


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
    return {s: np.sort(np.concatenate(p)) if p else np.empty(0, np.int64) for s, p in parts.items()}


def carve_validation(x, y, val_fraction: float, seed: int):
    """Split a train set into train and val, stratified and deterministic."""
    idx = split_indices(y, val_fraction, 0.0, seed)
    return (x[idx["train"]], y[idx["train"]]), (x[idx["val"]], y[idx["val"]])


@register_source("sklearn_digits", classes=10)
def load_sklearn_digits(name: str, spec: dict, resources_dir: Path) -> ImageDataset:
    """scikit-learn's bundled handwritten digits: 1,797 8x8 grey images, 10 classes, offline."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    # Pixel values are counts 0..16 of an 4x4 block; scale to the 0..255 of every other source.
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = digits.target.astype(np.int64)
    idx = split_indices(labels, *split_settings(spec))
    return ImageDataset(
        name=name,
        class_names=[str(int(c)) for c in digits.target_names],
        splits={s: (images[i], labels[i]) for s, i in idx.items()},
        meta={
            "source": "sklearn_digits",
            "description": "UCI ML hand-written digits (optical recognition), as bundled with "
            "scikit-learn; 8x8 greyscale",
            "homepage": "https://archive.ics.uci.edu/dataset/80",
            "citation": "E. Alpaydin and C. Kaynak, Optical Recognition of Handwritten Digits, "
            "UCI Machine Learning Repository, 1998.",
            "license": "CC BY 4.0",
            "files": {},
            "splits_from": "stratified random split of the 1,797 images (split.seed)",
        },
    )


def prepare_dataset(name: str, spec: dict, resources_dir: Path | str) -> ImageDataset:
    """Build a data set from its configured source.

    Downloads (or finds) and verifies the source files under `resources_dir`, decodes them
    once, and applies `max_per_class` / `max_eval_per_class` and the configured text
    (`title`, `description`, `citation`, `license`).
    """
    source, sources = spec.get("source"), _registered()
    if source not in sources:
        raise DataError(
            f"datasets.{name}.source: unknown source {source!r}; choose one of {sorted(sources)}"
        )
    ds = sources[source](name, spec, Path(resources_dir))
    seed = split_settings(spec)[2]
    if spec.get("max_per_class"):
        ds = limit_train_per_class(ds, spec["max_per_class"], seed)
    if spec.get("max_eval_per_class"):
        ds = limit_per_class(ds, ("val", "test"), spec["max_eval_per_class"], seed)
        ds.meta["max_eval_per_class"] = spec["max_eval_per_class"]
    for key in ("title", "description", "citation", "license"):
        if spec.get(key):
            ds.meta[key] = spec[key]
    return ds


def limit_per_class(ds: ImageDataset, splits, max_per_class: int, seed: int = 0) -> ImageDataset:
    """Keep at most `max_per_class` images per class in each of `splits` (deterministic)."""
    new = dict(ds.splits)
    for split in splits:
        x, y = ds.splits[split]
        rng = np.random.default_rng(seed)
        parts = [rng.permutation(np.flatnonzero(y == c))[:max_per_class] for c in np.unique(y)]
        keep = np.sort(np.concatenate(parts)) if parts else np.empty(0, np.int64)
        new[split] = (x[keep], y[keep])
    return ImageDataset(ds.name, ds.class_names, new, dict(ds.meta))


def limit_train_per_class(ds: ImageDataset, max_per_class: int, seed: int = 0) -> ImageDataset:
    """Keep at most `max_per_class` training images per class (deterministic; quick runs)."""
    out = limit_per_class(ds, ("train",), max_per_class, seed)
    out.meta["max_per_class"] = max_per_class
    return out


def save_dataset(ds: ImageDataset, path: Path | str) -> None:
    """Write the prepared arrays to one .npz (atomically: complete or absent).

    Dense splits are stored as x_<split>; ragged ones as x_<split>_flat and x_<split>_shapes.
    """
    arrays = {"class_names": np.array(ds.class_names)}
    for split, (x, y) in ds.splits.items():
        if isinstance(x, RaggedImages):
            arrays[f"x_{split}_flat"] = x.flat
            arrays[f"x_{split}_shapes"] = x.shapes
        else:
            arrays[f"x_{split}"] = x
        arrays[f"y_{split}"] = y
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays, meta=np.array(json.dumps(ds.meta)))


def load_dataset(path: Path | str, name: str | None = None) -> ImageDataset:
    """Read a data set written by `save_dataset`."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            splits = {}
            for s in SPLITS:
                if f"x_{s}_flat" in f.files:
                    x = RaggedImages(f[f"x_{s}_flat"], f[f"x_{s}_shapes"])
                else:
                    x = f[f"x_{s}"]
                splits[s] = (x, f[f"y_{s}"])
            class_names = [str(c) for c in f["class_names"]]
            meta = json.loads(str(f["meta"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        # A truncated or overwritten .npz fails as a zip archive, an array or its metadata.
        raise DataError(
            f"prepared data set {path} is unreadable ({type(exc).__name__}: {exc}); "
            "delete it and rerun to prepare it again"
        ) from exc
    return ImageDataset(name or path.stem, class_names, splits, meta)


def _storage(ds: ImageDataset) -> dict:
    out = {"layout": None, "bytes": 0}
    for split in SPLITS:
        x = ds.splits[split][0]
        out["layout"] = "ragged" if isinstance(x, RaggedImages) else "dense"
        out["bytes"] += int(x.nbytes)
    return out


def _size_stats(ds: ImageDataset) -> dict:
    hw = []
    for split in SPLITS:
        x = ds.splits[split][0]
        if isinstance(x, RaggedImages):
            hw.append(x.shapes[:, :2])
        elif len(x):
            hw.append(np.tile(np.array(x.shape[1:3]), (len(x), 1)))
    if not hw:
        return {}
    hw = np.concatenate(hw)
    return {
        dim: {
            "min": int(hw[:, i].min()),
            "median": float(np.median(hw[:, i])),
            "max": int(hw[:, i].max()),
        }
        for i, dim in enumerate(("height", "width"))
    }


def _arrays_digest(ds: ImageDataset) -> str:
    digest = hashlib.sha256()
    for split in SPLITS:
        x, y = ds.splits[split]
        if isinstance(x, RaggedImages):
            digest.update(x.shapes.tobytes())
            digest.update(x.flat.tobytes())
        else:
            digest.update(np.ascontiguousarray(x).tobytes())
        digest.update(np.ascontiguousarray(y).tobytes())
    return digest.hexdigest()


def manifest(ds: ImageDataset) -> dict:
    """Counts per split and class, image sizes, storage, checksums of arrays and sources,
    and the source's description, citation and licence (the report's datasheet)."""
    return {
        "name": ds.name,
        "num_classes": ds.num_classes,
        "class_names": ds.class_names,
        "image_shape": list(ds.image_shape()),
        "image_sizes": _size_stats(ds),
        "storage": _storage(ds),
        "counts": {s: int(len(ds.splits[s][1])) for s in SPLITS},
        "counts_per_class": {
            s: {
                ds.class_names[c]: int(n)
                for c, n in zip(*np.unique(ds.splits[s][1], return_counts=True), strict=True)
            }
            for s in SPLITS
        },
        "arrays_sha256": _arrays_digest(ds),
        **ds.meta,
    }


def write_manifest(ds: ImageDataset, path: Path | str) -> None:
    write_json(manifest(ds), path)
