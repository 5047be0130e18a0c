"""Frames exchanged with sandboxed children: a JSON header plus `.npy` blobs, never pickles.

A frame is `uint32 header length | JSON header | blob bytes...`; the header lists blob sizes
under "blobs". Arrays inside a message are replaced by `{"$array": index}` markers. Every size
is capped so that a hostile child cannot make the parent allocate without bound.
"""

from __future__ import annotations

import io
import json
import os
import select
import struct
import time
from typing import Any

import numpy as np

MAX_HEADER_BYTES = 4 * 1024 * 1024
MAX_BLOB_BYTES = 256 * 1024 * 1024
MAX_FRAME_BYTES = 512 * 1024 * 1024
_LENGTH = struct.Struct(">I")


class ProtocolError(Exception):
    """The peer sent bytes that are not a well-formed frame."""


class ChannelClosed(Exception):
    """The peer closed its end before a complete frame arrived."""


class ChannelTimeout(Exception):
    """No complete frame arrived before the deadline."""


def encode_frame(message: dict[str, Any]) -> bytes:
    """Serialise a message whose values may include numpy arrays."""
    blobs: list[bytes] = []

    def pack(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            buffer = io.BytesIO()
            np.save(buffer, value, allow_pickle=False)
            blobs.append(buffer.getvalue())
            return {"$array": len(blobs) - 1}
        if isinstance(value, dict):
            return {str(key): pack(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [pack(item) for item in value]
        return value

    body = pack(message)
    header = json.dumps({"body": body, "blobs": [len(blob) for blob in blobs]}).encode()
    return _LENGTH.pack(len(header)) + header + b"".join(blobs)


def decode_array(blob: bytes) -> np.ndarray:
    """Load one `.npy` blob, refusing pickled objects and non-numeric dtypes."""
    try:
        array = np.load(io.BytesIO(blob), allow_pickle=False)
    except Exception as error:  # numpy raises ValueError, OSError, EOFError... on bad input
        raise ProtocolError(f"bad array blob: {error}") from None
    if array.dtype.kind not in "biufc":
        raise ProtocolError(f"array of dtype {array.dtype} is not numeric")
    return array


def _unpack(value: Any, arrays: list[np.ndarray]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$array"}:
            index = value["$array"]
            if not isinstance(index, int) or not 0 <= index < len(arrays):
                raise ProtocolError(f"array reference {index!r} out of range")
            return arrays[index]
        return {key: _unpack(item, arrays) for key, item in value.items()}
    if isinstance(value, list):
        return [_unpack(item, arrays) for item in value]
    return value


class FrameReader:
    """Reads frames from a file descriptor with a deadline, buffering partial input."""

    def __init__(self, fd: int):
        self.fd = fd
        self._buffer = bytearray()
        self.closed = False

    def _fill(self, needed: int, deadline: float) -> None:
        while len(self._buffer) < needed:
            if self.closed:
                raise ChannelClosed()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChannelTimeout()
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                raise ChannelTimeout()
            chunk = os.read(self.fd, min(1 << 20, max(needed - len(self._buffer), 65536)))
            if not chunk:
                self.closed = True
                raise ChannelClosed()
            self._buffer.extend(chunk)

    def read(self, deadline: float) -> dict[str, Any]:
        """Return the next message, or raise ChannelClosed / ChannelTimeout / ProtocolError."""
        self._fill(_LENGTH.size, deadline)
        (header_size,) = _LENGTH.unpack_from(self._buffer)
        if header_size > MAX_HEADER_BYTES:
            raise ProtocolError(f"header of {header_size} bytes exceeds the cap")
        self._fill(_LENGTH.size + header_size, deadline)
        try:
            header = json.loads(bytes(self._buffer[_LENGTH.size:_LENGTH.size + header_size]))
            sizes = header["blobs"]
            body = header["body"]
        except (ValueError, KeyError, TypeError) as error:
            raise ProtocolError(f"bad header: {error}") from None
        if not isinstance(sizes, list) or not all(isinstance(s, int) and 0 <= s <= MAX_BLOB_BYTES for s in sizes):
            raise ProtocolError("bad blob sizes")
        total = _LENGTH.size + header_size + sum(sizes)
        if total > MAX_FRAME_BYTES:
            raise ProtocolError(f"frame of {total} bytes exceeds the cap")
        self._fill(total, deadline)
        offset = _LENGTH.size + header_size
        arrays = []
        for size in sizes:
            arrays.append(decode_array(bytes(self._buffer[offset:offset + size])))
            offset += size
        del self._buffer[:total]
        if not isinstance(body, dict):
            raise ProtocolError("message body is not an object")
        return _unpack(body, arrays)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte to a blocking descriptor."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
