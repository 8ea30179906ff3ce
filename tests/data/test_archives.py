"""Archive safety: unsafe members are refused, nothing is extracted, extraction is atomic."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile

import pytest

from mobilenet_repro.data import DataError
from mobilenet_repro.data.archives import check_archive, iter_files, member_problem, safe_extract


def _tar(path, members, mode="w:gz"):
    """members: (name, kind, payload) with kind file|dir|symlink|hardlink|fifo."""
    with tarfile.open(path, mode) as tf:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                data = payload.encode() if isinstance(payload, str) else payload
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE,
                "symlink": tarfile.SYMTYPE,
                "hardlink": tarfile.LNKTYPE,
                "fifo": tarfile.FIFOTYPE,
                "chr": tarfile.CHRTYPE,
            }[kind]
            info.linkname = payload or ""
            tf.addfile(info)
    return path


GOOD = [
    ("data/", "dir", None),
    ("data/a.txt", "file", "alpha"),
    ("data/sub/b.txt", "file", "beta"),
    ("data/link.txt", "symlink", "sub/b.txt"),  # stays inside: allowed
]

MALICIOUS = {
    "absolute": ("/tmp/evil.txt", "file", "x"),
    "dotdot": ("data/../../evil.txt", "file", "x"),
    "symlink_abs": ("data/passwd", "symlink", "/etc/passwd"),
    "symlink_out": ("data/up", "symlink", "../../outside"),
    "hardlink_out": ("data/hl", "hardlink", "../outside.txt"),
    "device": ("data/dev", "chr", None),
}


def test_member_problem_rules():
    assert member_problem("a/b.jpg") is None
    assert member_problem("a/./b.jpg") is None
    assert "absolute" in member_problem("/etc/passwd")
    assert "absolute" in member_problem("C:/Windows/x")
    assert "'..'" in member_problem("a/../../b")
    assert "'..'" in member_problem("..\\b")
    assert member_problem("a/l", symlink=True, linkname="b/c") is None
    assert member_problem("a/l", symlink=True, linkname="../b") is None  # a/../b = b: inside
    assert "outside" in member_problem("a/l", symlink=True, linkname="../../b")
    assert "absolute" in member_problem("a/l", symlink=True, linkname="/etc")
    assert "outside" in member_problem("a/l", hardlink=True, linkname="../x")
    assert "device" in member_problem("a/d", special=True)


def test_safe_archive_reads_and_extracts(tmp_path):
    arc = _tar(tmp_path / "ok.tar.gz", GOOD)
    files = dict(iter_files(arc))
    assert files == {"data/a.txt": b"alpha", "data/sub/b.txt": b"beta"}  # links skipped
    dest = safe_extract(arc, tmp_path / "out")
    assert (dest / "data" / "a.txt").read_text() == "alpha"
    assert (dest / "data" / "link.txt").read_text() == "beta"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert safe_extract(arc, tmp_path / "out") == dest  # complete already: unchanged


@pytest.mark.parametrize("kind", sorted(MALICIOUS))
@pytest.mark.parametrize("mode", ["w:gz", "w"])
def test_malicious_tar_members_are_refused(tmp_path, kind, mode):
    bad = MALICIOUS[kind]
    arc = _tar(tmp_path / f"bad.tar{'.gz' if mode == 'w:gz' else ''}", [*GOOD, bad], mode)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(DataError, match="unsafe member") as err:
        safe_extract(arc, work / "out")
    assert repr(bad[0]) in str(err.value)
    assert list(work.iterdir()) == []  # nothing extracted, no partial directory
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "outside").exists()
    with pytest.raises(DataError, match="unsafe member"):
        list(iter_files(arc))
    with pytest.raises(DataError, match="unsafe member"):
        check_archive(arc)


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, is_link in entries:
            info = zipfile.ZipInfo(name)
            if is_link:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data)
    return path


@pytest.mark.parametrize(
    "bad",
    [("../evil.txt", "x", False), ("/abs/evil.txt", "x", False), ("d/ln", "../../etc", True)],
    ids=["dotdot", "absolute", "symlink_out"],
)
def test_malicious_zip_members_are_refused(tmp_path, bad):
    arc = _zip(tmp_path / "bad.zip", [("d/a.txt", "a", False), bad])
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(DataError, match="unsafe member"):
        safe_extract(arc, work / "out")
    assert list(work.iterdir()) == []
    with pytest.raises(DataError, match="unsafe member"):
        list(iter_files(arc))


def test_safe_zip(tmp_path):
    arc = _zip(tmp_path / "ok.zip", [("d/a.txt", "a", False), ("d/in", "a.txt", True)])
    assert dict(iter_files(arc)) == {"d/a.txt": b"a"}
    assert (safe_extract(arc, tmp_path / "out") / "d" / "a.txt").read_text() == "a"


def test_truncated_archive_is_reported_and_leaves_nothing(tmp_path):
    arc = _tar(tmp_path / "ok.tar.gz", [("d/big.bin", "file", bytes(range(256)) * 4000)])
    data = arc.read_bytes()
    arc.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated or corrupt|cannot open"):
        list(iter_files(arc))
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(DataError, match="truncated or corrupt"):
        safe_extract(arc, work / "out")
    assert list(work.iterdir()) == []
