"""Sources in their official formats (built here, small), image folders, storage, pipeline."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mobilenet_repro.data import DataError, RaggedImages, load_dataset, save_dataset
from mobilenet_repro.data.cifar10 import CIFAR10_FILES
from mobilenet_repro.data.decoding import decode_image
from mobilenet_repro.data.fetch import OFFLINE_ENV
from mobilenet_repro.data.manifest import manifest
from mobilenet_repro.data.mnist import parse_idx
from mobilenet_repro.data.prepare import prepare_dataset
from mobilenet_repro.errors import ConfigError
from mobilenet_repro.report.datasheets import datasheet
from mobilenet_repro.validation import check_config


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")  # every test here must work without a network


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def add_bytes(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def jpeg(h: int, w: int, value=(200, 30, 30), mode="RGB", fmt="JPEG") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), value).save(buf, fmt)
    return buf.getvalue()


# ----------------------------------------------------------------------------- CIFAR-10
CIFAR_NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


def cifar_image(label: int, i: int) -> np.ndarray:
    """A recognisable 32x32x3 image: R = 20 * label, G = row, B = i."""
    img = np.zeros((32, 32, 3), np.uint8)
    img[..., 0] = 20 * label
    img[..., 1] = np.arange(32)[:, None]
    img[..., 2] = i % 256
    return img


def make_cifar10(path: Path, per_batch: int = 20) -> Path:
    """cifar-10-python.tar.gz as published: pickled dicts with bytes keys, planar rows."""
    with tarfile.open(path, "w:gz") as tf:
        i = 0
        for batch in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
            labels = [(i + j) % 10 for j in range(per_batch)]
            rows = np.stack(
                [
                    cifar_image(lab, i + j).transpose(2, 0, 1).reshape(-1)
                    for j, lab in enumerate(labels)
                ]
            )
            i += per_batch
            obj = {
                b"batch_label": batch.encode(),
                b"labels": labels,
                b"data": rows,
                b"filenames": [f"{k}.png".encode() for k in range(per_batch)],
            }
            add_bytes(tf, f"cifar-10-batches-py/{batch}", pickle.dumps(obj, protocol=2))
        meta = {b"label_names": [c.encode() for c in CIFAR_NAMES], b"num_vis": 3072}
        add_bytes(tf, "cifar-10-batches-py/batches.meta", pickle.dumps(meta, protocol=2))
        add_bytes(tf, "cifar-10-batches-py/readme.html", b"<html></html>")
    return path


def test_cifar10_python_batches(tmp_path):
    arc = make_cifar10(tmp_path / "cifar-10-python.tar.gz")
    spec = {
        "source": "cifar10",
        "path": str(arc),
        "sha256": sha256(arc),
        "split": {"val_fraction": 0.2, "seed": 0},
    }
    ds = prepare_dataset("c10", spec, tmp_path / "res")
    assert ds.class_names == CIFAR_NAMES
    x, y = ds.splits["train"]
    assert x.dtype == np.uint8 and x.shape[1:] == (32, 32, 3)
    assert [len(ds.splits[s][1]) for s in ("train", "val", "test")] == [80, 20, 20]
    for img, lab in zip(x, y, strict=True):  # NHWC, channels in the right place
        assert (img[..., 0] == 20 * lab).all() and (img[:, 0, 1] == np.arange(32)).all()
    assert (ds.splits["test"][0][:, 0, 0, 2] >= 100).all()  # the test batch came last
    assert ds.meta["files"]["cifar-10-python.tar.gz"]["verification"] == "configured sha256"
    assert not (tmp_path / "res").exists()  # read in place: nothing extracted or copied


def test_cifar10_download_from_mirror(tmp_path):
    arc = make_cifar10(tmp_path / "mirror.tar.gz")
    spec = {"source": "cifar10", "url": arc.as_uri(), "sha256": sha256(arc)}
    import os

    os.environ.pop(OFFLINE_ENV)
    ds = prepare_dataset("c10", spec, tmp_path / "res")
    assert (tmp_path / "res" / "downloads" / "cifar-10-python.tar.gz").is_file()
    assert ds.meta["files"]["cifar-10-python.tar.gz"]["origin"] == "download"


def test_checksum_failure_is_clear_and_extracts_nothing(tmp_path):
    arc = make_cifar10(tmp_path / "cifar-10-python.tar.gz")
    with pytest.raises(DataError) as err:  # not the official file: the pinned sha256 fails
        prepare_dataset("c10", {"source": "cifar10", "path": str(arc)}, tmp_path / "res")
    msg = str(err.value)
    assert str(arc) in msg and CIFAR10_FILES[0].sha256 in msg and "datasets.c10.sha256" in msg
    with pytest.raises(DataError, match="fails its checksum"):
        prepare_dataset(
            "c10", {"source": "cifar10", "path": str(arc), "sha256": "a" * 64}, tmp_path / "res"
        )
    assert not (tmp_path / "res").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-python.tar.gz"]


def test_offline_without_local_copy_says_what_to_put_where(tmp_path):
    with pytest.raises(DataError) as err:
        prepare_dataset("c10", {"source": "cifar10"}, tmp_path / "res")
    msg = str(err.value)
    assert "cifar-10-python.tar.gz" in msg and CIFAR10_FILES[0].sha256 in msg
    assert str(tmp_path / "res" / "downloads" / "cifar-10-python.tar.gz") in msg
    assert "datasets.c10.path" in msg


def test_cifar_batches_cannot_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for b in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch", "batches.meta"]:
            add_bytes(tf, f"cifar-10-batches-py/{b}", pickle.dumps({b"x": Evil()}, protocol=2))
    spec = {"source": "cifar10", "path": str(path), "sha256": sha256(path)}
    with pytest.raises(DataError, match=r"refusing to load (__builtin__|builtins)\.print"):
        prepare_dataset("c10", spec, tmp_path / "res")


# ----------------------------------------------------------------------------- MNIST
def idx_bytes(arr: np.ndarray) -> bytes:
    return (
        struct.pack(">HBB", 0, 8, arr.ndim)
        + struct.pack(f">{arr.ndim}I", *arr.shape)
        + (arr.astype(np.uint8).tobytes())
    )


def make_mnist(folder: Path, n_train=50, n_test=20) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(n_train) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(n_test) % 10,
    }
    shas = {}
    for stem, arr in arrays.items():
        path = folder / f"{stem}.gz"
        path.write_bytes(gzip.compress(idx_bytes(arr)))
        shas[path.name] = sha256(path)
    return {"arrays": arrays, "sha256": shas}


def test_mnist_idx_files(tmp_path):
    made = make_mnist(tmp_path / "mnist")
    spec = {
        "source": "mnist",
        "path": str(tmp_path / "mnist"),
        "sha256": made["sha256"],
        "split": {"val_fraction": 0.2},
    }
    ds = prepare_dataset("mnist", spec, tmp_path / "res")
    assert ds.image_shape() == (28, 28, 1) and ds.class_names == [str(i) for i in range(10)]
    assert [len(ds.splits[s][1]) for s in ("train", "val", "test")] == [40, 10, 20]
    np.testing.assert_array_equal(
        ds.splits["test"][0][..., 0], made["arrays"]["t10k-images-idx3-ubyte"]
    )
    # A single sha256 cannot describe four files.
    with pytest.raises(DataError, match="mapping from file name to sha256"):
        prepare_dataset("mnist", dict(spec, sha256="a" * 64), tmp_path / "res")
    # The official pins apply when no sha256 is configured: these files are not official.
    with pytest.raises(DataError, match="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f2"):
        prepare_dataset("mnist", {"source": "mnist", "path": str(tmp_path / "mnist")}, tmp_path)


def test_parse_idx_plain_and_broken():
    arr = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(idx_bytes(arr), "x"), arr)
    with pytest.raises(DataError, match="not a valid IDX file"):
        parse_idx(idx_bytes(arr)[:-1], "broken.idx")
    with pytest.raises(DataError, match="bad magic"):
        parse_idx(b"\x00\x00\x0d\x01" + bytes(8), "float.idx")


def test_mnist_keras_npz(tmp_path):
    path = tmp_path / "mnist.npz"
    rng = np.random.default_rng(1)
    np.savez(
        path,
        x_train=rng.integers(0, 256, (70, 28, 28), dtype=np.uint8),
        y_train=np.arange(70) % 10,
        x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        y_test=np.arange(10) % 10,
    )
    ds = prepare_dataset(
        "m", {"source": "mnist", "path": str(path), "sha256": sha256(path)}, tmp_path / "res"
    )
    assert len(ds.splits["test"][1]) == 10 and ds.image_shape() == (28, 28, 1)


# ----------------------------------------------------------------------------- Stanford Dogs
DOG_CLASSES = ["n02085620-Chihuahua", "n02085782-Japanese_spaniel", "n02085936-Maltese_dog"]


def make_stanford_dogs(folder: Path, per_class=(4, 2)) -> dict:
    """images.tar (Images/<synset-breed>/<file>.jpg, varied sizes) and lists.tar (.mat)."""
    from scipy.io import savemat

    folder.mkdir(parents=True, exist_ok=True)
    lists = {"train": ([], []), "test": ([], [])}
    with tarfile.open(folder / "images.tar", "w") as tf:
        for c, cls in enumerate(DOG_CLASSES):
            for k in range(sum(per_class)):
                rel = f"{cls}/{cls.split('-')[0]}_{k}.jpg"
                h, w = 40 + 7 * k, 50 + 3 * c
                add_bytes(tf, f"Images/{rel}", jpeg(h, w, (40 * c, 100, 50)))
                split = "train" if k < per_class[0] else "test"
                lists[split][0].append(rel)
                lists[split][1].append(c + 1)
    with tarfile.open(folder / "lists.tar", "w") as tf:
        for split, (names, labels) in lists.items():
            buf = io.BytesIO()
            savemat(
                buf,
                {
                    "file_list": np.array(names, dtype=object).reshape(-1, 1),
                    "annotation_list": np.array([n[:-4] for n in names], dtype=object).reshape(
                        -1, 1
                    ),
                    "labels": np.array(labels, dtype=np.float64).reshape(-1, 1),
                },
            )
            add_bytes(tf, f"{split}_list.mat", buf.getvalue())
    return {f: sha256(folder / f) for f in ("images.tar", "lists.tar")}


def test_stanford_dogs_ragged_native_size(tmp_path):
    shas = make_stanford_dogs(tmp_path / "dogs")
    spec = {
        "source": "stanford_dogs",
        "path": str(tmp_path / "dogs"),
        "sha256": shas,
        "split": {"val_fraction": 0.25},
    }
    ds = prepare_dataset("dogs", spec, tmp_path / "res")
    assert ds.class_names == ["Chihuahua", "Japanese_spaniel", "Maltese_dog"]
    assert ds.meta["synsets"][0] == "n02085620"
    x, y = ds.splits["test"]
    assert isinstance(x, RaggedImages) and ds.image_shape() == (None, None, 3)
    assert [len(ds.splits[s][1]) for s in ("train", "val", "test")] == [9, 3, 6]
    assert sorted({tuple(s[:2]) for s in x.shapes}) == sorted(
        {(40 + 7 * k, 50 + 3 * c) for c in range(3) for k in (4, 5)}
    )
    man = manifest(ds)
    assert man["storage"]["layout"] == "ragged" and man["image_shape"] == [None, None, 3]
    assert man["image_sizes"]["height"]["min"] == 40
    # Round trip through the npz cache keeps every pixel.
    save_dataset(ds, tmp_path / "dogs.npz")
    back = load_dataset(tmp_path / "dogs.npz")
    for a, b in zip(back.splits["train"][0], ds.splits["train"][0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert manifest(back)["arrays_sha256"] == man["arrays_sha256"]


def test_stanford_dogs_storage_size_is_dense(tmp_path):
    shas = make_stanford_dogs(tmp_path / "dogs")
    spec = {
        "source": "stanford_dogs",
        "path": str(tmp_path / "dogs"),
        "sha256": shas,
        "storage_size": 24,
    }
    ds = prepare_dataset("dogs", spec, tmp_path / "res")
    assert isinstance(ds.splits["train"][0], np.ndarray) and ds.image_shape() == (24, 24, 3)


def test_stanford_dogs_needs_both_files(tmp_path):
    shas = make_stanford_dogs(tmp_path / "dogs")
    (tmp_path / "dogs" / "lists.tar").unlink()
    with pytest.raises(DataError, match=r"lists\.tar does not exist\. Put lists\.tar \(sha256"):
        prepare_dataset(
            "dogs",
            {"source": "stanford_dogs", "path": str(tmp_path / "dogs"), "sha256": shas},
            tmp_path / "res",
        )


# ----------------------------------------------------------------------------- image folder
def png(arr_or_img, **kw) -> bytes:
    img = arr_or_img if isinstance(arr_or_img, Image.Image) else Image.fromarray(arr_or_img)
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def make_folder(root: Path, with_val=False, odd=True) -> Path:
    files = {}
    for split, n in (("train", 6), ("test", 2)) + ((("val", 2),) if with_val else ()):
        for c, cls in enumerate(("cat", "dog")):
            for k in range(n):
                files[f"{split}/{cls}/{k}.jpg"] = jpeg(16, 16, (100 * c, 50, 20 * k))
    if odd:
        files["train/cat/grey.png"] = png(np.full((16, 16), 77, np.uint8))
        files["train/cat/rgba.png"] = png(np.full((16, 16, 4), 200, np.uint8))
        pal = Image.new("P", (16, 16), 3)
        pal.putpalette([0, 0, 0] * 3 + [10, 20, 30] + [0, 0, 0] * 252)
        files["train/dog/palette.png"] = png(pal)
        files["train/dog/big16.png"] = png(Image.fromarray(np.full((20, 24), 65535, np.uint16)))
        files["train/dog/UPPER.JPEG"] = jpeg(20, 10)
    files["README.txt"] = b"not an image"
    files["train/.DS_Store"] = b"junk"
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def test_image_folder_directory_conversions_and_val_carving(tmp_path):
    root = make_folder(tmp_path / "folder")
    ds = prepare_dataset(
        "mine",
        {"source": "image_folder", "path": str(root), "split": {"val_fraction": 0.25, "seed": 1}},
        tmp_path / "res",
    )
    assert ds.class_names == ["cat", "dog"]
    assert [len(ds.splits[s][1]) for s in ("train", "val", "test")] == [13, 4, 4]
    x = ds.splits["train"][0]
    assert isinstance(x, RaggedImages) and x.channels == 3  # odd sizes -> ragged, grey -> RGB
    shapes = {tuple(s) for s in x.shapes} | {tuple(s) for s in ds.splits["val"][0].shapes}
    assert (20, 24, 3) in shapes and (20, 10, 3) in shapes
    all_imgs = list(x) + list(ds.splits["val"][0])
    assert any((im == 77).all() for im in all_imgs)  # grey replicated to RGB
    assert any((im == 255).all() for im in all_imgs)  # 16-bit scaled to 8 bits
    assert any((im[..., 0] == 10).all() and (im[..., 2] == 30).all() for im in all_imgs)  # palette
    man = manifest(ds)
    assert man["folder_sha256"] and man["skipped_files"] == 0
    assert "validation: 0.25" in man["splits_from"]
    # Same folder, same split: deterministic.
    again = prepare_dataset(
        "mine",
        {"source": "image_folder", "path": str(root), "split": {"val_fraction": 0.25, "seed": 1}},
        tmp_path / "res",
    )
    assert manifest(again)["arrays_sha256"] == man["arrays_sha256"]


def test_image_folder_uniform_is_dense_and_uses_val_folder(tmp_path):
    root = make_folder(tmp_path / "folder", with_val=True, odd=False)
    ds = prepare_dataset("mine", {"source": "image_folder", "path": str(root)}, tmp_path)
    assert ds.image_shape() == (16, 16, 3)
    assert [len(ds.splits[s][1]) for s in ("train", "val", "test")] == [12, 4, 4]
    assert "val" in ds.meta["splits_from"]


def test_image_folder_channels_and_storage_size(tmp_path):
    root = make_folder(tmp_path / "folder")
    ds = prepare_dataset(
        "m",
        {"source": "image_folder", "path": str(root), "channels": 1, "storage_size": 12},
        tmp_path,
    )
    assert ds.image_shape() == (12, 12, 1)


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_image_folder_archive_with_top_directory(tmp_path, kind):
    root = make_folder(tmp_path / "src" / "mydata", odd=False)
    arc = tmp_path / f"mydata.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(arc, "w") as zf:
            for p in sorted(root.rglob("*")):
                if p.is_file():
                    zf.write(p, p.relative_to(root.parent).as_posix())
    else:
        with tarfile.open(arc, "w:gz") as tf:
            tf.add(root, arcname="mydata")
    ds = prepare_dataset(
        "m", {"source": "image_folder", "path": str(arc), "sha256": sha256(arc)}, tmp_path / "res"
    )
    assert ds.class_names == ["cat", "dog"] and len(ds.splits["test"][1]) == 4
    assert ds.meta["files"][arc.name]["sha256"] == sha256(arc)
    with pytest.raises(DataError, match="fails its checksum") as err:
        prepare_dataset(
            "m", {"source": "image_folder", "path": str(arc), "sha256": "b" * 64}, tmp_path / "res"
        )
    # One's own image folder has no official file: the fix says what to do instead.
    assert "official" not in str(err.value) and "set datasets.m.sha256" in str(err.value)


def test_image_folder_unreadable_files_reported_by_path(tmp_path):
    root = make_folder(tmp_path / "folder", odd=False)
    (root / "train" / "cat" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    (root / "test" / "dog" / "empty.png").write_bytes(b"")
    with pytest.raises(DataError) as err:
        prepare_dataset("m", {"source": "image_folder", "path": str(root)}, tmp_path)
    msg = str(err.value)
    assert "2 image file(s) cannot be decoded" in msg
    assert str(root / "train" / "cat" / "broken.jpg") in msg
    assert f"{root / 'test' / 'dog' / 'empty.png'} (empty file: 0 bytes)" in msg
    assert "BytesIO" not in msg and " at 0x" not in msg


@pytest.mark.parametrize(
    ("data", "says"),
    [(b"", "empty file: 0 bytes"), (b"not an image", "not an image format Pillow recognises")],
)
def test_an_unreadable_image_is_named_without_the_decoders_buffer(data, says):
    from mobilenet_repro.data.decoding import UnreadableImage, decode_image

    with pytest.raises(UnreadableImage) as err:
        decode_image(data, "train/cat/x.png")
    assert str(err.value) == f"train/cat/x.png ({says})"


def test_image_folder_layout_errors(tmp_path):
    root = make_folder(tmp_path / "folder", odd=False)
    (root / "test" / "bird").mkdir()
    (root / "test" / "bird" / "x.jpg").write_bytes(jpeg(16, 16))
    with pytest.raises(DataError, match=r"test/ has classes \['bird'\] that train/ lacks"):
        prepare_dataset("m", {"source": "image_folder", "path": str(root)}, tmp_path)
    with pytest.raises(DataError, match="no images found in the layout"):
        prepare_dataset("m", {"source": "image_folder", "path": str(root / "train")}, tmp_path)
    with pytest.raises(DataError, match="needs `path`"):
        prepare_dataset("m", {"source": "image_folder"}, tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        prepare_dataset("m", {"source": "image_folder", "path": str(tmp_path / "no")}, tmp_path)


def test_odd_image_folders_give_clear_errors_or_documented_skips(tmp_path, capsys):
    # An empty class folder is skipped and said so; non-image files are ignored.
    root = make_folder(tmp_path / "empty_class", odd=False)
    (root / "train" / "zebra").mkdir()
    (root / "train" / "notes.csv").write_text("a,b\n")
    ds = prepare_dataset("m", {"source": "image_folder", "path": str(root)}, tmp_path / "r1")
    assert ds.class_names == ["cat", "dog"]
    assert "skipped class folder(s) without images: ['train/zebra']" in capsys.readouterr().err
    # One class cannot train a classifier.
    one = tmp_path / "one_class"
    for split in ("train", "test"):
        (one / split / "cat").mkdir(parents=True)
        (one / split / "cat" / "0.jpg").write_bytes(jpeg(16, 16))
    with pytest.raises(DataError, match=r"found 1 class\(es\) \['cat'\]; a classifier needs"):
        prepare_dataset("m", {"source": "image_folder", "path": str(one)}, tmp_path / "r2")
    # Too few images to carve a validation split: named, with the fix.
    few = make_folder(tmp_path / "few", odd=False)
    spec = {"source": "image_folder", "path": str(few), "split": {"val_fraction": 0.01}}
    with pytest.raises(DataError, match=r"the val split is empty .*raise datasets\.m\.split"):
        prepare_dataset("m", spec, tmp_path / "r3")


def test_image_folder_directory_checksum(tmp_path):
    root = make_folder(tmp_path / "folder", odd=False)
    digest = manifest(
        prepare_dataset("m", {"source": "image_folder", "path": str(root)}, tmp_path)
    )["folder_sha256"]
    spec = {"source": "image_folder", "path": str(root), "sha256": digest}
    assert prepare_dataset("m", spec, tmp_path).num_classes == 2
    (root / "train" / "cat" / "0.jpg").write_bytes(jpeg(16, 16, (1, 2, 3)))
    with pytest.raises(DataError, match="the folder changed"):
        prepare_dataset("m", spec, tmp_path)


def test_image_folder_absent_test_split_is_carved(tmp_path):
    root = make_folder(tmp_path / "folder", odd=False)
    import shutil

    shutil.rmtree(root / "test")
    ds = prepare_dataset(
        "m",
        {
            "source": "image_folder",
            "path": str(root),
            "split": {"val_fraction": 0.5, "test_fraction": 0.25},
        },
        tmp_path,
    )
    assert [len(ds.splits[s][1]) for s in ("train", "val", "test")] == [2, 6, 4]


def test_decode_image_modes():
    assert decode_image(jpeg(9, 7), "a").shape == (9, 7, 3)
    assert decode_image(png(np.zeros((5, 6), np.uint8)), "g").shape == (5, 6, 1)
    assert decode_image(png(np.zeros((5, 6), np.uint8)), "g", channels=3).shape == (5, 6, 3)
    assert decode_image(jpeg(40, 80), "s", storage_size=20).shape == (20, 20, 3)
    cmyk = io.BytesIO()
    Image.new("CMYK", (4, 4), (0, 0, 0, 0)).save(cmyk, "JPEG")
    assert decode_image(cmyk.getvalue(), "c").shape == (4, 4, 3)


# ----------------------------------------------------------------------------- eval subsets,
# manifest, datasheet, schema
def test_max_per_class_and_datasheet(tmp_path):
    arc = make_cifar10(tmp_path / "cifar-10-python.tar.gz")
    spec = {
        "source": "cifar10",
        "path": str(arc),
        "sha256": sha256(arc),
        "max_per_class": 3,
        "max_eval_per_class": 1,
        "citation": "My citation",
        "title": "Tiny CIFAR",
    }
    ds = prepare_dataset("c10", spec, tmp_path / "res")
    man = manifest(ds)
    assert man["counts"] == {"train": 30, "val": 10, "test": 10}
    assert set(man["counts_per_class"]["train"].values()) == {3}
    assert man["citation"] == "My citation" and "Toronto" in man["license"]
    rows = dict(datasheet(man))
    assert rows["Name"] == "Tiny CIFAR" and rows["Images"] == "train 30, val 10, test 10"
    assert "sha256 " + sha256(arc) in rows["File cifar-10-python.tar.gz"]
    assert rows["Image size (H x W x C)"] == "32 x 32 x 3"


def test_max_per_class_keeps_the_validation_and_test_images(tmp_path):
    """Data sets that differ only in max_per_class (config/cifar10-comparison.yaml's 10, 100
    and 1,000 images per class) validate on the same images and test on the same images: the
    validation split is carved from the whole training folder first, and max_per_class then
    draws from what is left; the smaller training sets are subsets of the larger."""
    root = tmp_path / "folder"
    for split, n in (("train", 20), ("test", 3)):
        for c, cls in enumerate(("cat", "dog")):
            for k in range(n):
                value = np.full((8, 8, 3), (100 * c, 10 * k, 200 * (split == "test")), np.uint8)
                (root / split / cls).mkdir(parents=True, exist_ok=True)
                (root / split / cls / f"{k}.png").write_bytes(png(value))
    split = {"val_fraction": 0.25, "seed": 0}
    sets = {
        m: prepare_dataset(
            "d", {"source": "image_folder", "path": str(root), "max_per_class": m, "split": split},
            tmp_path,
        )
        for m in (None, 10, 3)
    }  # fmt: skip
    images = {
        m: {s: {x.tobytes() for x in ds.splits[s][0]} for s in ds.splits} for m, ds in sets.items()
    }
    full = sets[None]
    assert len(full.splits["val"][1]) == 10 and len(full.splits["train"][1]) == 30
    for m in (10, 3):
        for s in ("val", "test"):
            assert np.array_equal(sets[m].splits[s][0], full.splits[s][0])
            assert np.array_equal(sets[m].splits[s][1], full.splits[s][1])
        assert np.bincount(sets[m].splits["train"][1]).tolist() == [m, m]
    assert images[3]["train"] < images[10]["train"] < images[None]["train"]
    assert not images[None]["train"] & images[None]["val"]


def _config(ds_spec):
    return {
        "datasets": {"d": ds_spec},
        "models": {"m": {"arch": "mobilenet_v1", "alpha": 0.25, "resolution": 32}},
        "recipes": {"r": {}},
        "experiments": {"e": {"datasets": ["d"], "models": ["m"], "recipe": "r"}},
    }


def test_schema_datasets_block():
    cfg = check_config(
        _config(
            {
                "source": "mnist",
                "sha256": {"t10k-labels-idx1-ubyte.gz": "a" * 64},
                "storage_size": 64,
                "channels": 1,
                "max_eval_per_class": 5,
            }
        )
    )
    ds = cfg["datasets"]["d"]
    assert ds["path"] is None and ds["citation"] == "" and ds["split"]["seed"] == 0
    with pytest.raises(ConfigError, match="unknown key"):
        check_config(_config({"source": "mnist", "pth": "x"}))
    with pytest.raises(ConfigError, match="sha256"):
        check_config(_config({"source": "cifar10", "sha256": "not-a-hash"}))
    with pytest.raises(ConfigError, match="channels"):
        check_config(_config({"source": "image_folder", "path": "x", "channels": 2}))
    root = Path(__file__).resolve().parents[2]
    from mobilenet_repro.validation import load_config

    cfg = load_config(root / "config" / "cifar10-jpeg.yaml")
    assert cfg["datasets"]["cifar10_jpeg"]["source"] == "image_folder"


# ----------------------------------------------------------------------------- pipeline
def _batches(ds):
    return [(x.numpy(), y.numpy()) for x, y in ds]


def test_pipeline_ragged_store_end_to_end(tmp_path):
    from mobilenet_repro.data.tf_pipeline import epoch_permutations, make_dataset

    shas = make_stanford_dogs(tmp_path / "dogs")
    ds = prepare_dataset(
        "dogs",
        {"source": "stanford_dogs", "path": str(tmp_path / "dogs"), "sha256": shas},
        tmp_path / "res",
    )
    save_dataset(ds, tmp_path / "dogs.npz")
    x, y = load_dataset(tmp_path / "dogs.npz").splits["train"]
    assert isinstance(x, RaggedImages)
    order = epoch_permutations(len(y), 3, 0, 2)
    full = _batches(
        make_dataset(x, y, resolution=32, batch_size=4, order=order, augment="resize_crop", seed=3)
    )
    assert [b[0].shape for b in full[:3]] == [
        (4, 32, 32, 3),
        (4, 32, 32, 3),
        (len(y) - 8, 32, 32, 3),
    ]
    assert all(b[0].min() >= -1.0 and b[0].max() <= 1.0 for b in full)
    # Resumed at epoch 1: the same images, augmented the same way.
    resumed = _batches(
        make_dataset(
            x,
            y,
            resolution=32,
            batch_size=4,
            order=epoch_permutations(len(y), 3, 1, 2),
            augment="resize_crop",
            seed=3,
        )
    )
    for (xa, ya), (xb, yb) in zip(full[3:], resumed, strict=True):
        np.testing.assert_array_equal(ya, yb)
        np.testing.assert_allclose(xa, xb)
    # Evaluation: central square crop, resized; no augmentation, in order.
    ev = _batches(make_dataset(x, y, resolution=20, batch_size=5, channels=1))
    assert ev[0][0].shape == (5, 20, 20, 1)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in ev]), y)


def test_pipeline_flip_crop_is_per_image():
    from mobilenet_repro.data.tf_pipeline import make_dataset

    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    x = np.repeat(img[None], 16, axis=0)
    ((xb, _),) = _batches(
        make_dataset(
            x,
            np.zeros(16),
            resolution=32,
            batch_size=16,
            order=np.arange(16, dtype=np.int32)[None],
            augment="flip_crop",
            preprocess=lambda t: t,
        )
    )
    distinct = {xb[i].tobytes() for i in range(16)}
    assert len(distinct) > 4  # independent offsets and flips, not one per batch
    assert np.allclose(xb, np.round(xb))  # crops are exact pixels (zero padding aside)


@pytest.mark.parametrize("backend", ["tf.data", "numpy"])
def test_flip_translate_shifts_at_most_2_pixels_with_a_reflected_border(backend):
    """airbench's augmentation: every crop is the image shifted by at most 2 pixels (or its
    mirror image), its border reflected, never black; flip_crop's carries zeros."""
    from mobilenet_repro.data.numpy_batches import load_batch
    from mobilenet_repro.data.tf_pipeline import make_dataset

    img = np.random.default_rng(1).integers(1, 256, (32, 32, 3), dtype=np.uint8)
    x = np.repeat(img[None], 64, axis=0)

    def crops(augment):
        if backend == "numpy":
            kw = {"resolution": 32, "augment": augment, "seed": 0, "channels": 3}
            return load_batch(x, np.arange(64), **kw)
        order = np.arange(64, dtype=np.int32)[None]
        ds = make_dataset(
            x,
            np.zeros(64),
            resolution=32,
            batch_size=64,
            order=order,
            augment=augment,
            preprocess=lambda t: t,
            seed=0,
        )
        ((xb, _),) = _batches(ds)
        return xb

    reflected = np.pad(img, [(2, 2), (2, 2), (0, 0)], mode="reflect").astype(np.float32)
    views = {
        (t, s, f): (reflected[:, ::-1] if f else reflected)[t : t + 32, s : s + 32].tobytes()
        for t in range(5)
        for s in range(5)
        for f in (0, 1)
    }
    got = crops("flip_translate")
    assert got.min() >= 1  # no zero padding
    found = {k for i in range(64) for k, v in views.items() if v == got[i].tobytes()}
    assert len(found) > 8  # several shifts and both orientations
    assert all(got[i].tobytes() in views.values() for i in range(64))
    assert crops("flip_crop").min() == 0  # the standard crop pads with zeros


