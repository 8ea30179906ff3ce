"""Downloads of the official data-set files: pinned checksums, atomic, cached, offline-aware.

`fetch` returns a verified local copy of one `RemoteFile`:

* a configured local copy (`datasets.<name>.path`), verified against the pinned (or the
  configured) checksum, is used as it is, without a network access;
* otherwise the copy cached in `resources/downloads/<file>` is verified (on every use) and
  used;
* otherwise the file is downloaded with `keras.utils.get_file` into a private temporary
  directory, verified, and only then renamed to `resources/downloads/<file>`. A failed,
  refused or killed download leaves nothing at that name, and the next run starts afresh
  (leftover temporary directories are removed under a lock).

When the host is unreachable (or MOBILENET_REPRO_OFFLINE=1 is set), `fetch` fails at once
with a message saying which file, with which checksum, to put where. A file without a
pinned checksum (a user's mirror or archive given without `sha256`) is trusted on first use:
its sha256 is recorded beside it, with a loud warning, and checked on every later use.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import tempfile
import urllib.parse
import urllib.request
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from mobilenet_repro.errors import DataError
from mobilenet_repro.jobs import warn

OFFLINE_ENV = "MOBILENET_REPRO_OFFLINE"
TIMEOUT_ENV = "MOBILENET_REPRO_NET_TIMEOUT"
DOWNLOADS = "downloads"


@dataclass(frozen=True)
class RemoteFile:
    """One official file: its name in the cache, its URL and its published checksum."""

    name: str
    url: str
    sha256: str | None = None
    md5: str | None = None  # used only when no sha256 is published
    size: int | None = None
    checksum_source: str = ""  # where the pinned checksum comes from


@dataclass
class FetchedFile:
    """A verified local file and how it was obtained and checked (goes into the manifest)."""

    name: str
    path: str
    url: str | None
    sha256: str
    size: int
    origin: str  # "local", "cache" or "download"
    verification: str  # what it was checked against

    def record(self) -> dict:
        return asdict(self)


class TrustOnFirstUseWarning(UserWarning):
    """A downloaded file had no pinned checksum; its first-seen sha256 is now trusted."""


def file_digests(path: Path | str, chunk: int = 1 << 20) -> dict:
    """sha256 and md5 of a file in one pass, and its size."""
    sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            sha.update(block)
            md5.update(block)
            size += len(block)
    return {"sha256": sha.hexdigest(), "md5": md5.hexdigest(), "size": size}


def _expected(remote: RemoteFile, sha256: str | None) -> tuple[str | None, str | None, str]:
    """(algorithm, digest, description) the file must match; (None, None, ...) if none known."""
    if sha256:
        return "sha256", sha256.lower(), "configured sha256"
    if remote.sha256:
        return "sha256", remote.sha256, f"pinned sha256 ({remote.checksum_source or 'official'})"
    if remote.md5:
        return "md5", remote.md5, f"pinned md5 ({remote.checksum_source or 'official'})"
    return None, None, ""


def _describe_expected(remote: RemoteFile, sha256: str | None) -> str:
    algo, digest, _ = _expected(remote, sha256)
    size = f", {remote.size:,} bytes" if remote.size else ""
    return f"{algo} {digest}{size}" if digest else f"no published checksum{size}"


def _verify(
    path: Path, remote: RemoteFile, sha256: str | None, what: str, fix: str, how: str = ""
) -> dict:
    algo, digest, pinned_how = _expected(remote, sha256)
    how = how or pinned_how
    got = file_digests(path)
    if digest is not None and got[algo] != digest:
        raise DataError(
            f"{what} {path} fails its checksum: {algo} is {got[algo]}, expected {digest} "
            f"({how}; {got['size']:,} bytes). {fix}"
        )
    return got


def _offline_reason(url: str) -> str | None:
    """Why the host of `url` cannot be reached now (None when it answers a TCP connect)."""
    if os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return f"offline mode ({OFFLINE_ENV}={os.environ[OFFLINE_ENV]})"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return None if Path(urllib.request.url2pathname(parts.path)).exists() else "no such file"
    if parts.scheme not in ("http", "https", "ftp"):
        return f"unsupported URL scheme {parts.scheme!r}"
    port = parts.port or {"http": 80, "https": 443, "ftp": 21}[parts.scheme]
    timeout = float(os.environ.get(TIMEOUT_ENV, "10"))
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        return f"{parts.hostname}:{port} is unreachable ({exc})"
    return None


@contextlib.contextmanager
def _locked(lock_path: Path):
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as fh:
        try:
            import fcntl

            fcntl.flock(fh, fcntl.LOCK_EX)
        except ImportError:  # not POSIX: concurrent downloads of one file are not guarded
            pass
        yield


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def _tofu_record(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def fetch(
    remote: RemoteFile,
    resources_dir: Path | str,
    *,
    dataset: str,
    local_path: Path | str | None = None,
    url: str | None = None,
    sha256: str | None = None,
) -> FetchedFile:
    """A verified local copy of `remote` (see the module docstring for the order of sources).

    `url` overrides the download URL (a mirror); `sha256` overrides the pinned checksum
    (for a file that is not the official one); `local_path` is a configured local copy.
    """
    if local_path is not None:
        return _use_local(remote, Path(local_path), dataset, sha256)
    url = url or remote.url
    downloads = Path(resources_dir) / DOWNLOADS
    target = downloads / remote.name
    with _locked(downloads / ".locks" / f"{remote.name}.lock"):
        if target.exists():
            return _use_cached(remote, target, url, dataset, sha256)
        return _download(remote, target, url, dataset, sha256)


def _use_local(remote: RemoteFile, path: Path, dataset: str, sha256: str | None) -> FetchedFile:
    if path.is_dir():
        path = path / remote.name
    if not path.is_file():
        raise DataError(
            f"datasets.{dataset}.path: {path} does not exist. Put {remote.name} "
            f"({_describe_expected(remote, sha256)}; from {remote.url}) there, or remove "
            "`path` to download it."
        )
    algo, digest, how = _expected(remote, sha256)
    got = _verify(
        path,
        remote,
        sha256,
        f"datasets.{dataset}.path:",
        (
            f"Replace it with the official {remote.name} from {remote.url}, or, if this is "
            f"deliberately another file, set datasets.{dataset}.sha256 to its sha256."
        )
        if remote.url
        # An image folder of one's own has no official file to fetch again.
        else (
            f"If the file changed on purpose, set datasets.{dataset}.sha256 to its new "
            f"sha256 (the one above); if not, restore the copy whose checksum the "
            f"configuration pins."
        ),
    )
    return FetchedFile(
        remote.name,
        str(path),
        None,
        got["sha256"],
        got["size"],
        "local",
        how or "none (no checksum configured; its sha256 is recorded in the manifest)",
    )


def _use_cached(
    remote: RemoteFile, target: Path, url: str, dataset: str, sha256: str | None
) -> FetchedFile:
    algo, digest, how = _expected(remote, sha256)
    record = _tofu_record(target)
    if digest is None and record.exists():
        digest, how = record.read_text().split()[0], f"trusted on first use ({record})"
        sha256 = digest
    fix = (
        f"The cached copy is damaged or not the expected file: delete it (rm {target}) "
        f"and rerun to download it again from {url}."
    )
    got = _verify(target, remote, sha256, "cached download", fix, how)
    if digest is None:  # cached without a record (e.g. put there by hand): trust it now
        _write_record(record, got["sha256"], url)
        how = _tofu_warning(target, got["sha256"], url, dataset)
    return FetchedFile(remote.name, str(target), url, got["sha256"], got["size"], "cache", how)


def _tofu_warning(target: Path, digest: str, url: str, dataset: str) -> str:
    msg = (
        f"\n{'!' * 78}\nTRUST ON FIRST USE: {target.name} (data set '{dataset}', from {url}) has "
        f"no published checksum.\nIts sha256 {digest} is now recorded in {_tofu_record(target)} "
        "and every later use is checked against it.\nCompare it with a trusted copy; set "
        f"datasets.{dataset}.sha256 to pin it in the configuration.\n{'!' * 78}"
    )
    warnings.warn(msg, TrustOnFirstUseWarning, stacklevel=3)
    warn(msg)  # in the job's log and the terminal
    return f"trusted on first use ({_tofu_record(target)})"


def _write_record(record: Path, digest: str, url: str) -> None:
    from mobilenet_repro.files import write_text

    write_text(f"{digest}  {record.name[: -len('.sha256')]}  {url}\n", record)


def _download(
    remote: RemoteFile, target: Path, url: str, dataset: str, sha256: str | None
) -> FetchedFile:
    partial_root = target.parent / ".partial"
    # We hold the lock for this file: any staging directory left for it is from a dead run.
    if partial_root.is_dir():
        for stale in partial_root.glob(f"{remote.name}.*"):
            shutil.rmtree(stale, ignore_errors=True)
    reason = _offline_reason(url)
    if reason:
        raise DataError(
            f"cannot download {remote.name} for data set '{dataset}': {reason}. Nothing was "
            f"downloaded. Fetch {url} on a machine with network access and either put it at "
            f"{target} or set datasets.{dataset}.path to it (or to the directory holding it); "
            f"expected {_describe_expected(remote, sha256)}."
        )
    # Only a download needs Keras (its get_file); finding or verifying a copy does not.
    import keras

    algo, digest, how = _expected(remote, sha256)
    partial_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{remote.name}.", dir=partial_root))
    try:
        try:
            with _socket_timeout(float(os.environ.get(TIMEOUT_ENV, "60"))):
                got_path = keras.utils.get_file(
                    fname=remote.name,
                    origin=url,
                    cache_dir=str(staging),
                    cache_subdir=str(staging.resolve()),
                    file_hash=digest,
                    hash_algorithm=algo or "auto",
                )
        except ValueError as exc:  # keras: hash mismatch after the download
            got = file_digests(staging / remote.name)
            raise DataError(
                f"downloaded {url} for data set '{dataset}' but its {algo} is {got[algo]}, "
                f"expected {digest} ({how}). Nothing was kept. If the mirror deliberately "
                f"serves another file, set datasets.{dataset}.sha256 to {got['sha256']}."
            ) from exc
        except Exception as exc:
            raise DataError(
                f"download of {url} for data set '{dataset}' failed ({exc}). Nothing was kept; "
                f"rerun to retry, or put the file at {target} "
                f"({_describe_expected(remote, sha256)})."
            ) from exc
        got = file_digests(got_path)
        if digest is not None and got[algo] != digest:  # belt and braces
            raise DataError(f"downloaded {url} fails its {algo} check; nothing was kept")
        if digest is None:
            _write_record(_tofu_record(target), got["sha256"], url)
            how = _tofu_warning(target, got["sha256"], url, dataset)
        os.replace(got_path, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return FetchedFile(remote.name, str(target), url, got["sha256"], got["size"], "download", how)


# ------------------------------------------------------------------ a data set's files
def fetch_files(
    name: str, spec: dict, resources_dir: Path, remotes: tuple[RemoteFile, ...]
) -> dict[str, FetchedFile]:
    """Verified local copies of `remotes`, honouring datasets.<name>.path / url / sha256."""
    path, url, sha = spec.get("path"), spec.get("url"), spec.get("sha256")
    single = len(remotes) == 1
    if isinstance(sha, str) and not single:
        raise DataError(
            f"datasets.{name}.sha256: {spec['source']} has {len(remotes)} files "
            f"({', '.join(r.name for r in remotes)}); give a mapping from file name to sha256"
        )
    if path is not None and not single and not Path(path).is_dir():
        raise DataError(
            f"datasets.{name}.path: {path} is not a directory; for {spec['source']} it must be "
            f"a directory holding {', '.join(r.name for r in remotes)}"
        )
    out = {}
    for remote in remotes:
        if isinstance(url, dict):
            r_url = url.get(remote.name)
        elif isinstance(url, str):
            r_url = url if single else url.rstrip("/") + "/" + remote.name
        else:
            r_url = None
        r_sha = sha.get(remote.name) if isinstance(sha, dict) else sha
        out[remote.name] = fetch(
            remote, resources_dir, dataset=name, local_path=path, url=r_url, sha256=r_sha
        )
    return out


def files_meta(files: dict[str, FetchedFile]) -> dict:
    return {k: v.record() for k, v in files.items()}
