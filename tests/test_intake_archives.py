"""Archives: every hostile archive of issue 27 is refused whole (nothing left behind), ordinary ones unpack."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from grader import i18n
from grader.config import ConfigError, load_config
from grader.discover import discover
from grader.intake import archives
from grader.intake.archives import (DEFAULT_LIMITS, ArchiveError, ArchiveLimits, is_archive, limits_from_config,
                                    unpack)
from tests.archive_fixtures import (S_IFCHR, S_IFLNK, S_IFREG, ZipEntry, many_members_tar, many_members_zip, rar4,
                                    rar5, raw_zip, rename_in_7z, seven_zip, tar_bytes, tar_info, zeros_zip)

NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
SMALL = ArchiveLimits(max_total_bytes=8 * 2**20, max_members=100, max_file_bytes=4 * 2**20, max_ratio=50,
                      ratio_floor_bytes=64 * 2**10)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(archive: Path, dest: Path, rule: str, limits: ArchiveLimits = DEFAULT_LIMITS) -> ArchiveError:
    """Unpacking must fail with `rule` and leave nothing at `dest` (and nothing beside it)."""
    before = sorted(p.name for p in dest.parent.iterdir())
    with pytest.raises(ArchiveError) as caught:
        unpack(archive, dest, limits)
    assert caught.value.rule == rule, str(caught.value)
    assert not os.path.lexists(dest), "a refused archive left files behind"
    assert sorted(p.name for p in dest.parent.iterdir()) == before
    return caught.value


# ---- ordinary archives ----

def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


FILES = {"hw1/tf2.0-exercise.ipynb": NOTEBOOK, "hw1/util.py": b"def f():\n    return 1\n", "README.md": b"# hi\n"}


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz", "tar.bz2", "tar.xz", "7z"])
def test_every_format_unpacks_the_same_files(tmp_path, kind):
    if kind == "zip":
        archive = make_zip(tmp_path / "hw.zip", FILES)
    elif kind == "7z":
        archive = write(tmp_path, "hw.7z", seven_zip(FILES))
    else:
        mode = {"tar": "w", "tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}[kind]
        archive = write(tmp_path, f"hw.{kind}", tar_bytes(list(FILES.items()), mode))
    assert is_archive(archive)
    result = unpack(archive, tmp_path / "out")
    assert tree(tmp_path / "out") == FILES
    assert result.files == sorted(FILES)
    assert result.archives == [archive.name] and result.dropped == [] and result.kept == []


def test_files_get_safe_modes_whatever_the_archive_says(tmp_path):
    setuid_exec = S_IFREG | stat.S_ISUID | 0o777
    archive = write(tmp_path, "a.zip", raw_zip([ZipEntry(b"run.py", b"print(1)", mode=setuid_exec)]))
    info = tarfile.TarInfo("run.py")
    info.size, info.mode = 8, 0o4777
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as out:
        out.addfile(info, io.BytesIO(b"print(1)"))
    for path in (archive, write(tmp_path, "a.tgz", tgz.getvalue())):
        dest = tmp_path / f"out-{path.name}"
        unpack(path, dest)
        mode = (dest / "run.py").stat().st_mode
        assert not mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_ISUID | stat.S_ISGID), oct(mode)


def test_dest_must_be_new(tmp_path):
    archive = make_zip(tmp_path / "hw.zip", FILES)
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError):
        unpack(archive, tmp_path / "out")


def test_is_archive_needs_both_the_name_and_the_bytes(tmp_path):
    npz = make_zip(tmp_path / "weights.npz", {"w.npy": b"x"})  # a zip inside, data for Part 4
    docx = make_zip(tmp_path / "report.docx", {"word/document.xml": b"<w/>"})
    fake = write(tmp_path, "hw.zip", b"this is not an archive")
    renamed = write(tmp_path, "hw.zip.rar", (tmp_path / "weights.npz").read_bytes())  # a zip named .rar
    assert not is_archive(npz) and not is_archive(docx) and not is_archive(fake)
    assert is_archive(renamed)
    assert unpack(renamed, tmp_path / "out").files == ["w.npy"]  # read as what its bytes are
    refused(fake, tmp_path / "fake", "unsupported")
    os.mkfifo(tmp_path / "pipe.zip")
    assert not is_archive(tmp_path / "pipe.zip")  # a FIFO is not opened for reading (would block)


# ---- bombs and caps ----

def test_a_one_gigabyte_zip_bomb_is_refused_from_its_headers_at_the_default_caps(tmp_path, monkeypatch):
    bomb = zeros_zip(tmp_path / "bomb.zip", 2**30)
    assert zipfile.ZipFile(bomb).infolist()[0].file_size == 2**30  # the attack is real
    assert bomb.stat().st_size < 8 * 2**20

    def no_write(*args, **kwargs):
        raise AssertionError("a byte was written before the bomb was refused")
    monkeypatch.setattr(archives, "_Sink", no_write)
    error = refused(bomb, tmp_path / "out", "bomb-ratio")
    assert error.member == "zeros.bin"
    assert "bomb.zip" in str(error) and "zeros.bin" in str(error) and "bomb-ratio" in str(error)
    import pickle
    assert str(pickle.loads(pickle.dumps(error))) == str(error)  # whole when sent between processes


def zeros_archive(tmp_path: Path, kind: str, size: int) -> Path:
    zeros = {"zeros.bin": bytes(size)}
    if kind == "zip":
        return zeros_zip(tmp_path / "bomb.zip", size)
    if kind == "7z":
        return write(tmp_path, "bomb.7z", seven_zip(zeros))
    return write(tmp_path, "bomb.tar.gz", tar_bytes(list(zeros.items())))


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "7z"])
def test_the_write_time_budget_catches_what_the_headers_hide(tmp_path, monkeypatch, kind):
    """With the header checks switched off, the byte budget still refuses the bomb half-way; with
    both off, the bomb is written: each line of defence does its own job."""
    bomb = zeros_archive(tmp_path, kind, 32 * 2**20)
    monkeypatch.setattr(archives._Budget, "check_declared", lambda *args: None)
    refused(bomb, tmp_path / "out", "bomb-ratio", SMALL)
    refused(bomb, tmp_path / "out", "file-size", replace(SMALL, max_ratio=1e9))
    refused(bomb, tmp_path / "out", "bomb-size", replace(SMALL, max_ratio=1e9, max_file_bytes=2**40))
    monkeypatch.setattr(archives._Budget, "check", lambda *args: None)
    assert unpack(bomb, tmp_path / "written", SMALL).files == ["zeros.bin"]
    assert (tmp_path / "written" / "zeros.bin").stat().st_size == 32 * 2**20


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "7z"])
def test_ratio_and_size_caps_in_every_format(tmp_path, kind):
    zeros = {"big.bin": bytes(6 * 2**20)}
    if kind == "zip":
        archive = make_zip(tmp_path / "b.zip", zeros)
    elif kind == "7z":
        archive = write(tmp_path, "b.7z", seven_zip(zeros))
    else:
        archive = write(tmp_path, "b.tar.gz", tar_bytes(list(zeros.items())))
    refused(archive, tmp_path / "out", "bomb-ratio", SMALL)
    refused(archive, tmp_path / "out", "file-size", replace(SMALL, max_ratio=1e9))
    refused(archive, tmp_path / "out", "bomb-size", replace(SMALL, max_ratio=1e9, max_file_bytes=2**40,
                                                            max_total_bytes=2**20))
    assert unpack(archive, tmp_path / "ok", replace(SMALL, max_ratio=1e9, max_file_bytes=2**40)).files == ["big.bin"]


def test_small_files_that_compress_well_are_not_bombs(tmp_path):
    """A blank notebook or a zero-filled array of a few hundred kB compresses 1000-fold and is fine."""
    archive = make_zip(tmp_path / "hw.zip", {"blank.py": b" " * 500_000, "hw.ipynb": NOTEBOOK})
    assert unpack(archive, tmp_path / "out").files == ["blank.py", "hw.ipynb"]


def test_the_overall_ratio_counts_many_small_members(tmp_path):
    """Each member under the floor, together a bomb: the archive's own ratio refuses it."""
    archive = make_zip(tmp_path / "many.zip", {f"z{i}.bin": bytes(60 * 2**10) for i in range(40)})
    refused(archive, tmp_path / "out", "bomb-ratio", SMALL)