def test_pipeline_pretrained_preprocessing():
    from mobilenet_repro.data.tf_pipeline import make_dataset, preprocessing_fn

    x = np.full((2, 8, 8, 3), (255, 0, 0), np.uint8)
    ((mv2, _),) = _batches(
        make_dataset(
            x, np.zeros(2), resolution=8, batch_size=2, preprocess=preprocessing_fn("mobilenet_v2")
        )
    )
    np.testing.assert_allclose(mv2[0, 0, 0], [1, -1, -1])
    ((vgg, _),) = _batches(
        make_dataset(
            x, np.zeros(2), resolution=8, batch_size=2, preprocess=preprocessing_fn("vgg16")
        )
    )
    np.testing.assert_allclose(vgg[0, 0, 0], [-103.939, -116.779, 255 - 123.68], rtol=1e-5)


def test_pipeline_keeps_no_copy_of_the_data_set():
    from mobilenet_repro.data.tf_pipeline import make_dataset

    def rss():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * 4096

    x = np.zeros((300_000, 32, 32, 3), np.uint8)  # 920 MB, pages untouched
    x[::1000] = 1
    before = rss()
    ds = make_dataset(
        x,
        np.zeros(len(x)),
        resolution=32,
        batch_size=64,
        order=np.arange(len(x), dtype=np.int32)[None],
        augment="flip_crop",
    )
    for _ in ds.take(3):
        pass
    assert rss() - before < 300 * 2**20  # a TF copy of x would be >= 900 MB


