"""Build hostile and ordinary archives byte by byte for the intake tests (no tool can write most attacks).

zipfile, tarfile and py7zr refuse or rewrite many hostile names on writing, and no rar writer is
free software, so these helpers write the formats' headers themselves: what a hostile or merely
odd tool (Chinese Windows, PowerShell, macOS) really produces.
"""

from __future__ import annotations

import binascii
import io
import struct
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

S_IFLNK, S_IFCHR, S_IFREG = 0o120000, 0o020000, 0o100000


@dataclass
class ZipEntry:
    name: bytes  # stored as is: the tests choose the encoding
    data: bytes = b""
    mode: int | None = None  # a unix mode (type bits included) in the external attributes
    utf8: bool = False  # general purpose bit 11
    flags: int = 0  # more general purpose bits (bit 0: encrypted)
    deflate: bool = False


def raw_zip(entries: list[ZipEntry]) -> bytes:
    """A zip of `entries`, names and attributes exactly as given."""
    out, central = io.BytesIO(), io.BytesIO()
    for entry in entries:
        flags = entry.flags | (0x800 if entry.utf8 else 0)
        body = entry.data
        method = 0
        if entry.deflate:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            body, method = packer.compress(entry.data) + packer.flush(), 8
        crc = binascii.crc32(entry.data)
        offset = out.tell()
        out.write(struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc, len(body),
                              len(entry.data), len(entry.name), 0) + entry.name + body)
        system, attr = (3, (entry.mode << 16)) if entry.mode is not None else (0, 0)
        central.write(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", (system << 8) | 20, 20, flags, method, 0, 0x21,
                                  crc, len(body), len(entry.data), len(entry.name), 0, 0, 0, 0, attr, offset)
                      + entry.name)
    start = out.tell()
    directory = central.getvalue()
    out.write(directory)
    out.write(struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), start, 0))
    return out.getvalue()


def many_members_zip(count: int) -> bytes:
    """A zip of `count` empty files, written fast (central directory included)."""
    local, central = [], []
    offset = 0
    for i in range(count):
        name = b"f%06d.txt" % i
        header = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 0, 0, 0x21, 0, 0, 0, len(name), 0) + name
        central.append(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, 0, 0, 0, len(name),
                                   0, 0, 0, 0, 0, offset) + name)
        local.append(header)
        offset += len(header)
    directory = b"".join(central)
    count16 = min(count, 0xFFFF)
    tail = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count16, count16, len(directory), offset, 0)
    if count > 0xFFFF:  # zip64 end records carry the true count
        zip64 = struct.pack("<4sQ2H2I4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory), offset)
        locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, offset + len(directory), 1)
        tail = zip64 + locator + tail
    return b"".join(local) + directory + tail


def many_members_tar(count: int) -> bytes:
    """A gzipped tar of `count` empty files, its headers written directly (tarfile alone takes seconds)."""
    import gzip
    template = bytearray(tarfile.TarInfo("f000000.txt").tobuf(tarfile.GNU_FORMAT))
    template[148:156] = b" " * 8
    base = sum(template) - sum(b"000000")  # the checksum without the six digits of the name
    blocks = []
    for i in range(count):
        digits = b"%06d" % i
        blocks.append(bytes(template[:1]) + digits + bytes(template[7:148]) + b"%06o\0 " % (base + sum(digits))
                      + bytes(template[156:]))
    return gzip.compress(b"".join(blocks) + bytes(1024), 1)


def zeros_zip(path: Path, size: int, name: str = "zeros.bin") -> Path:
    """A real deflated zip of `size` zero bytes (a multiple of 16 MiB), made in well under a second:
    a 16 MiB block of zeros deflated once after a full flush is the same bytes every time."""
    chunk = bytes(2**24)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    count = size // len(chunk)
    body = block * count + packer.flush()
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    raw = name.encode()
    local = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(body), size, len(raw), 0) + raw
    central = struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(body), size, len(raw),
                          0, 0, 0, 0, 0, 0) + raw
    tail = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(body), 0)
    path.write_bytes(local + body + central + tail)
    return path