def test_one_hundred_thousand_members_are_refused(tmp_path):
    archive = write(tmp_path, "many.zip", many_members_zip(100_000))
    assert archive.read_bytes().count(b"PK\x01\x02") == 100_000  # the attack is real: 100,000 directory entries
    error = refused(archive, tmp_path / "out", "members")
    assert error.member is None and "10000" in str(error)  # from the end record, before parsing 100,000 entries


def test_one_hundred_thousand_tar_members_are_refused(tmp_path):
    archive = write(tmp_path, "many.tar.gz", many_members_tar(100_000))
    import gzip
    assert gzip.decompress(archive.read_bytes()).count(b"ustar  \0") == 100_000  # the attack is real
    with tarfile.open(archive) as check:
        assert check.getnames()[:2] == ["f000000.txt", "f000001.txt"]
    assert refused(archive, tmp_path / "out", "members").member == "f010000.txt"


def test_members_cap_in_7z(tmp_path):
    archive = write(tmp_path, "m.7z", seven_zip({f"f{i}.py": b"x" for i in range(6)}))
    refused(archive, tmp_path / "out", "members", replace(SMALL, max_members=5))


# ---- names: traversal, absolute paths, encodings, separators ----

@pytest.mark.parametrize("name, rule", [
    (b"../evil.py", "traversal"), (b"hw/../../evil.py", "traversal"), (b"..\\evil.py", "traversal"),
    (b"hw\\..\\..\\evil.py", "traversal"), (b"/tmp/evil.py", "absolute"), (b"C:\\Users\\evil.py", "absolute"),
    (b"c:evil.py", "absolute"), (b"\\\\server\\share\\evil.py", "absolute"),
])
def test_zip_paths_that_leave_the_folder_are_refused(tmp_path, name, rule):
    archive = write(tmp_path, "a.zip", raw_zip([ZipEntry(b"hw/ok.py", b"x"), ZipEntry(name, b"pwned")]))
    assert zipfile.ZipFile(archive).namelist()[1] == name.decode()  # the attack is real
    work = tmp_path / "work"
    work.mkdir()
    error = refused(archive, work / "out", rule)
    assert error.member == name.decode()
    assert not (tmp_path / "evil.py").exists() and not Path("/tmp/evil.py").exists()


