"""Archives: unpack a student's zip, tar (gz, bz2, xz), 7z or rar under caps, refusing what could escape.

Every archive is hostile input. Each member's name, type and declared size are checked before
anything is written (a `..` or absolute path, a link, a device, a bomb is refused whole); the
bytes are then streamed under a budget, since headers can lie. Files are created by this module
alone, without following links and without exec bits. Nested archives are unpacked in place up
to a depth; deeper ones are left packed and listed. Junk that looks like a hand-in (macOS `._`
twins, checkpoints) is dropped and listed. Any refusal removes everything written.

Libraries: zipfile and tarfile (stdlib), py7zr for 7z (pure Python, maintained), rarfile for rar
(it parses the headers itself and runs a system tool, unar or bsdtar, to decompress).
"""

from __future__ import annotations

import lzma
import mmap
import os
import posixpath
import re
import shutil
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from grader.i18n import N_, _, tr

MiB = 2**20
_CHUNK = MiB
_UTF8_FLAG = 0x800  # zip general purpose bit 11: the name is UTF-8
_JUNK_DIRS = {"__MACOSX", ".ipynb_checkpoints"}
_JUNK_FILES = {".ds_store", "thumbs.db"}
SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".7z", ".rar")
_DRIVE = re.compile(r"^[A-Za-z]:")

RULES = {  # rule id -> why the member (or archive) is refused
    "traversal": N_("its path climbs out of the archive's folder with '..'"),
    "absolute": N_("its path is absolute (starts with / or a drive letter)"),
    "symlink": N_("it is a symbolic link"),
    "hardlink": N_("it is a hard link"),
    "device": N_("it is a device, FIFO, socket or other special file"),
    "bomb-size": N_("everything unpacked would exceed the cap of {limit} ([intake] max_total_mb)"),
    "bomb-ratio": N_("it unpacks to more than {limit:g} times its packed size ([intake] max_ratio): a zip bomb"),
    "members": N_("the archive has more than {limit} members ([intake] max_members)"),
    "file-size": N_("it unpacks to more than {limit} ([intake] max_file_mb)"),
    "corrupt": N_("the archive is damaged or truncated"),
    "unsupported": N_("dlgrade cannot read it (an encrypted archive or an unknown format or method)"),
    "tool-missing": N_("reading a RAR archive needs the 'unar' or 'bsdtar' program, and neither is installed "
                       "(apt-get install unar)"),
}


@dataclass(frozen=True)
class ArchiveLimits:
    """The caps an archive is unpacked under; all set in the course file's [intake] section."""

    max_total_bytes: int = 512 * MiB  # everything one unpack writes, nested archives included
    max_members: int = 10_000  # entries of every kind, nested archives included
    max_file_bytes: int = 64 * MiB  # one file (discover reads nothing larger either)
    max_ratio: float = 200.0  # unpacked / packed size, per member and per archive
    max_depth: int = 2  # the archive given is depth 1; archives inside it depth 2, ...
    ratio_floor_bytes: int = MiB  # the ratio is judged only past this size (small text compresses well)


DEFAULT_LIMITS = ArchiveLimits()


class ArchiveError(Exception):
    """An archive refused whole: which archive, which member (None: the archive itself) and which rule."""

    def __init__(self, archive: str, rule: str, member: str | None = None, detail: str = "",
                 limit: object = None) -> None:
        super().__init__(archive, rule, member)
        self.archive, self.rule, self.member, self.detail, self.limit = archive, rule, member, detail, limit

    def __reduce__(self):  # all fields survive pickling (a result sent between processes)
        return ArchiveError, (self.archive, self.rule, self.member, self.detail, self.limit)

    def __str__(self) -> str:
        reason = tr(RULES[self.rule], limit=self.limit)
        if self.detail:
            reason = f"{reason} ({self.detail})"
        if self.member is None:
            return tr("archive {archive} refused: {reason} [{rule}]", archive=self.archive, reason=reason,
                      rule=self.rule)
        return tr("archive {archive} refused at member {member}: {reason} [{rule}]", archive=self.archive,
                  member=self.member, reason=reason, rule=self.rule)


