"""The numpy input path (batches.py, JAX and PyTorch) against tf.data (pipeline.py, TensorFlow).

Both must give the same images in the same order with the same labels; unaugmented views
(evaluation) must be the same pixels; augmentations must be stateless functions of the seed
and the batch's contents, so a resumed run sees what the uninterrupted one saw.
"""

from __future__ import annotations

import numpy as np
import pytest

from mobilenet_repro.data import RaggedImages
from mobilenet_repro.data.numpy_batches import (
    Batches,
    batch_digest,
    central_square,
    crop_and_resize,
    epoch_permutations,
)

RNG = np.random.default_rng(7)
DENSE = RNG.integers(0, 256, size=(23, 8, 8, 3), dtype=np.uint8)  # digits-sized
WIDE = RNG.integers(0, 256, size=(9, 40, 52, 3), dtype=np.uint8)  # not square, downsampled
GREY = RNG.integers(0, 256, size=(9, 12, 12, 1), dtype=np.uint8)
LABELS = np.arange(23) % 5
RAGGED = RaggedImages.from_list(
    [RNG.integers(0, 256, size=(h, w, 3), dtype=np.uint8) for h, w in [(30, 41), (50, 33)] * 4]
)


def _numpy_batches(images, labels, **kwargs):
    ds = Batches(images, labels, classes=5, **kwargs)
    return [ds[i] for i in range(len(ds))]


def _tf_batches(images, labels, **kwargs):
    pytest.importorskip("tensorflow")
    from mobilenet_repro.data.tf_pipeline import make_dataset

    return [(x.numpy(), y.numpy()) for x, y in make_dataset(images, labels, **kwargs)]


@pytest.mark.parametrize(
    "images,resolution,channels",
    [(DENSE, 32, 3), (DENSE, 8, 3), (WIDE, 32, 3), (GREY, 24, 3), (DENSE, 16, 1)],
    ids=["upsample", "same-size", "wide-downsample", "grey-to-rgb", "rgb-to-grey"],
)
def test_evaluation_batches_equal_tf_data(images, resolution, channels):
    labels = LABELS[: len(images)]
    kwargs = {"resolution": resolution, "batch_size": 4, "channels": channels}
    mine, theirs = _numpy_batches(images, labels, **kwargs), _tf_batches(images, labels, **kwargs)
    assert len(mine) == len(theirs) == -(-len(images) // 4)
    for (x, y), (tx, ty) in zip(mine, theirs, strict=True):
        assert x.shape == tx.shape and x.dtype == np.float32
        np.testing.assert_allclose(x, tx, atol=2e-4)
        np.testing.assert_array_equal(y.argmax(axis=1), ty)
        assert y.shape == (len(ty), 5)


def test_ragged_evaluation_batches_equal_tf_data():
    labels = np.arange(len(RAGGED)) % 5
    kwargs = {"resolution": 24, "batch_size": 3}
    mine, theirs = _numpy_batches(RAGGED, labels, **kwargs), _tf_batches(RAGGED, labels, **kwargs)
    for (x, _), (tx, _) in zip(mine, theirs, strict=True):
        np.testing.assert_allclose(x, tx, atol=2e-4)


@pytest.mark.parametrize("augment", ["none", "flip_crop", "flip_translate", "resize_crop"])
def test_training_order_and_labels_equal_tf_data(augment):
    order = epoch_permutations(len(LABELS), seed=3, first_epoch=0, epochs=2)
    kwargs = {"resolution": 16, "batch_size": 5, "order": order, "augment": augment, "seed": 3}
    mine, theirs = _numpy_batches(DENSE, LABELS, **kwargs), _tf_batches(DENSE, LABELS, **kwargs)
    assert len(mine) == len(theirs) == 2 * 5  # two epochs of ceil(23 / 5) batches
    for (x, y), (tx, ty) in zip(mine, theirs, strict=True):
        assert x.shape == tx.shape
        np.testing.assert_array_equal(y.argmax(axis=1), ty)
        assert x.min() >= -1.0 and x.max() <= 1.0
        if augment == "none":
            np.testing.assert_allclose(x, tx, atol=2e-4)


def test_batch_digest_equals_tensorflows():
    tf = pytest.importorskip("tensorflow")
    from mobilenet_repro.data.tf_pipeline import _batch_seed

    for idx in (np.array([0]), np.arange(128) * 997, np.array([2**31 - 1] * 64)):
        assert int(_batch_seed(5, tf.constant(idx))[1]) == batch_digest(idx)


def test_crop_and_resize_equals_tensorflows():
    tf = pytest.importorskip("tensorflow")
    img = WIDE[0].astype(np.float32)
    for box in [(0.1, 0.2, 0.9, 0.7), (0.0, 0.0, 1.0, 1.0), (-0.1, 0.3, 0.8, 1.1)]:
        want = tf.image.crop_and_resize(img[None], [box], [0], (17, 17)).numpy()[0]
        np.testing.assert_allclose(crop_and_resize(img, box, 17), want, atol=1e-3)
    want = tf.image.resize(img[:, 6:46], (32, 32)).numpy()
    np.testing.assert_allclose(central_square(img, 32), want, atol=1e-3)


@pytest.mark.parametrize("augment", ["flip_crop", "flip_translate", "resize_crop"])
def test_augmentation_is_a_function_of_seed_and_batch_contents(augment):
    order = epoch_permutations(len(LABELS), seed=1, first_epoch=0, epochs=2)
    kwargs = {"resolution": 16, "batch_size": 5, "augment": augment}
    first = _numpy_batches(DENSE, LABELS, order=order, seed=1, **kwargs)
    again = _numpy_batches(DENSE, LABELS, order=order, seed=1, **kwargs)
    other = _numpy_batches(DENSE, LABELS, order=order, seed=2, **kwargs)
    for (x, _), (x2, _) in zip(first, again, strict=True):
        np.testing.assert_array_equal(x, x2)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(first, other, strict=True))
    # Resumed in epoch 2 after 2 of its batches: the same batches as the uninterrupted run.
    resumed = _numpy_batches(DENSE, LABELS, order=order[1:], seed=1, skip_batches=2, **kwargs)
    for (x, y), (x2, y2) in zip(first[5 + 2 :], resumed, strict=True):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)


def test_unknown_augmentation_is_refused():
    with pytest.raises(ValueError, match="unknown augmentation 'rotate'"):
        Batches(DENSE, LABELS, classes=5, resolution=8, batch_size=4, augment="rotate")