@pytest.mark.parametrize("name, rule", [("../evil.py", "traversal"), ("a/../../evil.py", "traversal"),
                                        ("/tmp/evil.py", "absolute"), ("..\\evil.py", "traversal")])
def test_tar_paths_that_leave_the_folder_are_refused(tmp_path, name, rule):
    archive = write(tmp_path, "a.tar.gz", tar_bytes([("ok.py", b"x"), (name, b"pwned")]))
    with tarfile.open(archive) as check:
        assert check.getnames()[1] == name
    work = tmp_path / "work"
    work.mkdir()
    refused(archive, work / "out", rule)
    assert not (tmp_path / "evil.py").exists()


@pytest.mark.parametrize("old, new, rule", [("xx/evil.py", "../evil.py", "traversal"),
                                            ("xtmp/evil.py", "/tmp/evil.py", "absolute")])
def test_7z_paths_that_leave_the_folder_are_refused(tmp_path, old, new, rule):
    archive = write(tmp_path, "a.7z", rename_in_7z(seven_zip({"ok.py": b"x", old: b"pwned"}), old, new))
    import py7zr
    with py7zr.SevenZipFile(archive) as check:
        assert new in check.getnames()  # the attack is real
    work = tmp_path / "work"
    work.mkdir()
    refused(archive, work / "out", rule)


def test_dot_dot_that_stays_inside_is_normalised(tmp_path):
    archive = write(tmp_path, "a.zip", raw_zip([ZipEntry(b"hw/sub/../nb.ipynb", NOTEBOOK), ZipEntry(b"./x.py", b"1")]))
    assert unpack(archive, tmp_path / "out").files == ["hw/nb.ipynb", "x.py"]