@dataclass
class Unpacked:
    """What an unpack wrote, dropped and opened, as relative posix paths under its destination."""

    files: list[str] = field(default_factory=list)  # written under dest
    dropped: list[str] = field(default_factory=list)  # junk not written: __MACOSX/, ._*, .DS_Store, ...
    archives: list[str] = field(default_factory=list)  # the archive given (its name), then nested ones unpacked
    kept: list[str] = field(default_factory=list)  # archives nested deeper than max_depth, left packed as files


@dataclass
class _Member:
    """One archive entry as its headers describe it."""

    raw: str  # the stored name, decoded
    kind: str  # file, dir, symlink, hardlink, device
    size: int  # declared unpacked size
    packed: int | None  # declared packed size, when the format gives one per member
    handle: object  # what the reader needs to open it
    name: str = ""  # the safe relative posix path


def _size_text(size: int) -> str:
    return tr("{mb:g} MB", mb=round(size / MiB, 1))


def is_archive(path: Path) -> bool:
    """Whether `path` is a regular file named like an archive whose first bytes say it is one.

    Both are required: notebooks' .npz data, .docx reports and PyTorch .pt files are zips inside,
    and a renamed .zip is read by what its bytes are (see `_format`).
    """
    if not path.name.lower().endswith(SUFFIXES):
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        head = os.pread(fd, 512, 0)
    finally:
        os.close(fd)
    return _format(head) is not None


def _format(head: bytes) -> str | None:
    """The archive format its first bytes say: zip, tar, 7z, rar (None: none of these)."""
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if head[:6] == b"7z\xbc\xaf\x27\x1c":
        return "7z"
    if head[:7] == b"Rar!\x1a\x07\x00" or head[:8] == b"Rar!\x1a\x07\x01\x00":
        return "rar"
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00" or head[257:262] == b"ustar":
        return "tar"
    return None


def _decode(raw: bytes) -> str:
    """A name stored without an encoding: UTF-8, else GBK (Chinese Windows), else cp437 (the zip default)."""
    for encoding in ("utf-8", "gbk"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return raw.decode("cp437")


def _safe_name(raw: str, label: str) -> str:
    """The member's relative posix path ('' for the root itself); refuses absolute and climbing paths."""
    name = raw.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        raise ArchiveError(label, "absolute", raw)
    name = posixpath.normpath(name) if name else "."
    if name == ".." or name.startswith("../"):
        raise ArchiveError(label, "traversal", raw)
    return "" if name == "." else name


def _is_junk(name: str) -> bool:
    parts = name.split("/")
    return any(part in _JUNK_DIRS for part in parts[:-1]) or parts[-1] in _JUNK_DIRS \
        or parts[-1].startswith("._") or parts[-1].lower() in _JUNK_FILES


def _kind_from_mode(mode: int, default: str = "file") -> str:
    """file, dir, symlink or device from the type bits of a unix mode (0: `default`)."""
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        return "symlink"
    if kind == stat.S_IFDIR:
        return "dir"
    if kind in (0, stat.S_IFREG):
        return default
    return "device"


# ---- readers: one per format, each lists members (lazily) and streams a member's bytes ----

class _Reader:
    """An open archive: `members()` from its headers, `extract(members, sink)` streams their bytes."""

    errors: tuple[type[BaseException], ...] = (OSError, EOFError)

    def __init__(self, path: Path, label: str) -> None:
        self.path, self.label = path, label

    def members(self) -> Iterator[_Member]:
        raise NotImplementedError

    def open(self, member: _Member):
        raise NotImplementedError

    def extract(self, members: list[_Member], sink: Callable[[_Member], _Sink]) -> None:
        """Stream each member's bytes into its sink (pull formats; 7z pushes, see _SevenZipReader)."""
        for member in members:
            with self.open(member) as stream:
                out = sink(member)
                while chunk := stream.read(_CHUNK):
                    out.write(chunk)
                out.close()

    def close(self) -> None:
        raise NotImplementedError


class _ZipReader(_Reader):
    errors = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, OSError, EOFError, ValueError)

    def __init__(self, path: Path, label: str) -> None:
        super().__init__(path, label)
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise ArchiveError(label, "corrupt", _zip_cut_member(path), str(error)) from None

    def members(self) -> Iterator[_Member]:
        for info in self.zip.infolist():
            raw = info.filename if info.flag_bits & _UTF8_FLAG else _decode(info.filename.encode("cp437"))
            if info.flag_bits & 0x1:
                raise ArchiveError(self.label, "unsupported", raw, _("encrypted"))
            default = "dir" if raw.endswith(("/", "\\")) else "file"
            kind = _kind_from_mode(info.external_attr >> 16, default) if info.create_system == 3 else default
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                                          zipfile.ZIP_LZMA) and kind == "file":
                raise ArchiveError(self.label, "unsupported", raw,
                                   tr("compression method {method}", method=info.compress_type))
            yield _Member(raw, kind, info.file_size, info.compress_size, info)

    def open(self, member: _Member):
        return self.zip.open(member.handle)

    def close(self) -> None:
        self.zip.close()


