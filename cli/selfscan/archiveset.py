"""Group archives into sets: the parts of a split export (``name-001.zip``, ``name-002.zip``)
share one export index, so a photo in one part finds its JSON sidecar in another.

Every other archive is a set of its own. The members themselves are read by ``archives``.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .archives import tar_items, tar_listing, tar_opener, zip_items, zip_listing, zip_read
from .errors import short_reason
from .exports import ExportIndex
from .members import BAD_NAME, Budget, classify, norm_name, tar_stamp, unsafe_name
from .names import MAX_JSON_BYTES, scannable, split_export
from .types import Item

if TYPE_CHECKING:
    from .walk import Walk


@dataclass(frozen=True)
class ArchiveEntry:
    """An archive found by ``sources``: its path, size, mtime and sniffed format."""

    path: str
    size: int
    mtime_ns: int
    fmt: str


@dataclass
class _Part:
    path: str
    size: int
    mtime_ns: int
    fmt: str
    budget: Budget
    zf: zipfile.ZipFile | None = None
    error: str | None = None


class _ArchiveSet:
    """One archive, or all parts of a split export: one export index over every part."""

    def __init__(
        self, entries: list[ArchiveEntry], with_facts: bool, walk: Walk | None = None
    ) -> None:
        self.with_facts = with_facts
        self.walk = walk
        self.parts = {
            e.path: _Part(e.path, e.size, e.mtime_ns, e.fmt, Budget(e.size)) for e in entries
        }
        self.index: ExportIndex | None = None
        self.prepared = False
        self.reported = False  # the export's unreadable JSON files, as error items
        self.left = len(entries)

    def items(self, path: str) -> Iterator[Item]:
        if not self.prepared:
            self._prepare()
        part = self.parts[path]
        try:
            if self.index is not None and not self.reported:  # with the first part
                self.reported = True
                yield from self.index.problem_items()
            if part.error is not None:
                yield Item(part.path, part.size, part.mtime_ns, error=part.error)
            elif part.zf is not None:
                if self.walk is not None:
                    left = _LeftOut(self.walk)
                    for info in part.zf.infolist():
                        left.see(info.filename, info.is_dir())
                    left.done()
                yield from zip_items(part.zf, part.path, self.index, 0, part.budget)
            else:
                left = _LeftOut(self.walk) if self.walk is not None else None
                yield from tar_items(
                    tar_opener(part.path),
                    part.path,
                    self.index,
                    0,
                    part.budget,
                    tar_stamp(part.path),
                    listed=left.see if left is not None else None,
                )
                if left is not None:  # a tar is read as a stream: counted as it goes
                    left.done()
        finally:
            self.left -= 1
            if self.left == 0:
                for other in self.parts.values():
                    if other.zf is not None:
                        other.zf.close()

    def _prepare(self) -> None:
        self.prepared = True
        refs: dict[str, tuple[_Part, zipfile.ZipInfo | bytes]] = {}
        for part in self.parts.values():
            if part.fmt == "zip":
                try:
                    part.zf = zipfile.ZipFile(part.path)
                except FileNotFoundError:
                    part.error = "file disappeared during the scan"
                    continue
                except PermissionError:
                    part.error = "permission denied"
                    continue
                except UnicodeDecodeError:
                    part.error = BAD_NAME
                    continue
                except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
                    part.error = f"corrupt or truncated zip archive: {short_reason(exc)}"
                    continue
                if self.with_facts:
                    for name, info in zip_listing(part.zf):
                        refs.setdefault(name, (part, info))
            elif self.with_facts:
                for name, data in tar_listing(tar_opener(part.path), part.budget):
                    refs.setdefault(name, (part, data))
        if not refs:
            return

        def load(name: str) -> bytes:
            part, ref = refs[name]
            if isinstance(ref, bytes):
                return ref
            return zip_read(part.zf, ref, MAX_JSON_BYTES, part.budget)  # type: ignore[arg-type]

        def where(name: str) -> str:
            return f"{refs[name][0].path}!/{name}"

        hint = " ".join(os.path.basename(p) for p in self.parts)
        self.index = ExportIndex(list(refs), load, where, hint)


class _LeftOut:
    """Count what an archive's members leave out, as a walk of the same files in folders would:
    photos, videos and archives named with a leading ".", hidden folders, files of other
    types by extension (a Mac's ``__MACOSX`` copies are no files of the user's)."""

    def __init__(self, walk: Walk) -> None:
        self.walk = walk
        self.hidden_folders: set[str] = set()

    def see(self, name: str, is_dir: bool) -> None:
        """One member, by its name in the archive."""
        if unsafe_name(name):  # an error of its own (``../x.jpg``), not a hidden folder ``..``
            return
        parts = norm_name(name).rstrip("/").split("/")
        if "__MACOSX" in parts:
            return
        hidden = next((n for n, part in enumerate(parts[:-1]) if part.startswith(".")), None)
        if hidden is not None:
            self.hidden_folders.add("/".join(parts[: hidden + 1]))
        elif is_dir:
            if parts[-1].startswith("."):
                self.hidden_folders.add("/".join(parts))
        elif parts[-1].startswith("."):
            self.walk.hidden_files += scannable(parts[-1])
        elif classify(parts[-1]) == "other":  # an export's JSON and HTML are read
            ext = os.path.splitext(parts[-1].lower())[1]
            self.walk.other[ext] = self.walk.other.get(ext, 0) + 1

    def done(self) -> None:
        self.walk.hidden_folders += len(self.hidden_folders)


def archive_sets(
    entries: list[ArchiveEntry], with_facts: bool, walk: Walk | None = None
) -> dict[str, _ArchiveSet]:
    """Group the parts of split exports (``name-001.zip``, ``name-002.zip``) into one set each;
    any other archive is a set of its own. What a zip's members leave out (hidden photos and
    folders, files of other types) is added to ``walk`` as its members are read."""
    groups: dict[tuple[str, str], list[ArchiveEntry]] = {}
    for entry in entries:
        groups.setdefault(split_export(entry.path) or (entry.path, ""), []).append(entry)
    sets: dict[str, _ArchiveSet] = {}
    for group in groups.values():
        shared = _ArchiveSet(group, with_facts, walk)
        for entry in group:
            sets[entry.path] = shared
    return sets
