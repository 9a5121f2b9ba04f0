"""Per item, before any decoding: report what discovery already knows is wrong, reuse the
index's answer when the content is the one stored (or was moved), or make a job for a worker.
"""

from __future__ import annotations

from .errors import FileError
from .fingerprints import fingerprint_bytes, fingerprint_file
from .index import Cached, Index
from .types import Analysis, Item, Job


def _same_content(
    item: Item, hit: Cached, index: Index, write: bool
) -> tuple[bool, bytes | None, str | None]:
    """Whether an item with its stored path, size and mtime still holds the stored content, and
    what had to be read to tell: the member's bytes, the file's fingerprint (so that neither is
    read twice when the content turns out to have changed).

    Equal stamps (see ``Item.stamp``): yes. A row stored without a stamp: yes, once (it gets
    this one). A file whose stamp changed (an edit that restored the mtime, a same-size swap,
    but also a ``chmod``), or a member of a tar that changed: its fingerprint decides, and a
    match is remembered. A zip member whose CRC changed: no."""
    if item.stamp is None or item.stamp == hit.stamp:
        return True, None, None
    stored = hit.analysis.fingerprint
    data = fingerprint = None
    if hit.stamp is None:
        same = True  # stored before stamps: trusted once, as then
    elif stored is None:
        same = False
    elif item.fs_path is not None:
        try:
            fingerprint = fingerprint_file(item.fs_path, item.size)
        except (OSError, FileError):  # gone, or no longer a file: the worker says which
            return False, None, None
        same = fingerprint == stored
    elif item.stamp.startswith("tar:") and item.read is not None:
        try:
            data = item.read()
        except Exception:  # the member's own error: analysed, and reported, as a new one
            return False, None, None
        fingerprint = fingerprint_bytes(data)
        same = fingerprint == stored
    else:
        same = False  # a zip member's CRC says it all
    if same and write:
        index.restamp(hit.file_id, item.stamp)
    return same, data, fingerprint


def plan_item(
    item: Item, index: Index, model_id: str, mode: str, has_rows: bool, write: bool = True
) -> tuple[Job | Analysis, str]:
    """What to do with one item: report its known error, reuse the index, or make a job; and
    where the answer comes from: ``index`` (the item's own row), ``content`` (the row of the same
    content under another path) or ``pool`` (the job, or an error found on the way). Without
    ``write`` (the index can no longer be written: its disk full), nothing is stored."""
    if item.error is not None:
        return Analysis(error=item.error), "pool"
    hit = index.lookup(item, model_id, mode)
    data = fingerprint = None
    if hit is not None:
        same, data, fingerprint = _same_content(item, hit, index, write)
        if same:
            return hit.analysis, "index"
    if has_rows and item.fs_path is not None and fingerprint is None:
        try:
            fingerprint = fingerprint_file(item.fs_path, item.size)
        except (OSError, FileError):
            fingerprint = None
    if item.fs_path is None and data is None:
        if item.read is None:
            return Analysis(error="nothing to read"), "pool"
        try:
            data = item.read()
        except FileError as exc:
            return Analysis(error=exc.reason), "pool"
        except Exception as exc:  # archive libraries raise many types for damaged members
            return Analysis(error=f"cannot read archive member: {exc}"), "pool"
    if has_rows and data is not None and fingerprint is None:
        fingerprint = fingerprint_bytes(data)
    if fingerprint is not None:
        # Content analysed before under another path (see ``Index.moved``): a moved, renamed
        # or copied file, a moved archive's members, members extracted from an archive.
        moved = index.moved(fingerprint, item.size, model_id, mode)
        if moved is not None:
            if write:
                index.put(item, moved.analysis, model_id, mode)
            return moved.analysis, "content"
    job = Job(item.kind, mode, item.size, item.mtime_ns, item.fs_path, data, fingerprint)
    return job, "pool"
