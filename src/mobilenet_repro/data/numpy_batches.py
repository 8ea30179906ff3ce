"""Backend-neutral input path: tf_pipeline.py's batches, in numpy, for JAX and PyTorch.

`tf_pipeline.py` builds the input with tf.data, which needs TensorFlow; a run on the JAX or
PyTorch backend (a machine without TensorFlow) gets its batches from `Batches`, a
`keras.utils.PyDataset` that every Keras backend can fit on. Both paths share what decides a
run's data (this module): the epoch orders (`epoch_permutations`, seeded by (seed, epoch)), the
per-batch augmentation seed (`batch_digest`: the seed and a hash of the batch's image indices,
so a resumed run augments exactly as the uninterrupted one), the augmentations and their
parameters, and the normalisation. So for a given seed both paths train on the same images in
the same order with the same labels; the unaugmented views (evaluation, `augment: none`) are
equal to float rounding (tests/data/test_batches.py). The random draws of an augmentation differ
between the paths (TensorFlow's stateless Philox against numpy's generator seeded alike): the
same distribution of crops and flips, not the same crop for a given image.

Resizing follows TensorFlow's conventions: `tf.image.resize` (bilinear, half-pixel centres, no
antialiasing) for the central square, `tf.image.crop_and_resize` (corner-aligned boxes) for
resize_crop, so evaluation sees the same pixels under every backend.
"""

from __future__ import annotations

import math

import keras
import numpy as np

AUGMENTATIONS = ("none", "flip_crop", "flip_translate", "resize_crop")
CROP_SIDE_RANGE = (0.8, 1.0)  # resize_crop: crop side as a fraction of the shorter side
GREY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140], np.float32)  # tf.image.rgb_to_grayscale's


def steps_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)


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
    return getattr(keras.applications, arch_preprocess).preprocess_input


def batch_digest(idx: np.ndarray) -> int:
    """A hash of a batch's image indices (int64 arithmetic, wrapping around), the second half
    of its augmentation seed; tf_pipeline._batch_seed computes the same number in TensorFlow."""
    idx = np.asarray(idx, np.int64)
    pos = np.arange(1, idx.size + 1, dtype=np.int64)
    with np.errstate(over="ignore"):
        return int(np.sum((idx + 1) * (pos * np.int64(2654435761) + np.int64(40503))))


def batch_rng(seed: int, idx: np.ndarray) -> np.random.Generator:
    """The random generator of one batch's augmentation: a function of (seed, its indices)."""
    return np.random.default_rng([seed, batch_digest(idx) % 2**64])