def _zip_declared_count(path: Path) -> int | None:
    """The member count in a zip's end records (zip64 included), read before zipfile parses every entry."""
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - 65_557))  # the end record (22 bytes) and at most a 64 kB comment
        tail = handle.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + 22 > len(tail):
            return None
        count = struct.unpack_from("<H", tail, at + 10)[0]
        if count == 0xFFFF and at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":
            handle.seek(struct.unpack_from("<Q", tail, at - 12)[0])
            record = handle.read(40)
            if record[:4] == b"PK\x06\x06" and len(record) == 40:
                count = struct.unpack_from("<Q", record, 32)[0]
        return count


def _zip_cut_member(path: Path) -> str | None:
    """The member a truncated zip was cut in, found by walking its local headers (None: not found)."""
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            pos, size = 0, len(data)
            while data[pos:pos + 4] == b"PK\x03\x04":
                if pos + 30 > size:
                    return None
                flags, csize, name_len, extra_len = struct.unpack("<6xH10xI4xHH", data[pos:pos + 30])
                raw = bytes(data[pos + 30:pos + 30 + name_len])
                name = raw.decode("utf-8", "replace") if flags & _UTF8_FLAG else _decode(raw)
                start = pos + 30 + name_len + extra_len
                if flags & 0x8:  # sizes in a descriptor after the data: the next header tells where it ends
                    following = min((i for i in (data.find(b"PK\x03\x04", start), data.find(b"PK\x01\x02", start))
                                     if i >= 0), default=-1)
                    if following < 0:
                        return name
                    pos = following
                    continue
                if start + csize > size:
                    return name
                pos = start + csize
    except (OSError, ValueError):
        return None
    return None


class _TarReader(_Reader):
    errors = (tarfile.TarError, zlib.error, lzma.LZMAError, OSError, EOFError)

    def __init__(self, path: Path, label: str) -> None:
        super().__init__(path, label)
        try:
            self.tar = tarfile.open(path, "r:*", encoding="utf-8", errors="surrogateescape")
        except self.errors as error:
            raise ArchiveError(label, "corrupt", None, str(error)) from None

    def members(self) -> Iterator[_Member]:
        last = None
        while True:
            try:
                info = self.tar.next()
            except self.errors as error:
                raise ArchiveError(self.label, "corrupt", last, str(error)) from None
            if info is None:
                return
            raw = _decode(info.name.encode("utf-8", "surrogateescape"))
            last = raw
            if info.issym():
                kind = "symlink"
            elif info.islnk():
                kind = "hardlink"
            elif info.isdir():
                kind = "dir"
            elif info.isreg():
                kind = "file"
            else:
                kind = "device"
            yield _Member(raw, kind, info.size, None, info)

    def open(self, member: _Member):
        return self.tar.extractfile(member.handle)

    def close(self) -> None:
        self.tar.close()


