"""The stanford_dogs source: 20,580 images of 120 breeds with the official split lists.

images.tar and lists.tar are fetched through `mobilenet_repro.data.fetch` and read in place;
each listed image is decoded once (`mobilenet_repro.data.decoding`), optionally stored as a
square of `storage_size`, else at its own size in a `RaggedImages` store.
"""

from __future__ import annotations

import io
import posixpath
from pathlib import Path

import numpy as np

from mobilenet_repro.data import ImageDataset
from mobilenet_repro.data.archives import iter_files
from mobilenet_repro.data.decoding import (
    UnreadableImage,
    decode_image,
    progress,
    report_unreadable,
    stack_images,
)
from mobilenet_repro.data.fetch import RemoteFile, fetch_files, files_meta
from mobilenet_repro.data.splits import assemble
from mobilenet_repro.errors import DataError

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


def _mat_strings(arr) -> list[str]:
    return [str(np.asarray(a).ravel()[0]) for a in np.asarray(arr, dtype=object).ravel()]


def load_stanford_dogs(name: str, spec: dict, resources_dir: Path) -> ImageDataset:
    """Stanford Dogs: 20,580 images of 120 breeds (12,000 training, 8,580 test)."""
    files = fetch_files(name, spec, resources_dir, STANFORD_DOGS_FILES)
    lists = _read_lists(files["lists.tar"].path)
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
    decoded = _decode_images(name, spec, files["images.tar"].path, where, lists)
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


def _read_lists(lists_tar) -> dict:
    """The official split: split -> (image paths under Images/, labels from 0)."""
    from scipy.io import loadmat

    lists = {}
    for member, data in iter_files(
        lists_tar,
        lambda n: posixpath.basename(n) in ("train_list.mat", "test_list.mat"),
    ):
        try:
            mat = loadmat(io.BytesIO(data))
            lists[posixpath.basename(member)[: -len("_list.mat")]] = (
                _mat_strings(mat["file_list"]),
                np.asarray(mat["labels"]).ravel().astype(np.int64) - 1,
            )
        except Exception as exc:
            raise DataError(f"{lists_tar}:{member} is not a Stanford Dogs list ({exc})") from exc
    if set(lists) != {"train", "test"}:
        raise DataError(f"{lists_tar} lacks train_list.mat or test_list.mat")
    return lists


def _decode_images(name: str, spec: dict, images_tar, where: dict, lists: dict) -> dict:
    """Every listed image of images.tar, decoded, by split in the lists' order."""
    storage_size = spec.get("storage_size")
    decoded = {s: [None] * len(lists[s][0]) for s in lists}
    bad = []
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
    return decoded
