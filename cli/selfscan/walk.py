"""Walk the folders and files named for a scan into a plan: the files to read, the archives to
open, the JSON files an export's facts come from, and what is left out.

Folders are walked in name order without recursion. Hidden files and folders and files that are
not images, videos or archives are skipped quietly (and counted in ``Walk``); a file named on the
command line is always reported. Symlinked folders are followed once (a loop is detected by
device and inode); a dangling symlink, an unreadable file or folder, a special file named like a
photo becomes an error item with a reason. /proc, /sys and /dev are never walked.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
from dataclasses import dataclass, field
from typing import Any

from .archiveset import ArchiveEntry
from .errors import FileError
from .fingerprints import open_regular
from .names import GATHERED_MARKER, SNIFF_BYTES, is_archive_name, kind_of, scannable, sniff
from .phonebackup import MANIFEST
from .photoslibrary import copies_not_read, in_library, might_hold_library
from .types import Item, ItemKind


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    mtime_ns: int
    kind: ItemKind
    stamp: str


@dataclass
class Walk:
    """What a walk of the folders given left out. The folders are known before the first item
    comes; the counts once the last has."""

    # Folders given that an earlier one reached (through a symlink): their files were scanned
    # under that path.
    walked_before: list[str] = field(default_factory=list)
    gathered: list[str] = field(default_factory=list)  # folders of matches: GATHERED_MARKER
    hidden_files: int = 0  # photos, videos and archives named with a leading "." (a trash)
    hidden_folders: int = 0
    other: dict[str, int] = field(default_factory=dict)  # files of other types, by extension
    # Copies a Mac Photos library made of photos read from their original or a larger copy
    library_copies: int = 0
    # A Photos library's files of other types: its database, edit settings, journals, caches
    library_files: int = 0

    def left_out(self) -> dict[str, Any]:
        """The summary's ``left_out``: hidden files and folders, other types, gathered folders."""
        return {
            "hidden_files": self.hidden_files,
            "hidden_folders": self.hidden_folders,
            "other": dict(sorted(self.other.items())),
            "library_copies": self.library_copies,
            "library_files": self.library_files,
            "gathered": list(self.gathered),
        }


@dataclass
class Plan:
    """What a walk found, in order: items that are errors already, files and archives."""

    entries: list[Item | FileEntry | ArchiveEntry] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # media and JSON files, for ``exports``
    manifests: list[str] = field(default_factory=list)  # iPhone backups' (``phonebackup``)
    seen_dirs: set[tuple[int, int]] = field(default_factory=set)
    seen_files: set[str] = field(default_factory=set)  # overlapping arguments: each file once
    named: set[str] = field(default_factory=set)  # files named on the command line
    sidecar_dirs: set[str] = field(default_factory=set)
    walk: Walk = field(default_factory=lambda: Walk())
    gathered: dict[tuple[int, int], str] = field(default_factory=dict)  # in walk.gathered


