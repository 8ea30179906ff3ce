"""The data layer: data sets as uint8 image arrays with train/val/test splits.

Every source (the embedded scikit-learn digits, CIFAR-10, MNIST, Stanford Dogs, an image
folder; one module each here, listed in `registry`) is turned once into an `ImageDataset`:
uint8 images at the source's own size, integer labels and class names. Images of one size are
a dense N x H x W x C array; images of different sizes (Stanford Dogs, most image folders) are
a `RaggedImages` store, one flat uint8 buffer plus each image's shape, so nothing is padded or
resized before training (set `storage_size` to store them as dense squares instead).
`prepare.prepare_dataset` builds one from its configuration, `manifest` describes it for the
report's datasheet, and this module saves and loads it. Resizing to a model's input
resolution happens later, per batch, in one of the two input paths: `tf_pipeline` (tf.data)
or `numpy_batches` (any Keras backend).
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mobilenet_repro.errors import DataError
from mobilenet_repro.files import atomic_path

__all__ = ["SPLITS", "DataError", "ImageDataset", "RaggedImages", "load_dataset", "save_dataset"]

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