def test_gbk_names_without_the_utf8_flag_decode_as_chinese(tmp_path):
    gbk = "作业/第一次作业.ipynb".encode("gbk")
    utf8 = "报告/实验报告.md".encode()
    cp437 = "café.py".encode("cp437")
    archive = write(tmp_path, "a.zip", raw_zip([ZipEntry(gbk, NOTEBOOK), ZipEntry(utf8, b"# r", utf8=True),
                                                ZipEntry(utf8, b"# r2"), ZipEntry(cp437, b"1")]))
    assert zipfile.ZipFile(archive).namelist()[0] != "作业/第一次作业.ipynb"  # Python alone reads gibberish
    result = unpack(archive, tmp_path / "out")
    assert result.files == sorted(["作业/第一次作业.ipynb", "报告/实验报告.md", "café.py"])
    assert (tmp_path / "out" / "报告" / "实验报告.md").read_bytes() == b"# r2"  # the later of two same names


def test_gbk_names_in_a_tar_decode_as_chinese(tmp_path):
    name = "作业/第一次作业.ipynb".encode("gbk").decode("utf-8", "surrogateescape")
    archive = write(tmp_path, "a.tar.gz", tar_bytes([(name, NOTEBOOK)]))
    assert unpack(archive, tmp_path / "out").files == ["作业/第一次作业.ipynb"]


def test_backslashes_are_separators(tmp_path):
    """PowerShell's Compress-Archive writes `hw\\nb.ipynb`."""
    archive = write(tmp_path, "a.zip", raw_zip([ZipEntry(b"hw\\sub\\nb.ipynb", NOTEBOOK), ZipEntry(b"hw\\x.py", b"1")]))
    tgz = write(tmp_path, "a.tgz", tar_bytes([("hw\\sub\\nb.ipynb", NOTEBOOK)]))
    assert unpack(archive, tmp_path / "out").files == ["hw/sub/nb.ipynb", "hw/x.py"]
    assert (tmp_path / "out" / "hw" / "sub" / "nb.ipynb").read_bytes() == NOTEBOOK
    assert unpack(tgz, tmp_path / "out2").files == ["hw/sub/nb.ipynb"]


def test_a_file_and_a_folder_of_one_name_is_refused(tmp_path):
    archive = write(tmp_path, "a.zip", raw_zip([ZipEntry(b"hw", b"x"), ZipEntry(b"hw/nb.ipynb", NOTEBOOK)]))
    assert refused(archive, tmp_path / "out", "corrupt").member == "hw"


# ---- links and special files ----

def test_zip_symlinks_and_devices_are_refused(tmp_path):
    link = write(tmp_path, "l.zip", raw_zip([ZipEntry(b"nb.ipynb", b"/etc/passwd", mode=S_IFLNK | 0o777)]))
    device = write(tmp_path, "d.zip", raw_zip([ZipEntry(b"nb.ipynb", b"", mode=S_IFCHR | 0o666)]))
    assert refused(link, tmp_path / "out", "symlink").member == "nb.ipynb"
    refused(device, tmp_path / "out", "device")


@pytest.mark.parametrize("kind, rule", [(tarfile.SYMTYPE, "symlink"), (tarfile.LNKTYPE, "hardlink"),
                                        (tarfile.CHRTYPE, "device"), (tarfile.BLKTYPE, "device"),
                                        (tarfile.FIFOTYPE, "device")])
def test_tar_links_and_devices_are_refused(tmp_path, kind, rule):
    archive = write(tmp_path, "a.tar", tar_bytes([("ok.py", b"x"), tar_info("nb.ipynb", kind, "/etc/passwd")], "w"))
    assert refused(archive, tmp_path / "out", rule).member == "nb.ipynb"


def test_7z_symlinks_are_refused(tmp_path):
    import py7zr
    os.symlink("/etc/passwd", tmp_path / "link")
    with py7zr.SevenZipFile(tmp_path / "l.7z", "w") as out:
        out.write(tmp_path / "link", "nb.ipynb")
    refused(tmp_path / "l.7z", tmp_path / "out", "symlink")


def test_an_existing_symlink_in_dest_is_never_followed(tmp_path, monkeypatch):
    """Files are created with O_NOFOLLOW|O_EXCL under folders opened with O_NOFOLLOW: a link planted
    in the destination (a race) makes the unpack fail instead of writing through it."""
    archive = make_zip(tmp_path / "a.zip", {"hw/nb.ipynb": NOTEBOOK})
    outside = tmp_path / "outside"
    outside.mkdir()
    real_mkdir = os.mkdir

    def plant(path, mode=0o777, *, dir_fd=None):
        if path == "hw" and dir_fd is not None:
            os.symlink(outside, "hw", dir_fd=dir_fd)
            raise FileExistsError(path)
        return real_mkdir(path, mode, dir_fd=dir_fd) if dir_fd is not None else real_mkdir(path, mode)
    monkeypatch.setattr(archives.os, "mkdir", plant)
    with pytest.raises((OSError, ArchiveError)):
        unpack(archive, tmp_path / "out")
    assert list(outside.iterdir()) == [] and not os.path.lexists(tmp_path / "out")


