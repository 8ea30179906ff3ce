"""The official data sets: CIFAR-10, MNIST and Stanford Dogs (image folders: image_folder.py).

Each source fetches its official files through `mobilenet_repro.fetch` (pinned checksums,
verified on every use, or a configured local copy), reads them in place from the verified
archives (nothing is extracted; every member name is checked, see
`mobilenet_repro.archives`), decodes every image once to uint8 and returns an
`ImageDataset`. Validation images are carved deterministically from the training images
(`split.val_fraction`, `split.seed`); the official test split is kept as it is.
"""

from __future__ import annotations

import gzip
import io
import pickle
import posixpath
import struct
import sys
from pathlib import Path

import numpy as np

from mobilenet_repro.archives import iter_files
from mobilenet_repro.data import (
    ImageDataset,
    RaggedImages,
    register_source,
    split_indices,
    split_settings,
)
from mobilenet_repro.errors import DataError
from mobilenet_repro.fetch import FetchedFile, RemoteFile, fetch

_GRAY_MODES = ("1", "L", "LA", "I", "F", "I;16", "I;16B", "I;16L", "I;16N")

# ----------------------------------------------------------------------------- official files
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
_DOGS_BASE = "http://vision.stanford.edu/aditya86/ImageNetDogs/"
_TFDS_DOGS = "tensorflow-datasets url_checksums/stanford_dogs.txt"
STANFORD_DOGS_FILES = (
    RemoteFile(
        "images.tar",
        _DOGS_BASE + "images.tar",
        sha256="a443fc2f9a851aa1a7b8e4fa4af94b8459fce2c9f5a2f4dd4669cf9673a4ec58",
        size=793579520,
        checksum_source=_TFDS_DOGS,
    ),
    RemoteFile(
        "lists.tar",
        _DOGS_BASE + "lists.tar",
        sha256="34b47cacd9a98b5d150e084f24d29391c084c55272295ec65c85651bc35f4d6c",
        size=481280,
        checksum_source=_TFDS_DOGS,
    ),
)


# ----------------------------------------------------------------------------- helpers
def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fetch_files(
    name: str, spec: dict, resources_dir: Path, remotes: tuple[RemoteFile, ...]
) -> dict[str, FetchedFile]:
    """Verified local copies of `remotes`, honouring datasets.<name>.path / url / sha256."""
    path, url, sha = spec.get("path"), spec.get("url"), spec.get("sha256")
    single = len(remotes) == 1
    if isinstance(sha, str) and not single:
        raise DataError(
            f"datasets.{name}.sha256: {spec['source']} has {len(remotes)} files "
            f"({', '.join(r.name for r in remotes)}); give a mapping from file name to sha256"
        )
    if path is not None and not single and not Path(path).is_dir():
        raise DataError(
            f"datasets.{name}.path: {path} is not a directory; for {spec['source']} it must be "
            f"a directory holding {', '.join(r.name for r in remotes)}"
        )
    out = {}
    for remote in remotes:
        if isinstance(url, dict):
            r_url = url.get(remote.name)
        elif isinstance(url, str):
            r_url = url if single else url.rstrip("/") + "/" + remote.name
        else:
            r_url = None
        r_sha = sha.get(remote.name) if isinstance(sha, dict) else sha
        out[remote.name] = fetch(
            remote, resources_dir, dataset=name, local_path=path, url=r_url, sha256=r_sha
        )
    return out


