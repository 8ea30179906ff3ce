"""The mnist source: MNIST's four IDX files (or Keras's mnist.npz as a local copy).

The files are fetched through `mobilenet_repro.data.fetch` (pinned checksums, or a configured
local copy); validation images are carved deterministically from the training images.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from mobilenet_repro.data import ImageDataset
from mobilenet_repro.data.fetch import RemoteFile, fetch_files, files_meta
from mobilenet_repro.data.splits import assemble
from mobilenet_repro.errors import DataError

_MNIST_BASE = "https://storage.googleapis.com/cvdf-datasets/mnist/"
_TFDS_MNIST = "tensorflow-datasets url_checksums/mnist.txt"
MNIST_FILES = (
    RemoteFile(
        "train-images-idx3-ubyte.gz",
        _MNIST_BASE + "train-images-idx3-ubyte.gz",
        sha256="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        size=9912422,
        checksum_source=_TFDS_MNIST,
    ),
    RemoteFile(
        "train-labels-idx1-ubyte.gz",
        _MNIST_BASE + "train-labels-idx1-ubyte.gz",
        sha256="3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        size=28881,
        checksum_source=_TFDS_MNIST,
    ),
    RemoteFile(
        "t10k-images-idx3-ubyte.gz",
        _MNIST_BASE + "t10k-images-idx3-ubyte.gz",
        sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        size=1648877,
        checksum_source=_TFDS_MNIST,
    ),
    RemoteFile(
        "t10k-labels-idx1-ubyte.gz",
        _MNIST_BASE + "t10k-labels-idx1-ubyte.gz",
        sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        size=4542,
        checksum_source=_TFDS_MNIST,
    ),
)
# Keras's repackaging of the same images, accepted as a local copy (datasets.<name>.path).
MNIST_NPZ = RemoteFile(
    "mnist.npz",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    checksum_source="keras.datasets.mnist",
)


def parse_idx(data: bytes, where: str) -> np.ndarray:
    """An IDX file (gzip-compressed or not) as a uint8 array."""
    try:
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        zero, dtype, ndim = struct.unpack(">HBB", data[:4])
        if zero != 0 or dtype != 0x08 or not 1 <= ndim <= 4:
            raise ValueError(f"bad magic number (type 0x{dtype:02x}, {ndim} dims)")
        dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
        body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
        if body.size != int(np.prod(dims)):
            raise ValueError(
                f"header says {dims} = {int(np.prod(dims))} bytes, file has {body.size}"
            )
        return body.reshape(dims).copy()
    except (OSError, EOFError, struct.error, ValueError) as exc:
        raise DataError(
            f"{where} is not a valid IDX file ({exc}); delete it and fetch it again"
        ) from exc


def load_mnist(name: str, spec: dict, resources_dir: Path) -> ImageDataset:
    """MNIST: 60,000 training and 10,000 test 28x28 grey digits (the four IDX files, or
    Keras's mnist.npz as a local copy)."""
    path = spec.get("path")
    if path is not None and Path(path).suffix == ".npz":
        files = fetch_files(name, spec, resources_dir, (MNIST_NPZ,))
        with np.load(files["mnist.npz"].path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    else:
        files = fetch_files(name, spec, resources_dir, MNIST_FILES)
        arrays = {
            key: parse_idx(Path(files[fname].path).read_bytes(), files[fname].path)
            for key, fname in (
                ("x_train", "train-images-idx3-ubyte.gz"),
                ("y_train", "train-labels-idx1-ubyte.gz"),
                ("x_test", "t10k-images-idx3-ubyte.gz"),
                ("y_test", "t10k-labels-idx1-ubyte.gz"),
            )
        }
    for s in ("train", "test"):
        x, y = arrays[f"x_{s}"], arrays[f"y_{s}"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(f"MNIST {s}: images {x.shape} and labels {y.shape} do not match")
    return assemble(
        name,
        spec,
        [str(i) for i in range(10)],
        (arrays["x_train"][..., None], arrays["y_train"].astype(np.int64)),
        (arrays["x_test"][..., None], arrays["y_test"].astype(np.int64)),
        {
            "source": "mnist",
            "description": "MNIST handwritten digits: 70,000 28x28 greyscale images, 10 "
            "classes (60,000 training, 10,000 test), from NIST Special Databases 1 and 3.",
            "homepage": "http://yann.lecun.com/exdb/mnist/",
            "citation": "Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, Gradient-based learning "
            "applied to document recognition, Proc. IEEE 86(11), 1998.",
            "license": "CC BY-SA 3.0 (Y. LeCun and C. Cortes)",
            "files": files_meta(files),
        },
    )