TRAIN_IN_SUBPROCESS = """
import json, sys
from mobilenet_repro.training.loop import train_run
spec, data, work = json.loads(open(sys.argv[1]).read()), sys.argv[2], sys.argv[3]
out = {k: f"{work}/{f}" for k, f in (("metrics", "metrics.json"), ("history", "h.csv"),
                                     ("schedule", "s.csv"), ("model", "model.keras"))}
train_run(spec, data, out, f"{work}/ckpt", threads=1)
"""


def run_training(spec: dict, data: Path, work: Path) -> dict:
    """train.train_run in a fresh process (TensorFlow's threads are set before first use)."""
    import json
    import subprocess
    import sys

    work.mkdir(parents=True, exist_ok=True)
    (work / "spec.json").write_text(json.dumps(spec))
    subprocess.run(
        [sys.executable, "-c", TRAIN_IN_SUBPROCESS, str(work / "spec.json"), str(data), str(work)],
        check=True,
    )
    return json.loads((work / "metrics.json").read_text())


@pytest.mark.slow
def test_train_run_reads_a_ragged_data_set(tmp_path):
    from mobilenet_repro.run_model import run_spec

    shas = make_stanford_dogs(tmp_path / "dogs")
    spec = {"source": "stanford_dogs", "path": str(tmp_path / "dogs"), "sha256": shas}
    save_dataset(prepare_dataset("dogs", spec, tmp_path / "res"), tmp_path / "dogs.npz")
    cfg = _config(spec)
    cfg["recipes"]["r"] = {"epochs": 1, "batch_size": 4, "augment": "resize_crop"}
    run = run_spec(check_config(cfg), "e", "d", "m", 0)
    metrics = run_training(run, tmp_path / "dogs.npz", tmp_path / "run")
    assert metrics["classes"] == 3 and metrics["train_images"] == len(DOG_CLASSES) * 4 - 3


