"""Names in the folder matches are gathered into: a safe base name for any path or archive
member, the names already taken there (``name.jpg``, ``name (2).jpg``, …), and which of its
files are hard links (``--link-to``), which show whatever their original shows now; and the
marker that says a folder holds only gathered matches."""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from pathlib import Path

from .locate import SEPARATOR, split_path
from .members import repeated_name
from .names import GATHERED_MARKER
from .shown import CONTROL

MAX_NAME_BYTES = 200  # well under the 255-byte limit of common file systems, room for " (n).xmp"
# Separators and reserved characters (Windows), and what a terminal shows escaped: control
# characters and the bidi controls that would show a copied name reversed in a file manager.
_UNSAFE_CHARS = re.compile(rf'[<>:"/\\|?*]|{CONTROL.pattern}')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.I)


def safe_name(path: str) -> str:
    """A file name for ``path`` (a file or an archive member) that cannot leave a folder: its
    base name without separators, control or reserved characters, ``..`` or a leading dot."""
    _, member = split_path(path)
    if member is None and SEPARATOR in path:  # a member of an archive since moved or deleted
        member = path.rsplit(SEPARATOR, 1)[1]
    if member is not None:
        member = repeated_name(member)  # "IMG_1.jpg#2", the archive's second IMG_1.jpg
    # An archive's names may use either separator; on disk a backslash is a separator only
    # where the system says so (on Linux "Beach\\me.jpg" is one name).
    base = re.split(r"[\\/]", member)[-1] if member is not None else os.path.basename(path)
    base = unicodedata.normalize(
        "NFC", base.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    )
    stem, ext = os.path.splitext(_UNSAFE_CHARS.sub("_", base))
    if not ext and stem.startswith("."):  # ".jpg": splitext takes it for a hidden stem
        stem, ext = "", "." + stem.lstrip(". ")
    if not stem.strip(" ._") and ext.strip(" ._"):  # " .jpg", ".jpg": a name that is all extension
        stem = ""
    elif not ext.strip(" ._"):
        stem, ext = stem + ext, ""
    stem = stem.strip().lstrip(".").strip()
    if not stem or set(stem) <= {".", "_", " "}:
        stem = "photo"
    if _WINDOWS_RESERVED.match(stem):
        stem = "_" + stem
    ext = ext.strip()
    if len(ext.encode("utf-8")) > MAX_NAME_BYTES // 2:
        stem, ext = "photo", ""
    while len((stem + ext).encode("utf-8")) > MAX_NAME_BYTES and len(stem) > 1:
        stem = stem[:-1]
    return stem + ext


def candidates(dest: Path, name: str) -> list[Path]:
    stem, ext = os.path.splitext(name)
    return [dest / name] + [dest / f"{stem} ({n}){ext}" for n in range(2, 10_000)]


_NUMBERED = re.compile(r"(.*) \((\d+)\)")


class Taken:
    """The names in the destination, by the name they vary (``a (3).jpg`` under ``a.jpg``):
    listed once, so that each match is compared with every earlier copy of its name, however
    numbered, before a new copy is made (a user may have moved ``a.jpg`` away and left
    ``a (2).jpg``, the same bytes)."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.names: dict[str, list[str]] = {}
        self._sizes: dict[int, list[str]] | None = None  # listed when first asked
        self.placed: set[str] = set()  # the names this run placed
        try:
            listed = os.listdir(dest)
        except OSError:
            listed = []
        for name in listed:
            self.add(name)

    def add(self, name: str, size: int | None = None) -> None:
        """Note ``name`` as taken; with its ``size``, as placed by this run."""
        self.names.setdefault(_unnumbered(name), []).append(name)
        if size is not None:
            self.placed.add(name)
        if self._sizes is not None and size is not None:
            self._sizes.setdefault(size, []).append(name)

    def of_size(self, size: int) -> list[Path]:
        """The destination's regular files of ``size`` bytes, under any name: a photo renamed
        or moved since it was gathered, or an identical copy of one, is there already."""
        if self._sizes is None:
            self._sizes = {}
            for names in self.names.values():
                for name in names:
                    try:
                        st = os.lstat(self.dest / name)
                    except OSError:
                        continue
                    if stat.S_ISREG(st.st_mode):
                        self._sizes.setdefault(st.st_size, []).append(name)
        return [self.dest / n for n in sorted(self._sizes.get(size, []))]

    def variants(self, name: str) -> list[Path]:
        """The destination's files named ``name`` or a numbered variant of it (for a name that
        is numbered itself, ``photo (1).jpg``, its own variants are filed under ``photo.jpg``)."""
        keys = {name, _unnumbered(name)}
        found = {
            n for k in keys for n in self.names.get(k, []) if n == name or _unnumbered(n) == name
        }
        return [self.dest / n for n in sorted(found)]


def _unnumbered(name: str) -> str:
    """``a.jpg`` for ``a (3).jpg``: the name a numbered copy varies."""
    stem, ext = os.path.splitext(name)
    numbered = _NUMBERED.fullmatch(stem)
    return (numbered.group(1) if numbered else stem) + ext


def free(path: Path) -> bool:
    """Neither the file nor its sidecar name is taken (a dangling link counts as taken)."""
    return not os.path.lexists(path) and not os.path.lexists(f"{path}.xmp")


def hard_links(dest: Path) -> dict[tuple[int, int], Path]:
    """The regular files in ``dest`` with another name somewhere (a link count over 1), by
    device and inode: what ``--link-to`` placed there."""
    found: dict[tuple[int, int], Path] = {}
    try:
        with os.scandir(dest) as entries:
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                    found[(st.st_dev, st.st_ino)] = Path(entry.path)
    except OSError:
        return {}
    return found


def linked_from(links: dict[tuple[int, int], Path], path: str) -> Path | None:
    """The file in ``links`` that is ``path`` itself (another name of it), or None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return links.get((st.st_dev, st.st_ino))


def holds_nothing(dest: Path) -> bool:
    """Whether ``dest`` holds nothing but, perhaps, the marker of gathered matches."""
    try:
        return all(p.name == GATHERED_MARKER for p in dest.iterdir())
    except OSError:
        return False


def mark_gathered(dest: Path) -> None:
    """Mark ``dest``, which held nothing before matches were placed in it, as a folder of
    gathered matches (see ``names.GATHERED_MARKER``): a folder that already held the user's own
    photos, or that nothing was placed in, is never marked, so a later scan of a folder above it
    never leaves those out."""
    marker = dest / GATHERED_MARKER
    try:
        if marker.exists():
            return
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_MARKER_TEXT)
    except OSError:  # not marked: a later scan above it finds the copies again, nothing worse
        return


_MARKER_TEXT = (
    "This folder holds the photos 'selfscan find --copy-to' or '--link-to' gathered.\n"
    "A scan of a folder above it leaves it out (each match would be found twice); name this\n"
    "folder on the command line to scan it. Deleting this file makes it an ordinary folder.\n"
)
