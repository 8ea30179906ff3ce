"""The genuine ImageNet weights in ../shared/data/keras-weights are what they claim to be, and
the pipeline finds them offline (skipped where the shared folder is absent)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

from mobilenet_repro.models.weights import imagenet_file, sha256, weights_record

SHARED = ROOT.parent / "shared/data/keras-weights"
pytestmark = pytest.mark.skipif(
    not (SHARED / "models/mobilenet_7_5_224_tf.h5").exists(),
    reason="../shared/data/keras-weights (genuine ImageNet weights) is not here",
)
# The checksums its README publishes.
SHA256 = {
    "mobilenet_7_5_224_tf.h5": "ae59f6e86edc054f4200fa4d04ae5d8559ca322f391b0aedac4eb9bec21c8f6e",
    "mobilenet_7_5_224_tf_no_top.h5": (
        "4ade96bb09ef614a46452e033cdf550f075961aaeca2d42b48ed956b1e297513"
    ),
}
# ImageNet classes of buildings (sklearn's china.jpg is a Chinese temple): bell cote, stupa,
# palace, beacon, castle, church, monastery, mosque, boathouse, triumphal arch.
BUILDINGS = {442, 832, 698, 437, 483, 497, 663, 668, 449, 873}

CLASSIFY = """
import json, sys
import numpy as np, keras
import tensorflow as tf
from sklearn.datasets import load_sample_images
from mobilenet_repro.models.catalog import build_classifier
image = load_sample_images().images[0]  # china.jpg
x = keras.applications.mobilenet.preprocess_input(
    tf.image.resize(image[None].astype("float32"), (224, 224)).numpy())
full = keras.applications.MobileNet(alpha=0.75, weights="imagenet")
p = full.predict(x, verbose=0)[0]
ours = build_classifier("mobilenet_v1", classes=10, resolution=224, alpha=0.75,
                        weights="imagenet", freeze_base=True)
base = keras.Model(ours.inputs, ours.get_layer("avg_pool").output)
reference = keras.applications.MobileNet(alpha=0.75, weights="imagenet", include_top=False,
                                         input_shape=(224, 224, 3), pooling="avg")
gap = float(np.abs(base.predict(x, verbose=0) - reference.predict(x, verbose=0)).max())
print(json.dumps({"top": [int(i) for i in np.argsort(p)[::-1][:3]], "p": float(p.max()),
                  "gap": gap}))
"""


def test_the_files_are_the_ones_the_readme_lists():
    for name, digest in SHA256.items():
        assert sha256(SHARED / "models" / name) == digest, name
    assert imagenet_file("mobilenet_v1", 0.75, 224)[0] == "mobilenet_7_5_224_tf_no_top.h5"
    file = SHARED / "models/mobilenet_7_5_224_tf_no_top.h5"
    record = weights_record(
        {"arch": "mobilenet_v1", "alpha": 0.75, "resolution": 224, "weights": str(file)}
    )
    assert record["sha256"] == SHA256["mobilenet_7_5_224_tf_no_top.h5"]


@pytest.mark.slow
def test_they_classify_a_photograph_and_our_builder_loads_them_offline():
    env = dict(os.environ, KERAS_HOME=str(SHARED), TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = str(ROOT / "src")
    out = subprocess.run(
        [sys.executable, "-c", CLASSIFY], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # A temple is classified as buildings, confidently: random weights give ~0.001 each.
    assert set(result["top"]) <= BUILDINGS and result["p"] > 0.1, result
    # Our MobileNet V1 builder, with the same file, gives keras.applications' features.
    assert result["gap"] < 1e-4, result
