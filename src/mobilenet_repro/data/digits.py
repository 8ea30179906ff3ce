"""The sklearn_digits source: scikit-learn's bundled handwritten digits (offline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mobilenet_repro.data import ImageDataset
from mobilenet_repro.data.splits import split_indices, split_settings


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
            "splits_from": "stratified random split of the 1,797 images (its split seed)",
        },
    )
