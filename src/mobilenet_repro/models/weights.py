"""Which pretrained-weights file a model needs, where it is looked for, and its checksum.

Without importing Keras: the configuration check runs in the Snakefile, before any job. Keras
keeps downloaded weights in a cache folder, `$KERAS_HOME/models` (by default
~/.keras/models), under the file names below; a job of a configuration with
`pretrained_weights_dir` sets KERAS_HOME to that folder (jobs.start_job), so Keras finds the
files there and downloads only what is missing. Cluster nodes without internet: fill the
folder once on a machine with a network (or copy ~/.keras/models) and point the key at it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications"
V1_ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}
V1_ROWS = (128, 160, 192, 224)


def keras_home() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))


def imagenet_file(arch: str, alpha: float = 1.0, resolution: int = 224) -> tuple[str, str] | None:
    """(file name, download URL) of keras.applications' ImageNet weights without the top,
    which our transfer builds load; None for an architecture Keras has no weights of."""
    if arch == "mobilenet_v1":
        rows = resolution if resolution in V1_ROWS else 224
        name = f"mobilenet_{V1_ALPHA_TEXT.get(float(alpha), str(alpha))}_{rows}_tf_no_top.h5"
        return name, f"{BASE_URL}/mobilenet/{name}"
    if arch == "mobilenet_v2":
        rows = resolution if resolution in (96, 128, 160, 192, 224) else 224
        name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"
        return name, f"{BASE_URL}/mobilenet_v2/{name}"
    files = {
        "inception_v3": (
            "inception_v3",
            "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
        ),
        "resnet50_v2": ("resnet", "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"),
        "vgg16": ("vgg16", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    }
    if arch in files:
        folder, name = files[arch]
        return name, f"{BASE_URL}/{folder}/{name}"
    return None


def weights_path(model_cfg: dict, home: Path | None = None) -> Path | None:
    """The file a model's `weights` loads: the named file, or the ImageNet file in the Keras
    cache folder (`home`, else $KERAS_HOME or ~/.keras); None when training from scratch."""
    weights = model_cfg.get("weights")
    if weights is None:
        return None
    if weights != "imagenet":
        return Path(weights)
    found = imagenet_file(model_cfg["arch"], model_cfg.get("alpha", 1.0), model_cfg["resolution"])
    return None if found is None else (home or keras_home()) / "models" / found[0]


def sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_record(model_cfg: dict) -> dict | None:
    """What metrics.json records of a run's pretrained weights: the file and its sha256."""
    path = weights_path(model_cfg)
    if path is None:
        return None
    if not path.exists():
        return {"path": str(path), "sha256": None}
    return {"path": str(path.resolve()), "sha256": sha256(path)}