def _reason(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else str(exc)


def _why(exc: OSError) -> str:
    """A file's reason for an error raised while looking at it."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "symlink loop (it leads back to itself)"
    if exc.errno == errno.ENAMETOOLONG:
        return (
            "path too long for the system: nothing in it can be read; shorten the names of "
            "the folders it is in"
        )
    return f"cannot read: {_reason(exc)}"


def _special(mode: int) -> str:
    """Why a path that is neither a file nor a folder is not read."""
    for test, what in (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    ):
        if test(mode):
            return f"not a regular file ({what})"
    return "not a regular file or folder"


def discover(path: str, plan: Plan) -> None:
    """Add the argument ``path`` (a file or a folder) to ``plan``; it is always reported."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        reason = "dangling symlink (its target does not exist)"
        if not os.path.islink(path):
            reason = "no such file or folder"
        plan.entries.append(Item(path, 0, 0, error=reason))
        return
    except OSError as exc:
        plan.entries.append(Item(path, 0, 0, error=_why(exc)))
        return
    if stat.S_ISDIR(st.st_mode):
        if st.st_dev in _system_devices():
            plan.entries.append(Item(path, 0, 0, error=SYSTEM_FOLDER))
        elif (st.st_dev, st.st_ino) not in plan.seen_dirs:
            left = plan.gathered.pop((st.st_dev, st.st_ino), None)
            if left is not None:  # named too: scanned here, not left out
                plan.walk.gathered.remove(left)
            _walk(path, st, plan)
        else:
            plan.walk.walked_before.append(path)
    elif stat.S_ISREG(st.st_mode) and st.st_dev in _system_devices():  # /proc/kmsg
        plan.entries.append(Item(path, 0, 0, error=SYSTEM_FOLDER))
    elif stat.S_ISREG(st.st_mode):
        plan.named.add(path)
        _add_file(path, os.path.basename(path), st, plan, explicit=True)
        _add_sidecars(os.path.dirname(path), plan)
    else:
        plan.entries.append(Item(path, 0, 0, error=_special(st.st_mode)))


def _add_sidecars(folder: str, plan: Plan) -> None:
    """The JSON files beside a file named on the command line (its Takeout sidecar)."""
    if folder in plan.sidecar_dirs:
        return
    plan.sidecar_dirs.add(folder)
    try:
        with os.scandir(folder) as it:
            plan.names.extend(
                e.path for e in it if e.name.lower().endswith(".json") and e.name[0] != "."
            )
    except OSError:
        return  # the sidecar only adds facts; the file itself is reported either way


def _walk(root: str, st: os.stat_result, plan: Plan) -> None:
    """Depth-first, name-ordered walk without recursion (deep trees must not hit Python limits)."""
    plan.seen_dirs.add((st.st_dev, st.st_ino))
    stack = [iter(_list_dir(root, plan))]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        try:
            est = entry.stat()
        except FileNotFoundError:
            if entry.is_symlink() and scannable(entry.name):
                plan.entries.append(
                    Item(entry.path, 0, 0, error="dangling symlink (its target does not exist)")
                )
            continue
        except OSError as exc:
            # A loop is reported whatever its name: it can only be a mistake; and a path too
            # long to reach, which may be a folder of photos.
            mistake = exc.errno in (errno.ELOOP, errno.ENAMETOOLONG)
            if mistake or scannable(entry.name):
                plan.entries.append(Item(entry.path, 0, 0, error=_why(exc)))
            continue
        if stat.S_ISDIR(est.st_mode):
            key = (est.st_dev, est.st_ino)
            if est.st_dev in _system_devices():
                continue  # a link to / leads here: the kernel's files, other users' folders
            if key in plan.seen_dirs or key in plan.gathered:
                continue
            if os.path.lexists(os.path.join(entry.path, GATHERED_MARKER)):
                # Not marked as seen: named among the paths too, it is scanned there.
                plan.gathered[key] = entry.path
                plan.walk.gathered.append(entry.path)
                continue
            plan.seen_dirs.add(key)
            stack.append(iter(_list_dir(entry.path, plan)))
        elif stat.S_ISREG(est.st_mode) and est.st_dev in _system_devices():  # /proc/kmsg
            if scannable(entry.name):
                plan.entries.append(Item(entry.path, 0, 0, error=SYSTEM_FOLDER))
        elif stat.S_ISREG(est.st_mode):
            _add_file(entry.path, entry.name, est, plan, explicit=False)
        elif scannable(entry.name):  # named like one, but is not
            plan.entries.append(Item(entry.path, 0, 0, error=_special(est.st_mode)))


SYSTEM_FOLDER = "in a system folder (/proc, /sys or /dev): the kernel's, not photos; not scanned"


@functools.cache
def _system_devices() -> frozenset[int]:
    """The file systems of /proc, /sys and /dev: never walked. Their files are not photos, and
    some block a reader for ever (/proc/kmsg) or take from the kernel's log as they are read."""
    found = set()
    for folder in ("/proc", "/sys", "/dev"):
        with contextlib.suppress(OSError):
            st = os.stat(folder)
            if st.st_dev != os.stat("/").st_dev:  # its own file system, not a folder of /
                found.add(st.st_dev)
    return frozenset(found)


def _list_dir(path: str, plan: Plan) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            entries = list(it)
    except OSError as exc:
        plan.entries.append(Item(path, 0, 0, error=f"cannot list folder: {_reason(exc)}"))
        return []
    hidden = [e for e in entries if e.name.startswith(".")]
    for e in hidden:
        with contextlib.suppress(OSError):
            if e.is_dir():
                plan.walk.hidden_folders += 1
            elif scannable(e.name):
                plan.walk.hidden_files += 1
    entries = [e for e in entries if not e.name.startswith(".")]
    entries.sort(key=lambda e: e.name)
    return entries


def _add_file(path: str, name: str, st: os.stat_result, plan: Plan, explicit: bool) -> None:
    if path in plan.seen_files:
        return
    plan.seen_files.add(path)
    lower = name.lower()
    kind = kind_of(lower)
    if name == MANIFEST:  # an iPhone backup's: names the files beside it (not scanned itself)
        plan.manifests.append(path)
    if kind is None and lower.endswith(".json"):
        plan.names.append(path)
        if not explicit:
            return
    if kind is None and lower.endswith((".html", ".htm")) and not explicit:
        plan.names.append(path)  # only tells an export in HTML format (see ``exports``)
        return
    fmt: str | None = None
    archive_name = is_archive_name(lower)
    if archive_name and kind is None and st.st_size == 0:
        plan.entries.append(Item(path, 0, st.st_mtime_ns, error="empty file (0 bytes)"))
        return
    if kind is None and st.st_size > 0 and (explicit or archive_name or "." not in name):
        try:
            with open_regular(path) as fh:
                head = fh.read(SNIFF_BYTES)
        except FileError as exc:
            plan.entries.append(Item(path, st.st_size, st.st_mtime_ns, error=exc.reason))
            return
        except OSError as exc:
            if explicit or archive_name:
                plan.entries.append(Item(path, st.st_size, st.st_mtime_ns, error=_why(exc)))
            return
        found = sniff(head)
        if found in ("image", "video"):
            kind = found  # type: ignore[assignment]
        elif found == "zip" or (found == "tar" and head[257:262] == b"ustar"):
            fmt = found
        elif found == "tar" and (explicit or archive_name):
            fmt = found  # a compressed stream: only trusted to be a tar when named like one
        elif archive_name:
            plan.entries.append(
                Item(path, st.st_size, st.st_mtime_ns, error="not a zip or tar archive")
            )
            return
    if fmt is not None:
        plan.entries.append(ArchiveEntry(path, st.st_size, st.st_mtime_ns, fmt))
        return
    if kind is None and not explicit:
        plan.seen_files.discard(path)  # named among the paths too, it gets its own status
        if in_library(path):  # Photos' own bookkeeping, not files of the user's to look at
            plan.walk.library_files += 1
            return
        ext = os.path.splitext(lower)[1]
        ext = ext if len(ext) > 1 else "no extension"
        plan.walk.other[ext] = plan.walk.other.get(ext, 0) + 1
        return
    if not os.access(path, os.R_OK):
        plan.entries.append(Item(path, st.st_size, st.st_mtime_ns, error="permission denied"))
        return
    plan.names.append(path)
    stamp = f"{st.st_ino}:{st.st_ctime_ns}"
    plan.entries.append(FileEntry(path, st.st_size, st.st_mtime_ns, kind or "image", stamp))


def leave_library_copies(plan: Plan) -> None:
    """Leave out the copies a Mac Photos library made of photos it holds the original or a
    larger copy of (see ``photoslibrary``), counting them in ``plan.walk``."""
    files = [e for e in plan.entries if isinstance(e, FileEntry) and might_hold_library(e.path)]
    if not files:
        return
    skipped = copies_not_read((e.path, e.size, e.kind) for e in files) - plan.named
    if skipped:
        plan.entries = [
            e for e in plan.entries if not (isinstance(e, FileEntry) and e.path in skipped)
        ]
        plan.walk.library_copies += len(skipped)
