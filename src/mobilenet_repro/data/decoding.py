"""Image decoding shared by the sources that read image files (Stanford Dogs, image folders).

`decode_image` turns one file's bytes into H x W x C uint8 (grey, palette, 16-bit, CMYK and
alpha images converted, EXIF rotation applied); `stack_images` makes the decoded images of
every split one dense array when they share a shape, else a `RaggedImages` store. A file that
cannot be decoded is collected and reported with every other such file at once
(`report_unreadable`), so a user fixes a data set in one pass.
"""

from __future__ import annotations

import io
import sys

import numpy as np

from mobilenet_repro.data import RaggedImages
from mobilenet_repro.errors import DataError

_GRAY_MODES = ("1", "L", "LA", "I", "F", "I;16", "I;16B", "I;16L", "I;16N")


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _dense(images: list[np.ndarray]) -> np.ndarray:
    """Stack equally sized images, emptying the list as it goes (peak ~ one copy)."""
    if not images:
        return np.empty((0, 1, 1, 1), np.uint8)
    out = np.empty((len(images), *images[0].shape), np.uint8)
    images.reverse()
    for i in range(len(out)):
        out[i] = images.pop()
    return out


def stack_images(split_images: dict[str, list[np.ndarray]]):
    """Dense arrays when every image of every split has one shape, else RaggedImages."""
    shapes = {im.shape for ims in split_images.values() for im in ims}
    channels = {s[2] for s in shapes}
    if len(channels) > 1:  # mixed grey and colour: colour wins
        for ims in split_images.values():
            for i, im in enumerate(ims):
                if im.shape[2] == 1:
                    ims[i] = np.repeat(im, 3, axis=2)
        shapes = {im.shape for ims in split_images.values() for im in ims}
    if len(shapes) <= 1:
        return {s: _dense(ims) for s, ims in split_images.items()}
    return {s: RaggedImages.from_list(ims) for s, ims in split_images.items()}


class UnreadableImage(Exception):
    pass


def decode_image(
    data: bytes, where: str, storage_size: int | None = None, channels: int | None = None
) -> np.ndarray:
    """Decode one image file to H x W x C uint8.

    Grey, palette, 16-bit, CMYK and alpha images are converted (alpha is dropped); EXIF
    rotation is applied. `channels` forces 1 (grey) or 3 (RGB); None keeps grey images grey.
    With `storage_size` the image is resized (shorter side) and centre-cropped to a square.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise UnreadableImage(f"{where} (empty file: 0 bytes)")
    try:
        im = Image.open(io.BytesIO(data))
        if storage_size:
            im.draft(None, (storage_size, storage_size))  # JPEG: decode at a reduced scale
        im.load()
        im = ImageOps.exif_transpose(im)
        grey = im.mode in _GRAY_MODES if channels is None else channels == 1
        if im.mode.startswith("I;16") or im.mode in ("I", "F"):
            arr = np.asarray(im)
            if im.mode.startswith("I;16"):
                arr = arr.astype(np.uint32) >> 8
            im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
        elif im.mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        im = im.convert("L" if grey else "RGB")
        if storage_size:
            im = ImageOps.fit(im, (storage_size, storage_size), Image.Resampling.BICUBIC)
        arr = np.asarray(im, dtype=np.uint8)
    except UnidentifiedImageError as exc:  # its message names the in-memory buffer
        raise UnreadableImage(f"{where} (not an image format Pillow recognises)") from exc
    except Exception as exc:  # PIL raises many types for broken files
        raise UnreadableImage(f"{where} ({type(exc).__name__}: {exc})") from exc
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise UnreadableImage(f"{where} (empty image)")
    return np.ascontiguousarray(arr)


def report_unreadable(name: str, bad: list[str]) -> None:
    if bad:
        shown = "\n  ".join(bad[:20])
        more = f"\n  ... and {len(bad) - 20} more" if len(bad) > 20 else ""
        raise DataError(
            f"data set '{name}': {len(bad)} image file(s) cannot be decoded:\n  {shown}{more}\n"
            "Remove or replace these files (or re-create the archive without them) and rerun."
        )