class _RarReader(_Reader):
    def __init__(self, path: Path, label: str) -> None:
        super().__init__(path, label)
        import rarfile
        self.rarfile = rarfile
        self.errors = (rarfile.Error, OSError, EOFError)
        try:
            self.rar = rarfile.RarFile(path)
        except rarfile.NeedFirstVolume as error:
            raise ArchiveError(label, "unsupported", None, str(error)) from None
        except self.errors as error:
            raise ArchiveError(label, "corrupt", None, str(error)) from None
        if self.rar.needs_password():
            raise ArchiveError(label, "unsupported", None, _("encrypted"))

    def members(self) -> Iterator[_Member]:
        rarfile = self.rarfile
        compressed = False
        for info in self.rar.infolist():
            redirect = getattr(info, "file_redir", None)
            if info.needs_password():
                raise ArchiveError(self.label, "unsupported", info.filename, _("encrypted"))
            if info.is_symlink():
                kind = "symlink"
            elif redirect:
                kind = "hardlink"  # a hard link or a file copy: both point at another member
            elif info.is_dir():
                kind = "dir"
            else:
                kind = _kind_from_mode(info.mode) if info.host_os == rarfile.RAR_OS_UNIX else "file"
            compressed |= kind == "file" and info.compress_type != rarfile.RAR_M0
            yield _Member(info.filename, kind, info.file_size, info.compress_size, info)
        if compressed:
            try:
                rarfile.tool_setup()
            except rarfile.RarCannotExec:
                raise ArchiveError(self.label, "tool-missing") from None

    def open(self, member: _Member):
        return self.rar.open(member.handle)

    def close(self) -> None:
        self.rar.close()


class _SevenZipReader(_Reader):
    def __init__(self, path: Path, label: str) -> None:
        super().__init__(path, label)
        import py7zr
        import py7zr.exceptions as errors
        self.unsupported = (errors.UnsupportedCompressionMethodError, errors.PasswordRequired)
        self.errors = (py7zr.Bad7zFile, errors.ArchiveError, errors.DecompressionError, errors.CrcError,
                       OSError, EOFError, ValueError, KeyError, lzma.LZMAError)
        self.handle = open(path, "rb")  # a file object: py7zr then extracts in this thread, in order
        try:
            self.archive = py7zr.SevenZipFile(self.handle)
            if self.archive.needs_password():
                raise ArchiveError(label, "unsupported", None, _("encrypted"))
        except self.unsupported as error:
            self.handle.close()
            raise ArchiveError(label, "unsupported", None, str(error)) from None
        except self.errors as error:
            self.handle.close()
            raise ArchiveError(label, "corrupt", None, str(error)) from None

    def members(self) -> Iterator[_Member]:
        for info in self.archive.files:
            if info.is_symlink or info.is_junction:
                kind = "symlink"
            elif info.is_directory:
                kind = "dir"
            elif info.is_socket:
                kind = "device"
            else:
                kind = _kind_from_mode(info.st_fmt or 0)
            size = info.uncompressed if isinstance(info.uncompressed, int) else 0
            packed = info.compressed if isinstance(info.compressed, int) and info.compressed else None
            yield _Member(info.filename, kind, size, packed, info)

    def extract(self, members: list[_Member], sink: Callable[[_Member], _Sink]) -> None:
        """py7zr pushes each member into a writer its factory makes: the factory hands it our sink."""
        from py7zr.helpers import get_sanitized_output_path
        from py7zr.io import Py7zIO, WriterFactory

        wanted = {get_sanitized_output_path(m.handle.filename, None).as_posix(): m for m in members}

        class Writer(Py7zIO):
            def __init__(self, member: _Member | None) -> None:
                self.out, self.length = (sink(member) if member else None), 0

            def write(self, data: bytes | bytearray) -> int:
                if self.out is not None:
                    self.out.write(bytes(data))
                self.length += len(data)
                return len(data)

            def read(self, size: int | None = None) -> bytes:
                return b""

            def seek(self, offset: int, whence: int = 0) -> int:
                return 0

            def flush(self) -> None:
                pass

            def size(self) -> int:
                return self.length

            def close(self) -> None:
                if self.out is not None:
                    self.out.close()
                    self.out = None

        class Factory(WriterFactory):
            def create(self, filename: str) -> Py7zIO:
                return Writer(wanted.get(filename))

        try:
            self.archive.extract(targets=[m.handle.filename for m in members], factory=Factory())
        except self.unsupported as error:
            raise ArchiveError(self.label, "unsupported", None, str(error)) from None

    def close(self) -> None:
        self.archive.close()
        self.handle.close()


_READERS = {"zip": _ZipReader, "tar": _TarReader, "rar": _RarReader, "7z": _SevenZipReader}


