"""tf.data input pipeline (TensorFlow backend): uint8 images resized, augmented, normalised.

The whole data set stays uint8 at the size it was stored (`mobilenet_repro.data`); each
batch is gathered from the numpy arrays (no second copy of the data set inside TensorFlow),
resized or cropped to the model's resolution, augmented and normalised on the fly, so memory
does not grow with the model's resolution and no float copy of the data set ever exists.
Dense stores (one image size) are handled a batch at a time; ragged stores (Stanford Dogs,
image folders) image by image inside the batch. Epoch orders come from numpy permutations
seeded by (seed, epoch), and every random augmentation is a stateless function of the seed
and the batch's image indices, so a run resumed at epoch k sees exactly the batches, augmented
alike, that it would have seen without the interruption. Batches are prefetched with autotuning.
The JAX and PyTorch backends get the same batches from numpy_batches.py (numpy, no TensorFlow).

Augmentations (training only; evaluation always uses the plain central view):

* none: the central square of each image, resized to the resolution;
* flip_crop (CIFAR): zero-pad by resolution/8 pixels (4 px at 32), take a random crop at
  the resolution, independently per image, and flip horizontally with probability 1/2;
* flip_translate (CIFAR, airbench's): the same with resolution/16 pixels (2 px at 32) of
  reflected padding instead, so no crop carries a black border;
* resize_crop (Stanford Dogs): a random square crop of 80-100% of the shorter side at a
  random position, per image, resized to the resolution, and flipped with probability 1/2.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from mobilenet_repro.data import RaggedImages

# What decides a run's data is shared with the backend-neutral path (numpy_batches.py).
from mobilenet_repro.data.numpy_batches import (  # noqa: F401 (re-exported)
    AUGMENTATIONS,
    CROP_SIDE_RANGE,
    PAD_CROPS,
    check_inputs,
    crop_padding,
    epoch_permutations,
    preprocessing_fn,
    steps_per_epoch,
)


def _central_square(images, resolution):
    """Central square crop (when not square) resized to resolution; float32 in, float32 out."""
    shape = tf.shape(images)
    h, w = shape[-3], shape[-2]
    side = tf.minimum(h, w)
    images = tf.image.crop_to_bounding_box(images, (h - side) // 2, (w - side) // 2, side, side)
    return tf.image.resize(images, (resolution, resolution))


def _pad_crop(images, resolution, seed, augment):
    """Padding (`crop_padding`) and a random crop back to resolution, its own offset per image."""
    pad, fill = crop_padding(augment, resolution)
    size = resolution + 2 * pad
    images = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode=fill.upper())
    batch = tf.shape(images)[0]
    offsets = tf.random.stateless_uniform([batch, 2], seed, 0, 2 * pad + 1, dtype=tf.int32)
    top_left = tf.cast(offsets, tf.float32) / (size - 1)
    boxes = tf.concat([top_left, top_left + (resolution - 1) / (size - 1)], axis=1)
    # Corner-aligned boxes land on whole pixels: an exact crop, not an interpolation.
    return tf.image.crop_and_resize(
        images, boxes, tf.range(batch), (resolution, resolution), method="nearest"
    )


def _crop_boxes(shape_hw, batch, seed):
    """Normalised boxes of random squares of 80-100% of the shorter side, one per image."""
    h, w = tf.cast(shape_hw[0], tf.float32), tf.cast(shape_hw[1], tf.float32)
    u = tf.random.stateless_uniform([batch, 3], seed)
    side = tf.minimum(h, w) * (
        CROP_SIDE_RANGE[0] + (CROP_SIDE_RANGE[1] - CROP_SIDE_RANGE[0]) * u[:, 0]
    )
    top, left = (h - side) * u[:, 1], (w - side) * u[:, 2]
    # crop_and_resize maps box coordinate 1.0 to pixel H-1.
    return tf.stack(
        [
            top / tf.maximum(h - 1, 1),
            left / tf.maximum(w - 1, 1),
            (top + side - 1) / tf.maximum(h - 1, 1),
            (left + side - 1) / tf.maximum(w - 1, 1),
        ],
        axis=1,
    )


def _random_resized_crop(images, resolution, seed):
    batch = tf.shape(images)[0]
    boxes = _crop_boxes(tf.shape(images)[1:3], batch, seed)
    return tf.image.crop_and_resize(images, boxes, tf.range(batch), (resolution, resolution))


def _to_channels(images, have: int, want: int):
    if have == want:
        return images
    if have == 1 and want == 3:
        return tf.image.grayscale_to_rgb(images)
    if have == 3 and want == 1:
        return tf.image.rgb_to_grayscale(images)
    raise ValueError(f"cannot turn {have}-channel images into {want}-channel images")


def make_dataset(
    images: np.ndarray | RaggedImages,
    labels: np.ndarray,
    *,
    resolution: int,
    batch_size: int,
    preprocess=None,
    order: np.ndarray | None = None,
    skip_batches: int = 0,
    augment: str = "none",
    seed: int = 0,
    channels: int = 3,
) -> tf.data.Dataset:
    """Batches of (float32 images at `resolution`, int32 labels).

    `images` is a uint8 N x H x W x C array or a RaggedImages store. `order` is an
    (epochs, n) array of index permutations (training: augmented) or None (one pass in
    order, not augmented: evaluation). The first `skip_batches` batches are left out before
    any image is loaded (resuming within an epoch).
    """
    check_inputs(images, labels, augment)
    preprocess = preprocess or preprocessing_fn(None)
    labels = np.ascontiguousarray(labels, dtype=np.int32)
    if order is None:
        index = tf.data.Dataset.range(len(labels)).batch(batch_size)
    else:
        index = tf.data.Dataset.from_tensor_slices(np.asarray(order, np.int32)).flat_map(
            lambda perm: tf.data.Dataset.from_tensor_slices(perm).batch(batch_size)
        )
    index = index.skip(skip_batches)
    train = order is not None
    if isinstance(images, np.ndarray) and images.ndim == 2:  # cached features (data.features)
        if augment != "none" and train:
            raise ValueError(f"cached features cannot be augmented; received augment={augment!r}")
        load = _feature_loader(images, labels)
        preprocess = tf.identity  # the base saw preprocessed images when extracting
    else:
        load = (_ragged_loader if isinstance(images, RaggedImages) else _dense_loader)(
            images, labels, resolution, augment if train else "none", seed, channels
        )
    return index.map(
        lambda idx: (lambda x, y: (preprocess(x), y))(*load(idx)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    ).prefetch(tf.data.AUTOTUNE)


def _batch_seed(seed: int, idx):
    """Seed of a batch's random augmentation: (seed, a hash of the batch's image indices).

    It depends on what the batch holds, not on its position in the stream, so a run
    resumed at epoch k (whose stream starts at that epoch) augments exactly as the
    uninterrupted run did.
    """
    idx = tf.cast(idx, tf.int64)
    pos = tf.range(1, tf.size(idx, out_type=tf.int64) + 1, dtype=tf.int64)
    digest = tf.reduce_sum((idx + 1) * (pos * 2654435761 + 40503))  # wraps around: fine
    return tf.stack([tf.constant(seed, tf.int64), digest])


def _feature_loader(features, labels):
    """Rows of a float32 N x D array of a frozen base's features (no resizing, no
    preprocessing: the base saw the images already preprocessed)."""
    features = np.ascontiguousarray(features, dtype=np.float32)
    d = features.shape[1]

    def gather(idx):
        return features[idx], labels[idx]

    def load(idx):
        x, y = tf.numpy_function(gather, [idx], (tf.float32, tf.int32), stateful=False)
        return tf.ensure_shape(x, [None, d]), tf.ensure_shape(y, [None])

    return load


def _dense_loader(images, labels, resolution, augment, seed, channels):
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(
            f"images must be uint8 N x H x W x C; received {images.dtype} {images.shape}"
        )
    _, h, w, c = images.shape

    def gather(idx):
        return images[idx], labels[idx]

    def load(idx):
        x, y = tf.numpy_function(gather, [idx], (tf.uint8, tf.int32), stateful=False)
        x = tf.ensure_shape(x, [None, h, w, c])
        y = tf.ensure_shape(y, [None])
        x = tf.cast(_to_channels(x, c, channels), tf.float32)
        s = _batch_seed(seed, idx)
        if augment == "resize_crop":
            x = _random_resized_crop(x, resolution, s)
            x = tf.image.stateless_random_flip_left_right(x, seed=s + 1)
        else:
            if (h, w) != (resolution, resolution):
                x = _central_square(x, resolution)
            if augment in PAD_CROPS:
                x = _pad_crop(x, resolution, s, augment)
                x = tf.image.stateless_random_flip_left_right(x, seed=s + 1)
        return tf.ensure_shape(x, [None, resolution, resolution, channels]), y

    return load


def _ragged_loader(images: RaggedImages, labels, resolution, augment, seed, channels):
    flat, offsets, shapes = images.flat, images.offsets, images.shapes
    c = images.channels

    def gather(idx):
        parts = [flat[offsets[i] : offsets[i + 1]] for i in idx]
        return (np.concatenate(parts) if parts else flat[:0]), shapes[idx], labels[idx]

    def load(idx):
        buf, shp, y = tf.numpy_function(
            gather, [idx], (tf.uint8, tf.int32, tf.int32), stateful=False
        )
        buf, shp, y = tf.ensure_shape(buf, [None]), tf.ensure_shape(shp, [None, 3]), y
        y = tf.ensure_shape(y, [None])
        ends = tf.cumsum(tf.cast(tf.reduce_prod(shp, axis=1), tf.int64))
        starts = ends - tf.cast(tf.reduce_prod(shp, axis=1), tf.int64)
        s = _batch_seed(seed, idx)

        def one(i):
            img = tf.reshape(buf[starts[i] : ends[i]], shp[i])
            img = tf.cast(tf.ensure_shape(img, [None, None, c]), tf.float32)[None]
            if augment == "resize_crop":
                box = _crop_boxes(
                    tf.shape(img)[1:3], 1, tf.random.experimental.stateless_fold_in(s, i)
                )
                img = tf.image.crop_and_resize(img, box, [0], (resolution, resolution))
            else:
                img = _central_square(img, resolution)
            return img[0]

        x = tf.map_fn(
            one,
            tf.range(tf.shape(shp)[0]),
            fn_output_signature=tf.TensorSpec([resolution, resolution, c], tf.float32),
        )
        x = _to_channels(x, c, channels)
        if augment == "resize_crop":
            x = tf.image.stateless_random_flip_left_right(x, seed=s + 1)
        elif augment in PAD_CROPS:
            x = _pad_crop(x, resolution, s, augment)
            x = tf.image.stateless_random_flip_left_right(x, seed=s + 1)
        return tf.ensure_shape(x, [None, resolution, resolution, channels]), y

    return load