@pytest.mark.parametrize("cut", [0, 10, 300, -50])
def test_unreadable_prepared_data_set_is_named_with_what_to_do(tmp_path, cut):
    """Garbage or a truncated .npz: a DataError naming the file, never a raw zip error."""
    from mobilenet_repro.data import DataError, load_dataset, save_dataset
    from mobilenet_repro.data.prepare import prepare_dataset

    good = tmp_path / "good.npz"
    save_dataset(
        prepare_dataset("digits", {"source": "sklearn_digits", "max_per_class": 3}, "res"), good
    )
    bad = tmp_path / "resources" / "datasets" / "digits.npz"
    bad.parent.mkdir(parents=True)
    data = good.read_bytes()
    bad.write_bytes(b"garbage" * 20 if cut == 0 else data[:cut])
    with pytest.raises(DataError, match=rf"prepared data set {bad} is unreadable.*delete it"):
        load_dataset(bad)


@pytest.mark.parametrize("target", ["/etc/passwd", "outside.jpg", "../../../outside.jpg"])
def test_image_folder_does_not_follow_links_out_of_itself(tmp_path, monkeypatch, target):
    """A link in an image folder to a file outside it is refused before the file is read
    (archives refuse such links too); a link to a file inside the folder is read."""
    root = make_folder(tmp_path / "folder", odd=False)
    (tmp_path / "outside.jpg").write_bytes(jpeg(16, 16, (1, 2, 3)))
    link = root / "train" / "cat" / "z_link.jpg"
    link.symlink_to(tmp_path / target if target == "outside.jpg" else target)
    (root / "train" / "dog" / "inside.jpg").symlink_to(root / "train" / "dog" / "0.jpg")
    read = []
    real_read = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: read.append(p) or real_read(p))
    with pytest.raises(DataError, match=rf"refusing {link}: a symbolic link to .*outside"):
        prepare_dataset("m", {"source": "image_folder", "path": str(root)}, tmp_path)
    assert link not in read
    link.unlink()
    ds = prepare_dataset("m", {"source": "image_folder", "path": str(root)}, tmp_path)
    assert len(ds.splits["train"][1]) + len(ds.splits["val"][1]) == 13  # 12 + the inner link


