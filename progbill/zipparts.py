"""A zip package assembled from pieces already deflated.

Python's :mod:`zipfile` deflates what it is given; it cannot take data deflated earlier. The
ledger keeps the rows of a fiscal year's earlier months deflated (:mod:`progbill.linecache`)
and writes only the new rows each month, so it joins raw deflate streams itself:

* each piece is a raw deflate stream ended with a sync flush (byte-aligned, not final), made
  by a fresh compressor, so no piece refers back into another;
* pieces are joined by concatenation and ended by an empty final block;
* the CRC-32 of the whole is combined from the pieces' CRCs (zlib's ``crc32_combine``, which
  Python's zlib does not expose).

:func:`write_zip` writes the local headers, the central directory and its end record of a
plain zip (no zip64: a part or a package of 4 GiB or more is refused, and the caller writes
it the ordinary way).
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

_LIMIT = 0xFFFF_FFFF
_FINAL = zlib.compressobj(1, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)  # an empty final block


@dataclass(frozen=True)
class Deflated:
    """Raw deflate data (sync-flushed, not final) of ``size`` bytes whose CRC-32 is ``crc``;
    ``final``: a whole stream (a part copied from another zip), which cannot be joined."""

    data: bytes
    crc: int
    size: int
    final: bool = False


EMPTY = Deflated(b"", 0, 0)


def deflate(data: bytes, level: int = 1) -> Deflated:
    """``data`` as a piece that can be joined to others."""
    if not data:
        return EMPTY
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return Deflated(compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH),
                    zlib.crc32(data), len(data))


def join(pieces: Iterable[Deflated]) -> Deflated:
    """The pieces one after another (still not final)."""
    data, crc, size = [], 0, 0
    for piece in pieces:
        if piece.final:
            raise ValueError("a whole stream cannot be joined to others")
        data.append(piece.data)
        crc = crc32_combine(crc, piece.crc, piece.size)
        size += piece.size
    return Deflated(b"".join(data), crc, size)


# --------------------------------------------------------------------------------------------
# CRC-32 of two pieces from theirs: zlib's crc32_combine (operators over GF(2))


def _times(matrix: Sequence[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _square(matrix: Sequence[int]) -> list[int]:
    return [_times(matrix, row) for row in matrix]


_OPERATORS: list[list[int]] = []  # [k]: the operator that appends 2**k zero bytes to a CRC


def _operator(k: int) -> list[int]:
    while len(_OPERATORS) <= k:
        if not _OPERATORS:
            bit = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit
            _OPERATORS.append(_square(_square(_square(bit))))  # eight: one byte
        else:
            _OPERATORS.append(_square(_OPERATORS[-1]))
    return _OPERATORS[k]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of ``a + b`` from ``crc32(a)``, ``crc32(b)`` and ``len(b)``."""
    k = 0
    while len2 > 0:
        if len2 & 1:
            crc1 = _times(_operator(k), crc1)
        len2 >>= 1
        k += 1
    return crc1 ^ crc2


class Deflater:
    """One piece written in parts: ``add`` bytes, then ``done``."""

    def __init__(self, level: int = 1) -> None:
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
        self._out: list[bytes] = []
        self._crc = 0
        self._size = 0

    def add(self, data: bytes) -> None:
        if data:
            self._out.append(self._compressor.compress(data))
            self._crc = zlib.crc32(data, self._crc)
            self._size += len(data)

    def done(self) -> Deflated:
        if not self._size:
            return EMPTY
        self._out.append(self._compressor.flush(zlib.Z_SYNC_FLUSH))
        return Deflated(b"".join(self._out), self._crc, self._size)


class BackgroundDeflater(Deflater):
    """A :class:`Deflater` that deflates on its own thread, in the order parts are added, while
    the caller makes the next part (zlib releases the GIL while it deflates)."""

    def __init__(self, level: int = 1) -> None:
        super().__init__(level)
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: list[Future[None]] = []

    def add(self, data: bytes) -> None:
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(self._pool.submit(super().add, data))

    def done(self) -> Deflated:
        try:
            for pending in self._pending:
                pending.result()  # in order; a deflating error is raised here
        finally:
            self._pool.shutdown(wait=True)
        return super().done()

    def cancel(self) -> None:
        """Stop (the piece is not wanted)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def inflate(piece: Deflated) -> bytes:
    """The bytes a piece holds."""
    return zlib.decompressobj(-15).decompress(piece.data) if piece.size else b""


# --------------------------------------------------------------------------------------------
# the package


class TooLarge(ValueError):
    """A part or the package needs zip64; write it with zipfile instead."""


def _dos_time(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    return ((year - 1980) << 9 | month << 5 | day), (hour << 11 | minute << 5 | second // 2)


def write_zip(out: BinaryIO, parts: Sequence[tuple[str, tuple[int, int, int, int, int, int],
                                                  Deflated]]) -> None:
    """A zip of ``(name, date_time, piece)`` parts, each deflated (its piece ended here)."""
    central = []
    offset = 0
    for name, date_time, piece in parts:
        encoded = name.encode("utf-8")
        flags = 0 if encoded.isascii() else 0x800
        data = piece.data if piece.final else piece.data + _FINAL
        if piece.size > _LIMIT or len(data) > _LIMIT or offset > _LIMIT:
            raise TooLarge(name)
        day, time = _dos_time(date_time)
        fields = (20, flags, zlib.DEFLATED, time, day, piece.crc, len(data), piece.size,
                  len(encoded))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + encoded)
        out.write(data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0,
                                   0, offset) + encoded)
        offset += 30 + len(encoded) + len(data)
    directory = b"".join(central)
    if offset + len(directory) > _LIMIT or len(parts) > 0xFFFF:
        raise TooLarge("the package")
    out.write(directory)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(parts), len(parts),
                          len(directory), offset, 0))


def copied(package: bytes, info: zipfile.ZipInfo) -> Deflated | None:
    """A deflated part of a zip as it is stored (to copy it without inflating and deflating
    it again); None when it is stored some other way."""
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
        return None
    at = info.header_offset
    head = package[at:at + 30]
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        return None
    name_length, extra_length = struct.unpack("<HH", head[26:30])
    start = at + 30 + name_length + extra_length
    data = package[start:start + info.compress_size]
    if len(data) != info.compress_size:
        return None
    return Deflated(data, info.CRC, info.file_size, final=True)
