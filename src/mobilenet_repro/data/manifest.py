"""A prepared data set's manifest: counts, image sizes, storage, checksums, citation, licence.

The manifest is what the report's datasheet shows (`mobilenet_repro.report.datasheets`) and
what a report build records as the data a run trained on (`arrays_sha256`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from mobilenet_repro.data import SPLITS, ImageDataset, RaggedImages
from mobilenet_repro.files import write_json


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


def arrays_digest(ds: ImageDataset) -> str:
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
        "arrays_sha256": arrays_digest(ds),
        **ds.meta,
    }


def write_manifest(ds: ImageDataset, path: Path | str) -> None:
    write_json(manifest(ds), path)