def test_split_defaults_and_class_counts_are_owned_by_the_data_layer(tmp_path):
    """The schema's split defaults are data.SPLIT_DEFAULTS; each source states its class
    count (the workflow's architecture tables use it before any data is prepared)."""
    import subprocess
    import sys

    import yaml
    from conftest import ROOT

    from mobilenet_repro import paths
    from mobilenet_repro.data.registry import source_classes
    from mobilenet_repro.data.splits import SPLIT_DEFAULTS

    schema = yaml.safe_load(paths.SCHEMA.read_text())
    split = schema["properties"]["datasets"]["additionalProperties"]["properties"]["split"]
    assert {k: v["default"] for k, v in split["properties"].items()} == SPLIT_DEFAULTS
    assert [source_classes(s) for s in ("sklearn_digits", "cifar10", "mnist")] == [10] * 3
    assert source_classes("stanford_dogs") == 120 and source_classes("image_folder") is None
    ds = prepare_dataset("d", {"source": "sklearn_digits", "max_per_class": 3}, tmp_path)
    assert ds.num_classes == source_classes("sklearn_digits")
    # No import cycle: the data layer loads without its sources; sources import it.
    code = "import sys, mobilenet_repro.data; print('mobilenet_repro.data.cifar10' in sys.modules)"
    env_path = str(ROOT / "src")
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {env_path!r}); {code}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "False"