def assemble(
    name: str,
    spec: dict,
    class_names: list[str],
    train: tuple,
    test: tuple | None,
    meta: dict,
    val: tuple | None = None,
) -> ImageDataset:
    """Carve val (and test, when the source has none) from train, deterministically."""
    val_fraction, test_fraction, seed = split_settings(spec)
    x, y = train
    how = []
    if val is None or test is None:
        idx = split_indices(
            y, val_fraction if val is None else 0.0, test_fraction if test is None else 0.0, seed
        )
        if val is None:
            val = (x[idx["val"]], y[idx["val"]])
            how.append(f"validation: {val_fraction:g} of each training class (split.seed {seed})")
        if test is None:
            test = (x[idx["test"]], y[idx["test"]])
            how.append(f"test: {test_fraction:g} of each training class (split.seed {seed})")
        train = (x[idx["train"]], y[idx["train"]])
    base = meta.pop("splits_base", "official train/test split")
    meta.setdefault("splits_from", "; ".join([base] + how))
    if len(class_names) < 2:
        raise DataError(
            f"{name}: found {len(class_names)} class(es) {list(class_names)}; a classifier needs "
            "at least two (add a folder per class under train/)"
        )
    splits = {"train": train, "val": val, "test": test}
    for s, (xs, ys) in splits.items():
        if len(xs) != len(ys):
            raise DataError(f"{name}: {s} has {len(xs)} images but {len(ys)} labels")
        if len(ys) == 0:
            raise DataError(
                f"{name}: the {s} split is empty ({meta.get('splits_from', base)}); add images "
                f"or raise datasets.{name}.split fractions"
            )
    splits = {s: (xs, np.asarray(ys, np.int64)) for s, (xs, ys) in splits.items()}
    return ImageDataset(name, list(class_names), splits, meta)


def _dense(images: list[np.ndarray]) -> np.ndarray:
    """Stack equally sized images, emptying the list as it goes (peak ~ one copy)."""
    if not images:
        return np.empty((0, 1, 1, 1), np.uint8)
    out = np.empty((len(images), *images[0].shape), np.uint8)
    images.reverse()
    for i in range(len(out)):
        out[i] = images.pop()
    return out


def stack_images(split_images: dict[str, list[np.ndarray]]):
    """Dense arrays when every image of every split has one shape, else RaggedImages."""
    shapes = {im.shape for ims in split_images.values() for im in ims}
    channels = {s[2] for s in shapes}
    if len(channels) > 1:  # mixed grey and colour: colour wins
        for ims in split_images.values():
            for i, im in enumerate(ims):
                if im.shape[2] == 1:
                    ims[i] = np.repeat(im, 3, axis=2)
        shapes = {im.shape for ims in split_images.values() for im in ims}
    if len(shapes) <= 1:
        return {s: _dense(ims) for s, ims in split_images.items()}
    return {s: RaggedImages.from_list(ims) for s, ims in split_images.items()}


class UnreadableImage(Exception):
    pass


def decode_image(
    data: bytes, where: str, storage_size: int | None = None, channels: int | None = None
) -> np.ndarray:
    """Decode one image file to H x W x C uint8.

    Grey, palette, 16-bit, CMYK and alpha images are converted (alpha is dropped); EXIF
    rotation is applied. `channels` forces 1 (grey) or 3 (RGB); None keeps grey images grey.
    With `storage_size` the image is resized (shorter side) and centre-cropped to a square.
    """
    from PIL import Image, ImageOps

    try:
        im = Image.open(io.BytesIO(data))
        if storage_size:
            im.draft(None, (storage_size, storage_size))  # JPEG: decode at a reduced scale
        im.load()
        im = ImageOps.exif_transpose(im)
        grey = im.mode in _GRAY_MODES if channels is None else channels == 1
        if im.mode.startswith("I;16") or im.mode in ("I", "F"):
            arr = np.asarray(im)
            if im.mode.startswith("I;16"):
                arr = arr.astype(np.uint32) >> 8
            im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
        elif im.mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        im = im.convert("L" if grey else "RGB")
        if storage_size:
            im = ImageOps.fit(im, (storage_size, storage_size), Image.Resampling.BICUBIC)
        arr = np.asarray(im, dtype=np.uint8)
    except Exception as exc:  # PIL raises many types for broken files
        raise UnreadableImage(f"{where} ({type(exc).__name__}: {exc})") from exc
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise UnreadableImage(f"{where} (empty image)")
    return np.ascontiguousarray(arr)


def report_unreadable(name: str, bad: list[str]) -> None:
    if bad:
        shown = "\n  ".join(bad[:20])
        more = f"\n  ... and {len(bad) - 20} more" if len(bad) > 20 else ""
        raise DataError(
            f"data set '{name}': {len(bad)} image file(s) cannot be decoded:\n  {shown}{more}\n"
            "Remove or replace these files (or re-create the archive without them) and rerun."
        )