# ---- junk, nesting, corruption ----

def packed(tmp_path: Path, kind: str, files: dict[str, bytes]) -> Path:
    if kind == "zip":
        return make_zip(tmp_path / "hw.zip", files)
    if kind == "7z":
        return write(tmp_path, "hw.7z", seven_zip(files))
    return write(tmp_path, "hw.tar.gz", tar_bytes(list(files.items())))


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "7z"])
def test_macos_and_windows_junk_is_dropped_and_listed(tmp_path, kind):
    files = {"hw/tf2.0-exercise.ipynb": NOTEBOOK, "__MACOSX/hw/._tf2.0-exercise.ipynb": b"\0\5\26\7 AppleDouble",
             "hw/._tf2.0-exercise.ipynb": b"\0\5\26\7", "hw/.DS_Store": b"\0", "hw/Thumbs.db": b"\0",
             "hw/.ipynb_checkpoints/tf2.0-exercise-checkpoint.ipynb": NOTEBOOK}
    result = unpack(packed(tmp_path, kind, files), tmp_path / "out")
    assert result.files == ["hw/tf2.0-exercise.ipynb"]
    assert sorted(result.dropped) == sorted(set(files) - {"hw/tf2.0-exercise.ipynb"})
    assert [p.name for p in discover(tmp_path / "out").sources] == ["tf2.0-exercise.ipynb"]


def test_a_fake_apple_double_notebook_is_what_discovery_would_otherwise_grade(tmp_path):
    """The `._` twin in a plain folder: discovery alone skips hidden files, and the unpacker drops it first."""
    files = {"hw/._nb.ipynb": NOTEBOOK, "hw/nb.ipynb": NOTEBOOK}
    result = unpack(make_zip(tmp_path / "hw.zip", files), tmp_path / "out")
    assert result.dropped == ["hw/._nb.ipynb"] and not (tmp_path / "out" / "hw" / "._nb.ipynb").exists()


def nested(tmp_path: Path, depth: int) -> Path:
    """Archives 5 deep, alternating zip, tar.gz and 7z, each level with its own notebook."""
    data = NOTEBOOK
    inner_name, inner = None, None
    for level in range(depth, 0, -1):
        files = {f"level{level}.ipynb": data}
        if inner is not None:
            files[inner_name] = inner
        kind = ("zip", "tar.gz", "7z")[level % 3]
        if kind == "zip":
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as out:
                for name, content in files.items():
                    out.writestr(name, content)
            inner = buffer.getvalue()
        elif kind == "7z":
            inner = seven_zip(files)
        else:
            inner = tar_bytes(list(files.items()))
        inner_name = f"level{level}.{kind}"
    return write(tmp_path, inner_name, inner)


def test_nesting_five_deep_unpacks_to_the_depth_and_keeps_the_rest_packed(tmp_path):
    archive = nested(tmp_path, 5)
    result = unpack(archive, tmp_path / "out")
    assert result.archives == ["level1.tar.gz", "level2.7z"]
    assert result.files == ["level1.ipynb", "level2/level2.ipynb", "level2/level3.zip"]
    assert result.kept == ["level2/level3.zip"]
    assert not (tmp_path / "out" / "level2.7z").exists()  # unpacked in place, the archive itself removed
    deep = unpack(archive, tmp_path / "deep", replace(DEFAULT_LIMITS, max_depth=5))
    assert deep.files == ["level1.ipynb", "level2/level2.ipynb", "level2/level3/level3.ipynb",
                          "level2/level3/level4/level4.ipynb", "level2/level3/level4/level5/level5.ipynb"]
    assert deep.kept == []
    assert unpack(archive, tmp_path / "flat", replace(DEFAULT_LIMITS, max_depth=1)).kept == ["level2.7z"]


