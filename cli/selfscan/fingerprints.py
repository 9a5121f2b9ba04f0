"""Content fingerprints, stored in the index so that a rescan recognises content it analysed
before (a moved, renamed or copied file) and tells an edited file from one whose metadata alone
changed.

A fingerprint is a BLAKE2b digest of the size, the first and last 64 KiB, and a CRC-32 of the
whole content for anything up to ``WHOLE_LIMIT`` (every photo): an edit anywhere changes it,
and it costs about 3 ms for a 4 MB JPEG (a BLAKE2b of the whole took 12 ms, 11% of a
``--quick`` scan's time per photo). A larger file (a long video) is digested by its size and
ends only. The same scheme for a file on disk and an archive member's bytes, so a member and the
same file extracted match. Only the standard library: importing it pulls in neither the index
nor numpy.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zlib
from typing import BinaryIO

from .errors import FileError

WHOLE_LIMIT = 256 * 1024 * 1024  # bytes: above, the ends only (reading 1 GB takes seconds)
_END = 65536
_BLOCK = 1 << 20
# Distinguishes these digests from those of older versions, which read only the ends: a row
# stored by one never passes for the other's (it is analysed again once).
_PERSON = b"selfscan-v2"


def _fingerprint(size: int, head: bytes, tail: bytes, crc: int | None) -> str:
    digest = hashlib.blake2b(str(size).encode(), digest_size=16, person=_PERSON)
    digest.update(head)
    digest.update(tail)
    if crc is not None:
        digest.update(crc.to_bytes(4, "big"))
    return digest.hexdigest()


def fingerprint_file(path: str, size: int) -> str:
    """The fingerprint of the file at ``path``, ``size`` bytes long (no more is read: a file
    swapped for an endless one, ``/dev/zero``, is refused, not read for ever)."""
    with open_regular(path) as fh:
        head = fh.read(min(_END, size))
        if size > WHOLE_LIMIT:
            fh.seek(-_END, os.SEEK_END)
            return _fingerprint(size, head, fh.read(_END), None)
        crc = zlib.crc32(head)
        last = head
        left = size - len(head)
        while left > 0 and (block := fh.read(min(_BLOCK, left))):
            left -= len(block)
            crc = zlib.crc32(block, crc)
            last = (last + block)[-_END:] if len(block) < _END else block[-_END:]
    return _fingerprint(size, head, last if size > _END else b"", crc)


def open_regular(path: str) -> BinaryIO:
    """``path`` opened for reading, when it is a regular file. A file swapped during a scan for
    a named pipe (an open would wait for a writer for ever) or a device is refused with a
    ``FileError``; the open itself never waits."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileError(
                "file changed while it was being scanned: it is no longer a file", transient=True
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def fingerprint_bytes(data: bytes) -> str:
    """The fingerprint of in-memory content (an archive member): as for a file of those bytes."""
    size = len(data)
    if size > WHOLE_LIMIT:
        return _fingerprint(size, data[:_END], data[-_END:], None)
    return _fingerprint(size, data[:_END], data[-_END:] if size > _END else b"", zlib.crc32(data))