# ------------------------------------------------------------------------ image geometry
def _bilinear(img: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Sample H x W x C `img` at rows `ys` and columns `xs` (float source coordinates,
    clamped to the image), bilinearly: a len(ys) x len(xs) x C float32 image."""
    h, w = img.shape[:2]
    y0, x0 = np.floor(ys), np.floor(xs)
    fy, fx = (ys - y0).astype(np.float32), (xs - x0).astype(np.float32)
    y0, x0 = y0.astype(np.int64), x0.astype(np.int64)
    ya, yb = np.clip(y0, 0, h - 1), np.clip(y0 + 1, 0, h - 1)
    xa, xb = np.clip(x0, 0, w - 1), np.clip(x0 + 1, 0, w - 1)
    img = img.astype(np.float32, copy=False)
    top = img[ya][:, xa] * (1 - fx)[None, :, None] + img[ya][:, xb] * fx[None, :, None]
    bottom = img[yb][:, xa] * (1 - fx)[None, :, None] + img[yb][:, xb] * fx[None, :, None]
    return top * (1 - fy)[:, None, None] + bottom * fy[:, None, None]


def resize(img: np.ndarray, resolution: int) -> np.ndarray:
    """tf.image.resize(img, (resolution, resolution)): bilinear, half-pixel centres."""
    h, w = img.shape[:2]
    out = np.arange(resolution, dtype=np.float64) + 0.5
    return _bilinear(img, out * (h / resolution) - 0.5, out * (w / resolution) - 0.5)


def central_square(img: np.ndarray, resolution: int) -> np.ndarray:
    """The central square of `img` (when not square) resized to the resolution."""
    h, w = img.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    img = img[top : top + side, left : left + side]
    if img.shape[:2] == (resolution, resolution):
        return img.astype(np.float32)
    return resize(img, resolution)


def crop_and_resize(img: np.ndarray, box, resolution: int) -> np.ndarray:
    """tf.image.crop_and_resize for one image and one normalised box (y1, x1, y2, x2):
    box coordinate 1.0 is pixel H-1; samples outside the image are 0."""
    h, w = img.shape[:2]
    y1, x1, y2, x2 = (float(v) for v in box)
    steps = np.arange(resolution, dtype=np.float64)
    scale = 1.0 / (resolution - 1) if resolution > 1 else 0.0
    ys = (y1 + steps * (y2 - y1) * scale) * (h - 1)
    xs = (x1 + steps * (x2 - x1) * scale) * (w - 1)
    out = _bilinear(img, ys, xs)
    out[(ys < 0) | (ys > h - 1)] = 0.0
    out[:, (xs < 0) | (xs > w - 1)] = 0.0
    return out


def crop_box(h: int, w: int, u: np.ndarray) -> tuple[float, float, float, float]:
    """resize_crop's box from three uniform numbers: a square of 80-100% of the shorter side
    at a random position, normalised as tf_pipeline._crop_boxes does."""
    side = min(h, w) * (CROP_SIDE_RANGE[0] + (CROP_SIDE_RANGE[1] - CROP_SIDE_RANGE[0]) * u[0])
    top, left = (h - side) * u[1], (w - side) * u[2]
    hn, wn = max(h - 1, 1), max(w - 1, 1)
    return top / hn, left / wn, (top + side - 1) / hn, (left + side - 1) / wn


# Padded-crop augmentations: (padding as a fraction of the resolution's side, its fill).
# flip_crop: resolution/8 pixels (4 at 32) of zeros, the standard CIFAR-10 crop; flip_translate:
# resolution/16 (2 at 32) with the image reflected at its edge, the airbench training
# augmentation (Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU", 2024), so a crop
# never carries a black border.
PAD_CROPS = {"flip_crop": (8, "constant"), "flip_translate": (16, "reflect")}


def crop_padding(augment: str, resolution: int) -> tuple[int, str]:
    """Pixels of padding on each side and its fill, for an augmentation of PAD_CROPS."""
    divisor, fill = PAD_CROPS[augment]
    return max(1, resolution // divisor), fill


def pad_crop(x: np.ndarray, rng: np.random.Generator, augment: str) -> np.ndarray:
    """Padding (`crop_padding`) and a random crop back, its own offset per image."""
    n, res = x.shape[0], x.shape[1]
    pad, fill = crop_padding(augment, res)
    padded = np.pad(x, [(0, 0), (pad, pad), (pad, pad), (0, 0)], mode=fill)
    offsets = rng.integers(0, 2 * pad + 1, size=(n, 2))
    return np.stack([padded[i, t : t + res, s : s + res] for i, (t, s) in enumerate(offsets)])


def random_flip(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image flipped left-right with probability 1/2."""
    flip = rng.random(len(x)) < 0.5
    x = x.copy()
    x[flip] = x[flip, :, ::-1]
    return x


def to_channels(x: np.ndarray, want: int) -> np.ndarray:
    have = x.shape[-1]
    if have == want:
        return x
    if have == 1 and want == 3:
        return np.repeat(x, 3, axis=-1)
    if have == 3 and want == 1:
        if x.dtype == np.uint8:  # as tf.image.rgb_to_grayscale on uint8: back to uint8
            grey = (x.astype(np.float32) / 255.0) @ GREY_WEIGHTS
            return (grey * 255.5).astype(np.uint8)[..., None]
        return (x.astype(np.float32) @ GREY_WEIGHTS)[..., None]
    raise ValueError(f"cannot turn {have}-channel images into {want}-channel images")


# ------------------------------------------------------------------------------ batches
def check_inputs(images, labels, augment: str) -> None:
    """What both input paths refuse: an unknown augmentation, images and labels that differ
    in number."""
    if augment not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {augment!r}; choose one of {AUGMENTATIONS}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")


def load_batch(images, idx, *, resolution: int, augment: str, seed: int, channels: int):
    """Float32 images of the batch `idx`, at the resolution, augmented (training) or not."""
    rng = batch_rng(seed, idx) if augment != "none" else None
    dense = isinstance(images, np.ndarray)  # converted before resizing, as tf_pipeline.py does
    views = []
    for i in idx:
        img = to_channels(images[int(i)], channels) if dense else images[int(i)]
        if augment == "resize_crop":
            box = crop_box(img.shape[0], img.shape[1], rng.random(3))
            views.append(crop_and_resize(img, box, resolution))
        else:
            views.append(central_square(img, resolution))
    x = to_channels(np.stack(views).astype(np.float32, copy=False), channels)
    if augment in PAD_CROPS:
        x = pad_crop(x, rng, augment)
    if augment != "none":
        x = random_flip(x, rng)
    return np.ascontiguousarray(x, dtype=np.float32)


class Batches(keras.utils.PyDataset):
    """Batches of (float32 images at `resolution`, one-hot float32 labels), for `model.fit`.

    The arguments are tf_pipeline.make_dataset's: `order` is an (epochs, n) array of index
    permutations (training: augmented, every epoch's batches one after the other) or None
    (one pass in order, not augmented: evaluation); the first `skip_batches` batches are left
    out (resuming within an epoch).
    """

    def __init__(
        self,
        images,
        labels: np.ndarray,
        *,
        resolution: int,
        batch_size: int,
        classes: int,
        preprocess=None,
        order: np.ndarray | None = None,
        skip_batches: int = 0,
        augment: str = "none",
        seed: int = 0,
        channels: int = 3,
    ):
        super().__init__()
        check_inputs(images, labels, augment)
        self.images, self.labels = images, np.asarray(labels, np.int32)
        self.preprocess = preprocess or preprocessing_fn(None)
        self.resolution, self.classes, self.seed, self.channels = (
            resolution,
            classes,
            seed,
            channels,
        )
        self.augment = augment if order is not None else "none"
        n = len(self.labels)
        orders = [np.arange(n)] if order is None else list(np.asarray(order, np.int64))
        self.index = [
            perm[start : start + batch_size] for perm in orders for start in range(0, n, batch_size)
        ][skip_batches:]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        idx = self.index[i]
        x = load_batch(
            self.images,
            idx,
            resolution=self.resolution,
            augment=self.augment,
            seed=self.seed,
            channels=self.channels,
        )
        y = np.eye(self.classes, dtype=np.float32)[self.labels[idx]]
        return np.asarray(self.preprocess(x), np.float32), y

    @property
    def element_spec(self):
        """Shapes and dtypes of a batch, as train.build_training_state reads them."""
        from types import SimpleNamespace

        return (
            SimpleNamespace(
                shape=(None, self.resolution, self.resolution, self.channels), dtype="float32"
            ),
            SimpleNamespace(shape=(None, self.classes), dtype="float32"),
        )