# ---- writing: files created by us alone, under a byte budget ----

class _Budget:
    """The caps of one unpack, shared by the archive given and every archive nested in it."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits, self.written, self.members = limits, 0, 0

    def count(self, label: str, member: str) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise ArchiveError(label, "members", member, limit=self.limits.max_members)

    def over_ratio(self, size: int, packed: int | None) -> bool:
        return packed is not None and size > self.limits.ratio_floor_bytes \
            and size > self.limits.max_ratio * max(packed, 1)

    def check_declared(self, *args: object) -> None:
        """`check` on the sizes the headers declare, before writing (a seam the tests switch off alone)."""
        self.check(*args)

    def check(self, label: str, member: str, size: int, packed: int | None, archive_total: int,
              archive_size: int, total: int) -> None:
        """Refuse a member whose (declared or written) `size` breaks a cap; the totals include it."""
        limits = self.limits
        if self.over_ratio(size, packed) or self.over_ratio(archive_total, archive_size):
            raise ArchiveError(label, "bomb-ratio", member, limit=limits.max_ratio)
        if size > limits.max_file_bytes:
            raise ArchiveError(label, "file-size", member, limit=_size_text(limits.max_file_bytes))
        if total > limits.max_total_bytes:
            raise ArchiveError(label, "bomb-size", member, limit=_size_text(limits.max_total_bytes))


class _Level:
    """One archive being written: its file descriptor root, its packed size and what it wrote."""

    def __init__(self, root_fd: int, label: str, archive_size: int, budget: _Budget) -> None:
        self.root_fd, self.label, self.archive_size, self.budget, self.written = root_fd, label, archive_size, budget, 0
        self.current: _Member | None = None  # the member being written, for messages
        self.sinks: list[_Sink] = []

    def sink(self, member: _Member) -> _Sink:
        self.current = member
        self.sinks.append(_Sink(self, member))
        return self.sinks[-1]

    def close(self) -> None:
        """Close every file still open (a refusal can stop a write half-way)."""
        for sink in self.sinks:
            sink.close()


def _open_dirs(root_fd: int, parts: list[str], label: str, member: str) -> int:
    """A descriptor of root/parts..., making each folder, following no link (the caller closes it)."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            try:
                os.mkdir(part, 0o755, dir_fd=fd)
            except FileExistsError:
                pass
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except NotADirectoryError:
                raise ArchiveError(label, "corrupt", member, _("a file and a folder have the same name")) from None
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


class _Sink:
    """One file being written: created new (never through a link), mode 0644, checked chunk by chunk."""

    def __init__(self, level: _Level, member: _Member) -> None:
        self.level, self.member, self.size = level, member, 0
        *folders, leaf = member.name.split("/")
        parent = _open_dirs(level.root_fd, folders, level.label, member.raw)
        try:
            self.fd = os.open(leaf, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                              dir_fd=parent)
        finally:
            os.close(parent)

    def write(self, data: bytes) -> None:
        level, budget = self.level, self.level.budget
        self.size += len(data)
        level.written += len(data)
        budget.written += len(data)
        budget.check(level.label, self.member.raw, self.size, self.member.packed, level.written,
                     level.archive_size, budget.written)
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


# ---- unpacking ----

