"""One exception family. The CLI catches ``SelfscanError`` in one place and prints its message."""

from __future__ import annotations

import errno


class SelfscanError(Exception):
    """A problem the user can act on; the message says what to do."""


class ModelError(SelfscanError):
    """Weights missing, corrupt, or of an unknown pack."""


class EnrollError(SelfscanError):
    """A reference photo cannot be used to build a profile."""


class ProfileError(SelfscanError):
    """A profile is missing or unusable."""


class InputError(SelfscanError):
    """Bad arguments: a path that does not exist, a URL, an unknown option value."""


class BusyError(SelfscanError):
    """Another selfscan process is writing the index of the same data dir."""


class StoreError(SelfscanError):
    """selfscan's own data (the index, a profile, the data dir) cannot be read or written."""


class OutputError(SelfscanError):
    """A report the user asked for cannot be written where they asked."""


class FileError(Exception):
    """One item cannot be read or decoded. Becomes ``FileResult(status="error")``, never fatal.

    ``transient``: the failure says nothing about the file's content (no permission, the file
    changing or vanishing, memory, a missing optional decoder), so the index does not remember
    it and the next scan tries the file again."""

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


_SCARCE = {errno.EMFILE: "too many open files", errno.ENFILE: "too many open files",
           errno.ENOMEM: "out of memory", errno.ENOSPC: "no space left on the disk"}  # fmt: skip


def scarce(exc: BaseException) -> FileError | None:
    """A transient ``FileError`` when ``exc`` is the machine running short (open files, memory,
    disk), not the file: such a failure is reported, never remembered as damage."""
    if isinstance(exc, MemoryError):
        return FileError("out of memory while reading this file", transient=True)
    if isinstance(exc, OSError) and exc.errno in _SCARCE:
        what = _SCARCE[exc.errno]
        return FileError(f"not read: {what} (the machine, not the file)", transient=True)
    return None


def short_reason(exc: BaseException) -> str:
    """An exception's message (its type's name when it has none), cut to 160 characters: what
    a per-file reason quotes of a library's error."""
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
