"""Per item, before any decoding: report what discovery already knows is wrong, reuse the
index's answer when the content is the one stored (or was moved), or make a job for a worker.
"""

from __future__ import annotations

from .errors import FileError
from .fingerprints import fingerprint_bytes, fingerprint_file
from .index import Cached, Index
from .types import Analysis, Item, Job


def _same_content(item: Item, hit: Cached, index: Index) -> bool:
    """Whether an item with its stored path, size and mtime still holds the stored content.

    Equal stamps (see ``Item.stamp``): yes. A file whose stamp changed (an edit that restored
    the mtime, a same-size swap, but also a ``chmod``) or was never stored: its fingerprint
    (of its whole content) decides, and a match is remembered. A zip member whose CRC changed: no.
    A tar member, which has no stamp: yes."""
    if item.stamp is None or item.stamp == hit.stamp:
        return True
    stored = hit.analysis.fingerprint
    if item.fs_path is None or stored is None:
        # A zip member: its CRC says it all once one is stored. A file stored without a
        # fingerprint: nothing to compare. Either is trusted once, as before stamps, if the row
        # has no stamp yet.
        same = hit.stamp is None
    else:
        try:
            same = fingerprint_file(item.fs_path, item.size) == stored
        except OSError:
            return False
    if same:
        index.restamp(hit.file_id, item.stamp)
    return same


def plan_item(
    item: Item, index: Index, model_id: str, mode: str, has_rows: bool
) -> tuple[Job | Analysis, bool]:
    """What to do with one item: report its known error, reuse the index, or make a job."""
    if item.error is not None:
        return Analysis(error=item.error), False
    hit = index.lookup(item, model_id, mode)
    if hit is not None and _same_content(item, hit, index):
        return hit.analysis, True
    fingerprint = None
    if has_rows and item.fs_path is not None:
        try:
            fingerprint = fingerprint_file(item.fs_path, item.size)
        except OSError:
            fingerprint = None
    data = None
    if item.fs_path is None:
        if item.read is None:
            return Analysis(error="nothing to read"), False
        try:
            data = item.read()
        except FileError as exc:
            return Analysis(error=exc.reason), False
        except Exception as exc:  # archive libraries raise many types for damaged members
            return Analysis(error=f"cannot read archive member: {exc}"), False
        if has_rows:
            fingerprint = fingerprint_bytes(data)
    if fingerprint is not None:
        # A moved or renamed file, a moved archive's members, members extracted from an
        # archive that is gone: the same content under a path that no longer exists.
        moved = index.moved(fingerprint, item.size, model_id, mode)
        if moved is not None:
            index.put(item, moved.analysis, model_id, mode)
            return moved.analysis, True
    job = Job(item.kind, mode, item.size, item.mtime_ns, item.fs_path, data, fingerprint)
    return job, False