def unpack(archive: Path, dest: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> Unpacked:
    """Unpack `archive` into the new folder `dest`, nested archives in place up to `limits.max_depth`.

    Raises ArchiveError (and leaves no `dest`) when anything is refused; FileExistsError when `dest`
    exists. To let one student's bad archive cost only that student inside a class download,
    unpack the download with max_depth=1 and each student's archive on its own.
    """
    archive, dest = Path(archive), Path(dest)
    if os.path.lexists(dest):
        raise FileExistsError(tr("{dest} already exists; archives are unpacked into a new folder", dest=dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.mkdir(dest, 0o755)
    try:
        result = _unpack_level(archive, dest, str(archive), _Budget(limits), 1)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    result.archives.insert(0, archive.name)
    return result


def _unpack_level(archive: Path, dest: Path, label: str, budget: _Budget, depth: int) -> Unpacked:
    """Unpack one archive into the existing empty `dest`, then the archives it held (paths relative to dest)."""
    try:
        with open(archive, "rb") as handle:
            head, archive_size = handle.read(512), os.fstat(handle.fileno()).st_size
    except OSError as error:
        raise ArchiveError(label, "corrupt", None, str(error)) from None
    kind = _format(head)
    if kind is None:
        raise ArchiveError(label, "unsupported")
    if kind == "zip":  # zipfile parses every entry on opening: 100,000 take seconds, the end record says how many
        count = _zip_declared_count(archive)
        if count is not None and budget.members + count > budget.limits.max_members:
            raise ArchiveError(label, "members", limit=budget.limits.max_members)
    reader = _READERS[kind](archive, label)
    result = Unpacked()
    try:
        members = _scan(reader, budget, archive_size, result)
        level = _Level(os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC), label,
                       archive_size, budget)
        try:
            reader.extract(members, level.sink)
        except reader.errors as error:
            raise ArchiveError(label, "corrupt", level.current.raw if level.current else None, str(error)) from None
        finally:
            level.close()
            os.close(level.root_fd)
    finally:
        reader.close()
    result.files = sorted(m.name for m in members)
    for name in list(result.files):
        if is_archive(dest / name):
            if depth >= budget.limits.max_depth:
                result.kept.append(name)
                continue
            folder = _folder_for(dest, name)
            os.mkdir(dest / folder, 0o755)
            inner = _unpack_level(dest / name, dest / folder, f"{label}/{name}", budget, depth + 1)
            os.unlink(dest / name)
            result.files.remove(name)
            result.files += [f"{folder}/{f}" for f in inner.files]
            result.dropped += [f"{folder}/{f}" for f in inner.dropped]
            result.archives += [name] + [f"{folder}/{a}" for a in inner.archives]
            result.kept += [f"{folder}/{k}" for k in inner.kept]
    result.files.sort()
    return result


def _folder_for(dest: Path, name: str) -> str:
    """Where a nested archive unpacks: its name without the archive suffix, made unique."""
    lower = name.lower()
    stem = next(name[:-len(s)] for s in sorted(SUFFIXES, key=len, reverse=True) if lower.endswith(s)) or "archive"
    candidate, n = stem, 1
    while os.path.lexists(dest / candidate):
        n += 1
        candidate = f"{stem}_unpacked" if n == 2 else f"{stem}_unpacked{n - 1}"
    return candidate


def _scan(reader: _Reader, budget: _Budget, archive_size: int, result: Unpacked) -> list[_Member]:
    """The members to write, every one checked from its headers before anything is written."""
    label, files, declared = reader.label, {}, 0
    try:
        for member in reader.members():
            budget.count(label, member.raw)
            member.name = _safe_name(member.raw, label)
            if member.kind in ("symlink", "hardlink", "device"):
                raise ArchiveError(label, member.kind, member.raw)
            if member.kind == "dir" or not member.name:
                continue
            if _is_junk(member.name):
                result.dropped.append(member.name)
                continue
            declared += member.size
            budget.check_declared(label, member.raw, member.size, member.packed, declared, archive_size,
                         budget.written + declared)
            files.pop(member.name, None)  # a later member of the same name replaces it
            files[member.name] = member
    except reader.errors as error:
        raise ArchiveError(label, "corrupt", None, str(error)) from None
    folders = {"/".join(parts[:i]) for parts in (name.split("/") for name in files) for i in range(1, len(parts))}
    for name in sorted(folders & files.keys()):
        member = files[name]
        raise ArchiveError(label, "corrupt", member.raw, _("a file and a folder have the same name"))
    return list(files.values())


def limits_from_config(config) -> ArchiveLimits:
    """The caps of the course file's [intake] section (sizes there in MB); defaults without one."""
    intake = getattr(config, "intake", None) or {}
    default = DEFAULT_LIMITS
    return ArchiveLimits(
        max_total_bytes=int(intake.get("max_total_mb", default.max_total_bytes / MiB) * MiB),
        max_members=int(intake.get("max_members", default.max_members)),
        max_file_bytes=int(intake.get("max_file_mb", default.max_file_bytes / MiB) * MiB),
        max_ratio=float(intake.get("max_ratio", default.max_ratio)),
        max_depth=int(intake.get("max_depth", default.max_depth)),
    )