def tar_bytes(entries: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w:gz",
              fmt: int = tarfile.GNU_FORMAT) -> bytes:
    """A tar (gzipped by default) of (name, data) files and ready-made TarInfo entries (links, devices)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode, format=fmt, encoding="utf-8", errors="surrogateescape") as archive:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                archive.addfile(entry)
            else:
                name, data = entry
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def tar_info(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


def rename_in_7z(data: bytes, old: str, new: str) -> bytes:
    """A 7z (written with an unencoded header) with one name replaced by another of the same length,
    CRCs fixed: py7zr refuses to write '..' and absolute names, hostile tools do not."""
    assert len(old) == len(new)
    offset, size = struct.unpack_from("<QQ", data, 12)
    start = 32 + offset
    header = data[start:start + size].replace(old.encode("utf-16-le"), new.encode("utf-16-le"))
    assert header != data[start:start + size], "the name to replace is not in the header"
    tail = struct.pack("<QQI", offset, size, binascii.crc32(header))
    return data[:8] + struct.pack("<I", binascii.crc32(tail)) + tail + data[32:start] + header + data[start + size:]


def seven_zip(files: dict[str, bytes]) -> bytes:
    """A 7z of `files` with a plain (unencoded) header, so that `rename_in_7z` can edit names."""
    import py7zr
    out = io.BytesIO()
    with py7zr.SevenZipFile(out, "w") as archive:
        archive.set_encoded_header_mode(False)
        for name, data in files.items():
            archive.writestr(data, name)
    return out.getvalue()


def _rar4_block(kind: int, flags: int, body: bytes) -> bytes:
    header = struct.pack("<BHH", kind, flags, 7 + len(body)) + body
    return struct.pack("<H", binascii.crc32(header) & 0xFFFF) + header


def rar4(entries: list[tuple[str, bytes]], mode: int | None = None, method: int = 0x30) -> bytes:
    """A RAR 4 archive of (name, data) members, written as rar's format note describes it.

    `method` 0x30 stores the data (rarfile reads it without a tool); any other method claims
    compression, so reading needs unar or bsdtar (and garbage data then fails as corrupt).
    `mode` given: a unix host and that mode (e.g. a symlink, whose data is the target).
    """
    blocks = [b"Rar!\x1a\x07\x00", _rar4_block(0x73, 0, bytes(6))]
    dos_time = ((2026 - 1980) << 25) | (12 << 21) | (1 << 16)
    for name, data in entries:
        raw = name.encode("utf-8")
        host, attr = (3, mode) if mode is not None else (2, 0x20)
        body = struct.pack("<IIBIIBBHI", len(data), len(data), host, binascii.crc32(data), dos_time, 29, method,
                           len(raw), attr) + raw
        blocks.append(_rar4_block(0x74, 0x8000, body) + data)
    blocks.append(_rar4_block(0x7B, 0x4000, b""))
    return b"".join(blocks)


def _vint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _rar5_block(kind: int, fields: bytes, extra: bytes = b"", data_size: int | None = None) -> bytes:
    flags = (0x01 if extra else 0) | (0x02 if data_size is not None else 0)
    body = _vint(kind) + _vint(flags) + (_vint(len(extra)) if extra else b"") \
        + (_vint(data_size) if data_size is not None else b"") + fields + extra
    sized = _vint(len(body)) + body
    return struct.pack("<I", binascii.crc32(sized)) + sized


def rar5(entries: list[tuple[str, bytes]], redirect: tuple[int, str] | None = None) -> bytes:
    """A RAR 5 archive of stored (name, data) members, unix host, as rar's format note describes it.
    `redirect` (type, target): every member is a link record instead (1 unix symlink, 4 hard link, 5 file copy)."""
    blocks = [b"Rar!\x1a\x07\x01\x00", _rar5_block(1, _vint(0))]
    for name, data in entries:
        raw = name.encode("utf-8")
        extra = b""
        if redirect is not None:
            target = redirect[1].encode()
            record = _vint(5) + _vint(redirect[0]) + _vint(0) + _vint(len(target)) + target
            extra = _vint(len(record)) + record
        fields = _vint(0x04) + _vint(len(data)) + _vint(0o100644) + struct.pack("<I", binascii.crc32(data)) \
            + _vint(0) + _vint(1) + _vint(len(raw)) + raw
        blocks.append(_rar5_block(2, fields, extra, len(data)) + data)
    blocks.append(_rar5_block(5, _vint(0)))
    return b"".join(blocks)