def files_meta(files: dict[str, FetchedFile]) -> dict:
    return {k: v.record() for k, v in files.items()}


# ----------------------------------------------------------------------------- CIFAR-10
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


@register_source("cifar10", classes=10)
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


# ----------------------------------------------------------------------------- MNIST
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


@register_source("mnist", classes=10)
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


# ----------------------------------------------------------------------------- Stanford Dogs
def _mat_strings(arr) -> list[str]:
    return [str(np.asarray(a).ravel()[0]) for a in np.asarray(arr, dtype=object).ravel()]


@register_source("stanford_dogs", classes=120)
def load_stanford_dogs(name: str, spec: dict, resources_dir: Path) -> ImageDataset:
    """Stanford Dogs: 20,580 images of 120 breeds (12,000 training, 8,580 test)."""
    from scipy.io import loadmat

    files = fetch_files(name, spec, resources_dir, STANFORD_DOGS_FILES)
    lists = {}
    for member, data in iter_files(
        files["lists.tar"].path,
        lambda n: posixpath.basename(n) in ("train_list.mat", "test_list.mat"),
    ):
        try:
            mat = loadmat(io.BytesIO(data))
            lists[posixpath.basename(member)[: -len("_list.mat")]] = (
                _mat_strings(mat["file_list"]),
                np.asarray(mat["labels"]).ravel().astype(np.int64) - 1,
            )
        except Exception as exc:
            raise DataError(
                f"{files['lists.tar'].path}:{member} is not a Stanford Dogs list ({exc})"
            ) from exc
    if set(lists) != {"train", "test"}:
        raise DataError(f"{files['lists.tar'].path} lacks train_list.mat or test_list.mat")
    where = {}
    folders = {}
    for split, (names, labels) in lists.items():
        for pos, (rel, label) in enumerate(zip(names, labels, strict=True)):
            where["Images/" + rel] = (split, pos)
            folders[int(label)] = rel.split("/")[0]
    n_classes = max(folders) + 1
    if sorted(folders) != list(range(n_classes)):
        raise DataError("Stanford Dogs lists: labels are not 1..K")
    storage_size = spec.get("storage_size")
    decoded = {s: [None] * len(lists[s][0]) for s in lists}
    bad = []
    images_tar = files["images.tar"].path
    for i, (member, data) in enumerate(iter_files(images_tar, lambda n: n in where)):
        split, pos = where[member]
        try:
            decoded[split][pos] = decode_image(
                data, f"{images_tar}:{member}", storage_size, spec.get("channels") or 3
            )
        except UnreadableImage as exc:
            bad.append(str(exc))
        if (i + 1) % 2000 == 0:
            progress(f"[{name}] decoded {i + 1:,} of {len(where):,} images")
    report_unreadable(name, bad)
    missing = [m for m, (s, p) in where.items() if decoded[s][p] is None]
    if missing:
        raise DataError(
            f"{images_tar} lacks {len(missing)} listed image(s), e.g. {missing[:3]}; "
            "images.tar and lists.tar do not belong together"
        )
    stacked = stack_images(decoded)
    class_names = [folders[c].split("-", 1)[-1] for c in range(n_classes)]
    return assemble(
        name,
        spec,
        class_names,
        (stacked["train"], lists["train"][1]),
        (stacked["test"], lists["test"][1]),
        {
            "source": "stanford_dogs",
            "description": "Stanford Dogs: 20,580 images of 120 dog breeds from ImageNet, "
            "with the official split of 100 training images per breed.",
            "homepage": "http://vision.stanford.edu/aditya86/ImageNetDogs/",
            "citation": "A. Khosla, N. Jayadevaprakash, B. Yao and L. Fei-Fei, Novel dataset "
            "for Fine-Grained Image Categorization, First Workshop on Fine-Grained Visual "
            "Categorization (FGVC), IEEE CVPR, 2011.",
            "license": "ImageNet terms of access: non-commercial research and educational use "
            "only; images remain the property of their owners.",
            "synsets": [folders[c].split("-", 1)[0] for c in range(n_classes)],
            "storage_size": storage_size,
            "files": files_meta(files),
        },
    )
