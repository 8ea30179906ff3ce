"""The real CIFAR-10 (JPEG copy) through the real pipeline: prepare, train briefly, test.

Needs ../shared/data/cifar10-jpeg.tar.gz (relative to the project root); skipped with the
reason when it is absent, as in a fresh clone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mobilenet_repro.data import load_dataset, save_dataset
from mobilenet_repro.data.manifest import manifest
from mobilenet_repro.data.prepare import prepare_dataset
from mobilenet_repro.run_model import run_spec
from mobilenet_repro.validation import check_config

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
ARCHIVE_SHA256 = "e20d59972b8a202e76a349914ad58f161947a2aa3f002b4c26018bf15664c0be"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not ARCHIVE.is_file(),
        reason=f"real CIFAR-10 not available: {ARCHIVE} is absent (see ../shared/data/README.md)",
    ),
]

TRAIN = """
import json, resource, sys
from mobilenet_repro.training.loop import train_run
spec, data, work = json.loads(open(sys.argv[1]).read()), sys.argv[2], sys.argv[3]
out = {k: f"{work}/{f}" for k, f in (("metrics", "metrics.json"), ("history", "history.csv"),
                                     ("schedule", "lr.csv"), ("model", "model.keras"))}
m = train_run(spec, data, out, f"{work}/ckpt", threads=2)
m["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
open(f"{work}/result.json", "w").write(json.dumps(m))
"""


@pytest.fixture(scope="module")
def cifar_subset(tmp_path_factory):
    """300 training and 100 validation/test images per class, prepared once."""
    spec = {
        "source": "image_folder",
        "path": str(ARCHIVE),
        "sha256": ARCHIVE_SHA256,
        "max_per_class": 300,
        "max_eval_per_class": 100,
        "split": {"val_fraction": 0.15, "seed": 0},
    }
    tmp = tmp_path_factory.mktemp("cifar")
    ds = prepare_dataset("cifar10_jpeg", spec, tmp / "resources")
    path = tmp / "cifar10_jpeg.npz"
    save_dataset(ds, path)
    return spec, path


def test_real_cifar10_is_parsed(cifar_subset):
    _, path = cifar_subset
    ds = load_dataset(path)
    man = manifest(ds)
    assert ds.class_names == CLASSES and ds.image_shape() == (32, 32, 3)
    assert man["counts"] == {"train": 3000, "val": 1000, "test": 1000}
    assert man["files"]["cifar10-jpeg.tar.gz"]["sha256"] == ARCHIVE_SHA256
    x = ds.splits["train"][0]
    assert x.dtype == np.uint8 and 80 < x.mean() < 160  # natural images, not blank


def test_cifar_mobilenetv2_one_short_epoch_beats_chance(cifar_subset, tmp_path):
    spec, path = cifar_subset
    config = check_config(
        {
            "datasets": {"cifar10_jpeg": spec},
            "models": {"v2": {"arch": "cifar_mobilenet_v2", "alpha": 0.5, "resolution": 32}},
            "recipes": {
                "short": {
                    "optimizer": "rmsprop",
                    "learning_rate": 0.002,
                    "schedule": "cosine",
                    "epochs": 1,
                    "batch_size": 32,
                    "bn_momentum": 0.9,
                    "augment": "flip_crop",
                }
            },
            "experiments": {
                "cifar": {"datasets": ["cifar10_jpeg"], "models": ["v2"], "recipe": "short"}
            },
        }
    )
    run = run_spec(config, "cifar", "cifar10_jpeg", "v2", 0)
    (tmp_path / "spec.json").write_text(json.dumps(run))
    subprocess.run(
        [sys.executable, "-c", TRAIN, str(tmp_path / "spec.json"), str(path), str(tmp_path)],
        check=True,
    )
    result = json.loads((tmp_path / "result.json").read_text())
    print(
        f"test top-1 {result['test_top1']:.3f}, val top-1 {result['val_top1']:.3f}, "
        f"{result['images_per_second']:.0f} img/s, "
        f"peak RSS {result['peak_rss_bytes'] / 2**30:.2f} GiB"
    )
    # Chance is 0.10; with 1,000 test images its standard deviation is under 0.01.
    assert result["test_top1"] > 0.15
    assert result["train_images"] == 3000 and result["test_images"] == 1000
    assert result["peak_rss_bytes"] < 4 * 2**30
