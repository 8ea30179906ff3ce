"""The image_folder source: any root/{train,test}/<class>/*.{jpg,jpeg,png} tree (optional val/),
as a directory or an archive (read in place, never extracted; see `mobilenet_repro.data.archives`).

Images are decoded once to uint8 by `mobilenet_repro.data.decoding`; a file that is not
an image by its extension is ignored, an empty class folder is skipped and said so, and
anything else that cannot be read is an error naming the file.
"""

from __future__ import annotations

import hashlib
import posixpath
from pathlib import Path

import numpy as np

from mobilenet_repro.data import ImageDataset
from mobilenet_repro.data.archives import iter_files
from mobilenet_repro.data.decoding import (
    UnreadableImage,
    decode_image,
    progress,
    report_unreadable,
    stack_images,
)
from mobilenet_repro.data.fetch import RemoteFile, fetch_files, files_meta
from mobilenet_repro.data.splits import assemble
from mobilenet_repro.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
_SPLIT_DIRS = {"train": "train", "test": "test", "val": "val", "validation": "val"}


def _folder_member(rel: str) -> tuple[str, str, str] | None:
    """(prefix, split, class) of root/<prefix>/{train,val,test}/<class>/<file>, else None."""
    parts = rel.split("/")
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return None
    for i in range(len(parts) - 3, -1, -1):
        if parts[i] in _SPLIT_DIRS and len(parts) == i + 3:
            return "/".join(parts[:i]), _SPLIT_DIRS[parts[i]], parts[i + 1]
    return None


def _is_image(rel: str) -> bool:
    base = posixpath.basename(rel)
    return base.lower().endswith(IMAGE_EXTENSIONS) and not base.startswith(".")


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for rel, data in iter_files(root, _is_image):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def _image_folder_root(name: str, spec: dict, resources_dir: Path) -> tuple[Path, dict]:
    """The folder to read (a directory, or a fetched archive) and the fetched files, if any."""
    path, url = spec.get("path"), spec.get("url")
    if path is None and url is None:
        raise DataError(
            f"datasets.{name}: an image_folder data set needs `path` (a directory or archive "
            "with train/<class>/*.jpg and test/<class>/*.jpg) or `url` (such an archive)"
        )
    files = {}
    if path is not None and Path(path).is_dir():
        root = Path(path)
        if spec.get("sha256"):
            got = _tree_digest(root)
            if got != spec["sha256"]:
                raise DataError(
                    f"datasets.{name}.sha256: the image files under {root} digest to {got}, "
                    f"expected {spec['sha256']}; the folder changed (update sha256 if intended)"
                )
    else:
        if path is not None and not Path(path).exists():
            raise DataError(
                f"datasets.{name}.path: {path} does not exist; point it at the "
                "image folder or an archive of it"
            )
        fname = (
            Path(path).name
            if path is not None
            else posixpath.basename(url.split("?")[0]) or f"{name}.archive"
        )
        remote = RemoteFile(fname, url or "")
        files = fetch_files(name, spec, resources_dir, (remote,))
        root = Path(files[fname].path)
    return root, files


def _read_image_folder(name: str, spec: dict, root: Path, files: dict):
    """Decoded (relative path, class, image) per split, the one prefix and skipped files."""
    storage_size, channels = spec.get("storage_size"), spec.get("channels")
    samples = {s: [] for s in ("train", "val", "test")}
    prefixes, skipped, bad = set(), [], []
    for i, (rel, data) in enumerate(iter_files(root, _is_image)):
        found = _folder_member(rel)
        if found is None:
            skipped.append(rel)
            continue
        prefix, split, cls = found
        prefixes.add(prefix)
        try:
            img = decode_image(
                data, f"{root}:{rel}" if files else str(root / rel), storage_size, channels
            )
            samples[split].append((rel, cls, img))
        except UnreadableImage as exc:
            bad.append(str(exc))
        if (i + 1) % 10000 == 0:
            progress(f"[{name}] decoded {i + 1:,} images")
    report_unreadable(name, bad)
    if len(prefixes) > 1:
        raise DataError(
            f"{root}: found train/test folders under several directories {sorted(prefixes)}; "
            f"point datasets.{name}.path at one image folder"
        )
    if not samples["train"]:
        raise DataError(
            f"{root}: no images found in the layout train/<class>/*.jpg|jpeg|png (with "
            f"test/<class>/... beside it){'; skipped e.g. ' + str(skipped[:3]) if skipped else ''}"
        )
    if skipped:
        progress(
            f"[{name}] ignored {len(skipped)} image file(s) outside "
            f"{{train,val,test}}/<class>/, e.g. {skipped[:3]}"
        )
    return samples, next(iter(prefixes)), skipped


def _report_empty_classes(name: str, base_dir: Path, class_names: list[str]) -> None:
    """An empty folder is not a class; say so rather than train a head with a dead output."""
    empty = sorted(
        f"{split_dir.name}/{d.name}"
        for split_dir in base_dir.iterdir()
        if _SPLIT_DIRS.get(split_dir.name) == "train"
        for d in split_dir.iterdir()
        if d.is_dir() and d.name not in class_names and not d.name.startswith(".")
    )
    if empty:
        progress(f"[{name}] skipped class folder(s) without images: {empty}")


def load_image_folder(name: str, spec: dict, resources_dir: Path) -> ImageDataset:
    """Images in root/{train,test}/<class>/*.{jpg,jpeg,png} (an optional val/ is used as is).

    `path` is the root directory or an archive (tar, tar.gz, zip) holding it, possibly under
    one top directory; `url` downloads such an archive. Class names are the folder names.
    """
    path, url = spec.get("path"), spec.get("url")
    root, files = _image_folder_root(name, spec, resources_dir)
    samples, prefix, skipped = _read_image_folder(name, spec, root, files)
    class_names = sorted({cls for _, cls, _ in samples["train"]})
    if not files:
        _report_empty_classes(name, root / prefix, class_names)
    index = {c: i for i, c in enumerate(class_names)}
    for split in ("val", "test"):
        unknown = sorted({cls for _, cls, _ in samples[split]} - set(index))
        if unknown:
            raise DataError(f"{root}: {split}/ has classes {unknown} that train/ lacks")
    split_images, split_labels = {}, {}
    for split, items in samples.items():
        items.sort(key=lambda t: t[0])  # independent of the archive's member order
        split_labels[split] = np.array([index[c] for _, c, _ in items], np.int64)
        split_images[split] = [img for _, _, img in items]
        items.clear()
    stacked = stack_images(split_images)
    present = {s for s in ("val", "test") if len(split_labels[s])}
    meta = {
        "source": "image_folder",
        "description": f"Image folder {path or url}.",
        "citation": "",
        "license": "",
        "storage_size": spec.get("storage_size"),
        "skipped_files": len(skipped),
        "splits_base": "the folder's " + "/".join(["train"] + sorted(present)) + " folders",
        "files": files_meta(files),
    }
    if not files:
        meta["folder_sha256"] = spec.get("sha256") or _tree_digest(root)
    return assemble(
        name,
        spec,
        class_names,
        (stacked["train"], split_labels["train"]),
        (stacked["test"], split_labels["test"]) if "test" in present else None,
        meta,
        val=(stacked["val"], split_labels["val"]) if "val" in present else None,
    )