def test_caps_count_nested_archives_together(tmp_path):
    """Each nested archive under the caps, together over them: the budget is shared."""
    inner = make_zip(tmp_path / "inner.zip", {f"f{i}.py": b"x" for i in range(30)}).read_bytes()
    outer = make_zip(tmp_path / "outer.zip", {f"s{i}/hw.zip": inner for i in range(4)})
    refused(outer, tmp_path / "out", "members", replace(SMALL, max_members=100))
    assert len(unpack(outer, tmp_path / "ok", replace(SMALL, max_members=130)).files) == 120


def test_a_refused_nested_archive_refuses_the_whole_and_names_both(tmp_path):
    evil = raw_zip([ZipEntry(b"../../evil.py", b"pwned")])
    outer = make_zip(tmp_path / "outer.zip", {"alice/hw.zip": evil, "alice/nb.ipynb": NOTEBOOK})
    error = refused(outer, tmp_path / "out", "traversal")
    assert error.archive.endswith("outer.zip/alice/hw.zip") and error.member == "../../evil.py"


def test_a_nested_archive_does_not_overwrite_a_folder_of_its_name(tmp_path):
    inner = make_zip(tmp_path / "i.zip", {"nb.ipynb": NOTEBOOK}).read_bytes()
    outer = make_zip(tmp_path / "o.zip", {"hw.zip": inner, "hw/nb.ipynb": b"{}"})
    result = unpack(outer, tmp_path / "out")
    assert result.files == ["hw/nb.ipynb", "hw_unpacked/nb.ipynb"]


