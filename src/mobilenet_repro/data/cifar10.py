"""The cifar10 source: CIFAR-10's python version, read in place from the verified archive.

The archive is fetched through `mobilenet_repro.data.fetch` (pinned checksums, verified on
every use, or a configured local copy) and read without extracting it (every member name is
checked, see `mobilenet_repro.data.archives`). The batches are unpickled with only numpy's
array reconstruction allowed. Validation images are carved deterministically from the
training images (`split.val_fraction`, `split.seed`); the official test split is kept.
"""

from __future__ import annotations

import io
import pickle
import posixpath
from pathlib import Path

import numpy as np

from mobilenet_repro.data import ImageDataset
from mobilenet_repro.data.archives import iter_files
from mobilenet_repro.data.fetch import RemoteFile, fetch_files, files_meta
from mobilenet_repro.data.splits import assemble
from mobilenet_repro.errors import DataError

CIFAR10_FILES = (
    RemoteFile(
        "cifar-10-python.tar.gz",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
        md5="c58f30108f718f92721af3b95e74349a",
        size=170498071,
        checksum_source="sha256 as pinned by keras.datasets.cifar10; md5 as published on "
        "https://www.cs.toronto.edu/~kriz/cifar.html",
    ),
)


class _CifarUnpickler(pickle.Unpickler):
    """Loads the CIFAR python batches without executing arbitrary code: only the numpy
    array reconstruction the batches need is allowed."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes at protocol 2 (pure function)
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            module = module.replace("numpy.core.", "numpy._core.")
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch")


def _load_cifar_batch(data: bytes, where: str) -> dict:
    try:
        obj = _CifarUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:
        raise DataError(f"{where} is not a CIFAR python batch ({exc})") from exc
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def load_cifar10(name: str, spec: dict, resources_dir: Path) -> ImageDataset:
    """CIFAR-10, python version: 50,000 training and 10,000 test 32x32 RGB images."""
    files = fetch_files(name, spec, resources_dir, CIFAR10_FILES)
    archive = files["cifar-10-python.tar.gz"].path
    wanted = {f"data_batch_{i}" for i in range(1, 6)} | {"test_batch", "batches.meta"}
    batches = {}
    for member, data in iter_files(archive, lambda n: posixpath.basename(n) in wanted):
        batches[posixpath.basename(member)] = _load_cifar_batch(data, f"{archive}:{member}")
    missing = sorted(wanted - set(batches))
    if missing:
        raise DataError(
            f"{archive} lacks {missing}; it is not the python version of CIFAR-10 "
            f"(expected {CIFAR10_FILES[0].name} from {CIFAR10_FILES[0].url})"
        )

    def images(batch, key):
        x = np.asarray(batch["data"], dtype=np.uint8)
        if x.ndim != 2 or x.shape[1] != 3072:
            raise DataError(f"{archive}:{key}: data has shape {x.shape}, expected (N, 3072)")
        return x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), np.asarray(
            batch["labels"], np.int64
        )

    train = [images(batches[f"data_batch_{i}"], f"data_batch_{i}") for i in range(1, 6)]
    x_train = np.concatenate([t[0] for t in train])
    y_train = np.concatenate([t[1] for t in train])
    class_names = [
        c.decode() if isinstance(c, bytes) else str(c)
        for c in batches["batches.meta"]["label_names"]
    ]
    return assemble(
        name,
        spec,
        class_names,
        (x_train, y_train),
        images(batches["test_batch"], "test_batch"),
        {
            "source": "cifar10",
            "description": "CIFAR-10: 60,000 32x32 colour images in 10 classes (50,000 "
            "training, 10,000 test), labelled subset of the 80 million tiny images.",
            "homepage": "https://www.cs.toronto.edu/~kriz/cifar.html",
            "citation": "A. Krizhevsky, Learning Multiple Layers of Features from Tiny Images, "
            "Technical report, University of Toronto, 2009.",
            "license": "No licence stated by the authors; distributed for research use by "
            "the University of Toronto.",
            "files": files_meta(files),
        },
    )
