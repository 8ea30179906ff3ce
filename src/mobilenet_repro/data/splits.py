"""Splitting a data set: stratified, deterministic train/val/test indices, per-class limits.

Every split is a function of the labels and `split.seed` only, so the same configuration gives
the same images in each split on every machine.
"""

from __future__ import annotations

import numpy as np

from mobilenet_repro.data import SPLITS, ImageDataset
from mobilenet_repro.errors import DataError

# A data set's split when its configuration gives none (the schema's defaults are these;
# tests/data/test_sources.py checks that they agree).
SPLIT_DEFAULTS = {"val_fraction": 0.15, "test_fraction": 0.2, "seed": 0}


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
    # val_fraction 0 asks for no validation images: the runs then validate on the test split
    # (recipe validate_on: test), which the configuration check requires.
    no_val_wanted = val is None and val_fraction == 0
    if val is None or test is None:
        idx = split_indices(
            y, val_fraction if val is None else 0.0, test_fraction if test is None else 0.0, seed
        )
        if val is None:
            val = (x[idx["val"]], y[idx["val"]])
            how.append(f"validation: {val_fraction:g} of each training class (split seed {seed})")
        if test is None:
            test = (x[idx["test"]], y[idx["test"]])
            how.append(f"test: {test_fraction:g} of each training class (split seed {seed})")
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
        if len(ys) == 0 and not (s == "val" and no_val_wanted):
            raise DataError(
                f"{name}: the {s} split is empty ({meta.get('splits_from', base)}); add images "
                f"or raise datasets.{name}.split fractions"
            )
    splits = {s: (xs, np.asarray(ys, np.int64)) for s, (xs, ys) in splits.items()}
    return ImageDataset(name, list(class_names), splits, meta)


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
