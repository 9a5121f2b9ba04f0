"""Cheap content fingerprints, stored in the index so that a rescan recognises moved files.

A fingerprint is a BLAKE2b digest of the size and the first and last 64 KiB, the same scheme for
a file on disk and for an archive member's bytes, so a member and the same file extracted
match. Only hashlib and os: importing it pulls in neither the index nor numpy.
"""

from __future__ import annotations

import hashlib
import os


def fingerprint_file(path: str, size: int) -> str:
    """A cheap content fingerprint: size + first and last 64 KiB. Finds moved files."""
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open(path, "rb") as fh:
        digest.update(fh.read(65536))
        if size > 131072:
            fh.seek(-65536, os.SEEK_END)
            digest.update(fh.read(65536))
    return digest.hexdigest()


def fingerprint_bytes(data: bytes) -> str:
    """Fingerprint of in-memory content (archive members), same scheme as for files."""
    digest = hashlib.blake2b(str(len(data)).encode(), digest_size=16)
    digest.update(data[:65536])
    if len(data) > 131072:
        digest.update(data[-65536:])
    return digest.hexdigest()
