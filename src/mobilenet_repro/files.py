"""Atomic file writes: every file the pipeline writes appears complete or not at all."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: Path | str):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    When it fails, every file the block wrote beside the temporary one (a writer may add its
    own suffix to the name: Keras insists on .keras, numpy on .npz) and every folder made for
    `path` are removed: a full disk leaves the folders as they were.
    """
    path = Path(path)
    made = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            _remove_temporaries(Path(tmp))
        for folder in made:  # innermost first; one another process has written to stays
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _remove_temporaries(tmp: Path) -> None:
    """`tmp` and its siblings of other suffixes (mkstemp's random part makes the stem unique)."""
    for stray in tmp.parent.glob(f"{glob.escape(tmp.stem)}.*"):
        with contextlib.suppress(FileNotFoundError):
            if stray.is_dir() and not stray.is_symlink():
                shutil.rmtree(stray)
            else:
                stray.unlink()


def write_text(text: str, path: Path | str) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def write_bytes(data: bytes, path: Path | str) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def _json_default(obj):
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(obj, path: Path | str) -> None:
    write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n", path)


def write_csv(frame, path: Path | str) -> None:
    """Write a pandas DataFrame as CSV, atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def read_json(path: Path | str):
    return json.loads(Path(path).read_text(encoding="utf-8"))