def test_a_truncated_zip_names_the_member_it_was_cut_in(tmp_path):
    whole = raw_zip([ZipEntry(b"a.py", b"1" * 100), ZipEntry(b"hw/nb.ipynb", NOTEBOOK * 50, deflate=True)])
    archive = write(tmp_path, "cut.zip", whole[:len(whole) // 2 + 60])
    error = refused(archive, tmp_path / "out", "corrupt")
    assert error.member == "hw/nb.ipynb"
    assert "hw/nb.ipynb" in str(error) and "cut.zip" in str(error)


def test_a_damaged_member_is_named(tmp_path):
    data = bytearray(raw_zip([ZipEntry(b"a.py", b"1" * 100), ZipEntry(b"nb.ipynb", NOTEBOOK * 20, deflate=True)]))
    data[data.index(b"nb.ipynb") + 20] ^= 0xFF  # a byte of the deflated data
    assert refused(write(tmp_path, "bad.zip", bytes(data)), tmp_path / "out", "corrupt").member == "nb.ipynb"


@pytest.mark.parametrize("kind", ["tar.gz", "7z"])
def test_truncated_tar_and_7z_are_corrupt(tmp_path, kind):
    files = {f"f{i}.bin": os.urandom(20_000) for i in range(5)}
    whole = tar_bytes(list(files.items())) if kind == "tar.gz" else seven_zip(files)
    refused(write(tmp_path, f"cut.{kind}", whole[:len(whole) // 2]), tmp_path / "out", "corrupt")


def test_an_encrypted_zip_is_unsupported(tmp_path):
    archive = write(tmp_path, "e.zip", raw_zip([ZipEntry(b"nb.ipynb", b"xxxx", flags=0x1)]))
    assert refused(archive, tmp_path / "out", "unsupported").member == "nb.ipynb"


# ---- rar ----

def test_a_stored_rar_unpacks(tmp_path):
    archive = write(tmp_path, "hw.rar", rar4([("hw/nb.ipynb", NOTEBOOK), ("hw/x.py", b"print(1)")]))
    assert is_archive(archive)
    assert unpack(archive, tmp_path / "out").files == ["hw/nb.ipynb", "hw/x.py"]
    assert tree(tmp_path / "out") == {"hw/nb.ipynb": NOTEBOOK, "hw/x.py": b"print(1)"}


def test_a_stored_rar5_unpacks_and_its_links_are_refused(tmp_path):
    """RAR 5 (WinRAR's default since 5.0) marks links as redirection records: hard links and file
    copies point at another member, symlinks at anywhere."""
    files = [("作业/nb.ipynb", NOTEBOOK), ("作业/x.py", b"print(1)")]
    assert unpack(write(tmp_path, "hw.rar", rar5(files)), tmp_path / "out").files == ["作业/nb.ipynb", "作业/x.py"]
    assert (tmp_path / "out" / "作业" / "nb.ipynb").read_bytes() == NOTEBOOK
    for kind, rule in ((1, "symlink"), (4, "hardlink"), (5, "hardlink")):
        archive = write(tmp_path, f"l{kind}.rar", rar5([("nb.ipynb", b"")], redirect=(kind, "/etc/passwd")))
        refused(archive, tmp_path / f"l{kind}", rule)


def test_rar_links_and_traversal_are_refused(tmp_path):
    link = write(tmp_path, "l.rar", rar4([("nb.ipynb", b"/etc/passwd")], mode=S_IFLNK | 0o777))
    device = write(tmp_path, "d.rar", rar4([("nb.ipynb", b"")], mode=S_IFCHR | 0o666))
    climb = write(tmp_path, "t.rar", rar4([("../evil.py", b"pwned")]))
    refused(link, tmp_path / "out", "symlink")
    refused(device, tmp_path / "out", "device")
    refused(climb, tmp_path / "out", "traversal")


def hide_rar_tools(monkeypatch, tmp_path):
    import rarfile
    empty = tmp_path / "no-tools"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(rarfile, "CURRENT_SETUP", None)


def test_a_compressed_rar_without_a_tool_is_a_clear_error(tmp_path, monkeypatch):
    archive = write(tmp_path, "hw.rar", rar4([("nb.ipynb", b"compressed bytes")], method=0x33))
    hide_rar_tools(monkeypatch, tmp_path)
    error = refused(archive, tmp_path / "out", "tool-missing")
    assert "unar" in str(error) and "hw.rar" in str(error)
    stored = write(tmp_path, "stored.rar", rar4([("nb.ipynb", NOTEBOOK)]))
    assert unpack(stored, tmp_path / "stored").files == ["nb.ipynb"]  # stored members need no tool


def test_a_compressed_rar_is_read_by_the_tool(tmp_path):
    """With unar or bsdtar installed (CI installs unar), a compressed member goes to the tool; these
    bytes are not real RAR compression, so the tool fails and the member is named as corrupt."""
    import rarfile
    try:
        rarfile.tool_setup()
    except rarfile.RarCannotExec:
        pytest.skip("neither unar nor bsdtar is installed (apt-get install unar)")
    archive = write(tmp_path, "hw.rar", rar4([("nb.ipynb", b"not rar compression")], method=0x33))
    assert refused(archive, tmp_path / "out", "corrupt").member == "nb.ipynb"


# ---- configuration and messages ----

def test_limits_come_from_the_course_file(tmp_path):
    course = tmp_path / "dlgrade.toml"
    course.write_text("[intake]\nmax_total_mb = 100\nmax_members = 50\nmax_file_mb = 2.5\nmax_ratio = 30\n"
                      "max_depth = 3\n[late]\nat_deadline = true\n", encoding="utf-8")
    config = load_config(course)
    assert limits_from_config(config) == ArchiveLimits(100 * 2**20, 50, int(2.5 * 2**20), 30.0, 3)
    assert config.late.at_deadline is True
    assert limits_from_config(load_config(None)) == DEFAULT_LIMITS
    assert load_config(None).late.at_deadline is False


@pytest.mark.parametrize("text, words", [("[intake]\nmax_members = 1.5\n", "whole number"),
                                         ("[intake]\nmax_ratio = -1\n", ">= 0"),
                                         ("[intake]\nmax_size = 3\n", "unknown key"),
                                         ("[late]\nat_deadline = 1\n", "true or false")])
def test_bad_intake_settings_are_refused(tmp_path, text, words):
    course = tmp_path / "dlgrade.toml"
    course.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=words):
        load_config(course)


def test_refusals_are_worded_in_chinese(tmp_path):
    archive = write(tmp_path, "a.zip", raw_zip([ZipEntry(b"../evil.py", b"x")]))
    with pytest.raises(ArchiveError) as caught:
        unpack(archive, tmp_path / "out")
    i18n.use("zh")
    try:
        text = str(caught.value)
    finally:
        i18n.use("en")
    assert "../evil.py" in text and "traversal" in text and any("\u4e00" <= ch <= "\u9fff" for ch in text)
