"""Reading and extracting tar and zip archives without trusting their member names.

Every member is checked before anything is read or written: absolute paths, `..`
components, device files and links that point outside the archive's own tree are refused
with a `DataError` naming the member, and the archive is rejected as a whole (a data set's
archive never legitimately holds such members). Extraction additionally uses tarfile's
`data` filter, goes to a temporary directory and is renamed into place only when complete,
so a refused or interrupted extraction leaves nothing behind.

Sources read archives in place with `iter_files` (no extraction needed); `safe_extract` is
for callers that need the files on disk.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from mobilenet_repro.errors import DataError


def member_problem(
    name: str,
    *,
    symlink: bool = False,
    hardlink: bool = False,
    linkname: str = "",
    special: bool = False,
) -> str | None:
    """Why an archive member is unsafe to extract, or None when it is safe."""
    if not name or "\x00" in name:
        return "empty or NUL-containing name"
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix):
        return "absolute path"
    if ".." in posix.split("/"):
        return "'..' path component"
    if special:
        return "device file or FIFO"
    if symlink or hardlink:
        target = linkname.replace("\\", "/")
        if not target or target.startswith("/") or re.match(r"^[A-Za-z]:", target):
            return f"link to absolute path {linkname!r}"
        # Symbolic links resolve from the member's directory, hard links from the root.
        base = "" if hardlink else posixpath.dirname(posix)
        resolved = posixpath.normpath(posixpath.join(base, target))
        if resolved == ".." or resolved.startswith("../"):
            return f"link pointing outside the archive ({linkname!r})"
    return None


def _tar_problem(info: tarfile.TarInfo) -> str | None:
    return member_problem(
        info.name,
        symlink=info.issym(),
        hardlink=info.islnk(),
        linkname=info.linkname,
        special=info.isdev(),
    )


def _zip_is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _zip_problem(info: zipfile.ZipInfo, zf: zipfile.ZipFile) -> str | None:
    mode = info.external_attr >> 16
    if _zip_is_symlink(info):
        target = zf.read(info).decode("utf-8", "replace")
        return member_problem(info.filename, symlink=True, linkname=target)
    special = bool(mode) and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode))
    return member_problem(info.filename, special=special)


def _refuse(archive: Path, member: str, problem: str) -> DataError:
    return DataError(
        f"archive {archive} contains the unsafe member {member!r} ({problem}); refusing to "
        "read or extract it (nothing was extracted). Obtain the archive from its official "
        "source, or rebuild it with relative paths and no links leaving its top directory."
    )


def _open_tar(archive: Path, stream: bool):
    try:
        return tarfile.open(archive, "r|*" if stream else "r:*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(
            f"cannot open archive {archive} ({exc}); the file is corrupt or not a "
            "tar archive: delete it and fetch it again"
        ) from exc


def check_archive(archive: Path | str) -> list[str]:
    """Names of all members after checking every one (raises DataError on the first bad one)."""
    archive = Path(archive)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            names = []
            for info in zf.infolist():
                problem = _zip_problem(info, zf)
                if problem:
                    raise _refuse(archive, info.filename, problem)
                names.append(info.filename)
            return names
    with _open_tar(archive, stream=True) as tf:
        names = []
        try:
            for info in tf:
                problem = _tar_problem(info)
                if problem:
                    raise _refuse(archive, info.name, problem)
                names.append(info.name)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise DataError(
                f"archive {archive} is truncated or corrupt ({exc}); delete it and fetch it again"
            ) from exc
        return names


def _iter_directory(source: Path, want) -> Iterator[tuple[str, bytes]]:
    top = source.resolve()
    for root, dirs, files in os.walk(source):
        dirs.sort()
        for fname in sorted(files):
            path = Path(root) / fname
            rel = path.relative_to(source).as_posix()
            if want is not None and not want(rel):
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(top):
                raise DataError(
                    f"refusing {path}: a symbolic link to {os.readlink(path)}, outside "
                    f"{source}; an image folder must hold its files (copy them in)"
                )
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise DataError(f"cannot read {path} ({exc})") from exc
            yield rel, data


def _iter_zip(source: Path, want) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(source) as zf:
        for info in zf.infolist():
            problem = _zip_problem(info, zf)
            if problem:
                raise _refuse(source, info.filename, problem)
            if info.is_dir() or _zip_is_symlink(info):
                continue
            if want is None or want(info.filename):
                yield info.filename, zf.read(info)


def _iter_tar(source: Path, want) -> Iterator[tuple[str, bytes]]:
    with _open_tar(source, stream=True) as tf:
        try:
            for info in tf:
                problem = _tar_problem(info)
                if problem:
                    raise _refuse(source, info.name, problem)
                if not info.isfile():
                    continue
                if want is None or want(info.name):
                    fh = tf.extractfile(info)
                    yield info.name, fh.read() if fh is not None else b""
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise DataError(
                f"archive {source} is truncated or corrupt ({exc}); delete it and fetch it again"
            ) from exc


def iter_files(
    source: Path | str, want: Callable[[str], bool] | None = None
) -> Iterator[tuple[str, bytes]]:
    """(relative path, content) of every regular file in an archive or directory.

    Archives are read sequentially in place (a .tar.gz is decompressed once); members are
    checked as they come and an unsafe one stops the iteration with a DataError. Links that
    stay inside the archive are skipped. `want(name)` selects which files are read at all.
    Directories are walked in sorted order, without following linked directories; a file
    that is a symbolic link is read only when it resolves inside the directory, and one that
    points outside stops the iteration with a DataError, as in an archive.
    """
    source = Path(source)
    if source.is_dir():
        yield from _iter_directory(source, want)
        return
    if not source.exists():
        raise DataError(f"{source} does not exist")
    if zipfile.is_zipfile(source):
        yield from _iter_zip(source, want)
    else:
        yield from _iter_tar(source, want)


def safe_extract(archive: Path | str, dest: Path | str) -> Path:
    """Extract `archive` to the directory `dest`, atomically; return `dest`.

    Every member is checked before the first byte is written; the files go to a temporary
    sibling directory that is renamed to `dest` only after the extraction finished. An
    existing `dest` is taken as a complete earlier extraction and returned unchanged.
    """
    archive, dest = Path(archive), Path(dest)
    if dest.is_dir():
        return dest
    check_archive(archive)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    if not _zip_is_symlink(info):
                        zf.extract(info, tmp)
        else:
            with _open_tar(archive, stream=False) as tf:
                kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                try:
                    tf.extractall(tmp, **kwargs)
                except tarfile.FilterError as exc:
                    raise _refuse(
                        archive, getattr(exc, "tarinfo", tarfile.TarInfo()).name, str(exc)
                    ) from exc
        try:
            os.replace(tmp, dest)
        except OSError:
            if not dest.is_dir():
                raise
            shutil.rmtree(tmp)  # another process finished the same extraction first
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
        raise
    return dest
