"""Find what to scan: walk folders and read archives, yielding ``Item``s in a stable order.

Folders are walked recursively in name order (see ``walk``). Hidden files and folders and files
that are not images, videos or archives are skipped quietly; a file named on the command line is
always reported.

Archives (``.zip``, ``.tar``, ``.tar.gz``/``.tgz``, also recognised by their magic bytes) are read
in place by ``archives``, never extracted.

Every item carries ``facts["source"]``: export metadata found around it (see ``exports``). All
the files and archives of one scan are listed before the first item is yielded, so that a Google
Takeout photo finds its sidecar in another part of a split export (``takeout-…-001.zip``,
``-002.zip``) and a Facebook or Instagram photo finds the JSON that describes it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from .archiveset import ArchiveEntry, archive_sets
from .exports import ExportIndex, empty_source
from .names import MAX_JSON_BYTES, kind_of
from .phonebackup import PhoneBackups
from .photoslibrary import PhotosLibraries
from .types import Item
from .walk import FileEntry, Plan, Walk, discover, leave_library_copies

__all__ = ["Walk", "iter_items", "kind_of"]


def iter_items(
    paths: list[Path],
    with_facts: bool = True,
    skip: tuple[str, ...] = (),
    walk: Walk | None = None,
) -> Iterator[Item]:
    """Every scannable item under ``paths`` (files, folders, archives), in a stable order.

    Items from archives have ``read`` set; read their bytes before advancing the iterator.
    ``with_facts=False`` reads no export JSON (each ``facts["source"]`` says only where the item
    is): the same items, cheaper, e.g. to count them. The folders in ``skip`` are not walked.
    What the walk leaves out is recorded in ``walk`` (see ``Walk``).
    """
    plan = Plan(walk=walk if walk is not None else Walk())
    for folder in skip:
        with contextlib.suppress(OSError):
            st = os.stat(folder)
            plan.seen_dirs.add((st.st_dev, st.st_ino))
    for root in paths:
        discover(os.path.abspath(os.fspath(root)), plan)
    leave_library_copies(plan)
    folder_index = None
    if with_facts and plan.names:
        folder_index = ExportIndex(plan.names, _load_file, str)
    backups = PhoneBackups(plan.manifests) if with_facts and plan.manifests else None
    libraries = PhotosLibraries() if with_facts else None
    archives = [e for e in plan.entries if isinstance(e, ArchiveEntry)]
    sets = archive_sets(archives, with_facts, plan.walk)
    try:
        for entry in plan.entries:
            if isinstance(entry, Item):
                yield entry
            elif isinstance(entry, FileEntry):
                yield _file_item(entry, folder_index, backups, libraries)
            else:
                yield from sets[entry.path].items(entry.path)
        if folder_index is not None:
            yield from folder_index.problem_items()
        if backups is not None:
            yield from backups.problem_items()
    finally:
        if backups is not None:
            backups.close()
        if libraries is not None:
            libraries.close()


def _file_item(
    entry: FileEntry,
    index: ExportIndex | None,
    backups: PhoneBackups | None,
    libraries: PhotosLibraries | None,
) -> Item:
    source = index.facts(entry.path) if index is not None else empty_source()
    if backups is not None and (phone := backups.facts(entry.path)) is not None:
        source.update(phone)
    if libraries is not None and (library := libraries.facts(entry.path)) is not None:
        source.update(library)
    return Item(
        entry.path,
        entry.size,
        entry.mtime_ns,
        kind=entry.kind,
        fs_path=entry.path,
        facts={"source": source},
        stamp=entry.stamp,
    )


def _load_file(path: str) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise OSError(f"larger than {MAX_JSON_BYTES >> 20} MiB")
    return data
