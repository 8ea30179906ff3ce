"""tf.data input pipeline: uint8 images in memory, resized and normalised per batch.

The whole data set stays uint8 at its own size; each batch is gathered, resized to the
model's resolution, augmented and normalised on the fly, so memory does not grow with the
model's resolution. Epoch orders come from numpy permutations seeded by (seed, epoch), so a
run resumed at epoch k sees exactly the batches it would have seen without the interruption.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf


def epoch_permutations(n: int, seed: int, first_epoch: int, epochs: int) -> np.ndarray:
    """Shuffled index orders for epochs first_epoch..epochs-1, each seeded by (seed, epoch)."""
    perms = [np.random.default_rng([seed, e]).permutation(n) for e in range(first_epoch, epochs)]
    return np.array(perms, dtype=np.int32).reshape(-1, n)


def preprocessing_fn(arch_preprocess: str | None):
    """Scale float pixels in [0, 255] to what the model expects.

    From scratch every model gets [-1, 1]; with ImageNet weights the matching
    `keras.applications.<module>.preprocess_input` is used.
    """
    if arch_preprocess is None:
        return lambda x: x / 127.5 - 1.0
    import keras

    return getattr(keras.applications, arch_preprocess).preprocess_input


def _augment(images, resolution, augment, seed):
    if augment == "none":
        return images
    if augment == "flip_crop":
        # CIFAR recipe: pad 4 px (at 32 px; scaled with resolution), random crop, flip.
        pad = max(1, resolution // 8)
        images = tf.image.resize_with_crop_or_pad(images, resolution + 2 * pad, resolution + 2 * pad)
        batch = tf.shape(images)[0]
        images = tf.image.stateless_random_crop(
            images, tf.stack([batch, resolution, resolution, tf.shape(images)[-1]]), seed=seed
        )
        return tf.image.stateless_random_flip_left_right(images, seed=seed + 1)
    if augment == "resize_crop":
        # Stanford Dogs recipe: random crop of 80-100% of the side, resized back, and flip.
        size = tf.cast(tf.shape(images)[1], tf.float32)
        crop = tf.cast(size * tf.random.stateless_uniform([], seed, 0.8, 1.0), tf.int32)
        batch = tf.shape(images)[0]
        images = tf.image.stateless_random_crop(
            images, tf.stack([batch, crop, crop, tf.shape(images)[-1]]), seed=seed
        )
        images = tf.image.resize(images, (resolution, resolution))
        return tf.image.stateless_random_flip_left_right(images, seed=seed + 1)
    raise ValueError(f"unknown augmentation {augment!r}; choose none, flip_crop or resize_crop")


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    resolution: int,
    batch_size: int,
    preprocess=None,
    order: np.ndarray | None = None,
    augment: str = "none",
    seed: int = 0,
    channels: int = 3,
) -> tf.data.Dataset:
    """Batches of (float32 images at `resolution`, int labels).

    `order` is an (epochs, n) array of index permutations (training) or None (one pass in
    order: evaluation).
    """
    preprocess = preprocess or preprocessing_fn(None)
    images_t = tf.constant(images)  # uint8; shared by every epoch, never copied as float
    labels_t = tf.constant(labels.astype(np.int32))
    if order is None:
        index = tf.data.Dataset.range(len(labels)).batch(batch_size)
    else:
        index = tf.data.Dataset.from_tensor_slices(order).flat_map(
            lambda perm: tf.data.Dataset.from_tensor_slices(perm).batch(batch_size)
        )
    index = index.enumerate()

    def load(step, idx):
        x = tf.gather(images_t, idx)
        if x.shape[-1] == 1 and channels == 3:
            x = tf.image.grayscale_to_rgb(x)
        x = tf.cast(x, tf.float32)
        if x.shape[1] != resolution or x.shape[2] != resolution:
            x = tf.image.resize(x, (resolution, resolution))
        if order is not None:
            x = _augment(x, resolution, augment, tf.stack([tf.constant(seed, tf.int64), step]))
        return preprocess(x), tf.gather(labels_t, idx)

    return index.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(
        tf.data.AUTOTUNE
    )


def steps_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)
