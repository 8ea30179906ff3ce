"""Preparing a configured data set: its source's loader, then the configured limits and text."""

from __future__ import annotations

from pathlib import Path

from mobilenet_repro.data import ImageDataset
from mobilenet_repro.data.registry import load_source
from mobilenet_repro.data.splits import limit_per_class, limit_train_per_class, split_settings


def prepare_dataset(name: str, spec: dict, resources_dir: Path | str) -> ImageDataset:
    """Build a data set from its configured source.

    Downloads (or finds) and verifies the source files under `resources_dir`, decodes them
    once, and applies `max_per_class` / `max_eval_per_class` and the configured text
    (`title`, `description`, `citation`, `license`).
    """
    ds = load_source(name, spec.get("source"))(name, spec, Path(resources_dir))
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
