"""Identical copies met in one scan: a photo in a phone backup, again in a Takeout export and
again in one of its albums is analysed once, and each copy gets that analysis.

The index already answers for content stored by an earlier scan (``Index.moved``); this covers
the copies of a first scan, and a copy met while the first is still being analysed. Only items
of a size already seen in this scan are fingerprinted here (most photos differ in size), so a
library without copies pays a dictionary lookup per file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .errors import FileError
from .fingerprints import WHOLE_LIMIT, fingerprint_bytes, fingerprint_file
from .types import Analysis, Job
from .workers import Handle


@dataclass(slots=True)  # one per analysed item of the scan
class _Seen:
    """One analysed item of this scan: its job while it runs (to fingerprint it if a copy
    turns up), then the fingerprint its analysis carried."""

    job: Job | None
    handle: Handle | None
    fingerprint: str | None


@dataclass
class Copy:
    """An item whose content is that of a job still running: it takes that job's analysis
    (none when that one failed for a reason that may not hold for this copy: then its own
    ``job`` is run)."""

    job: Job
    analysis: Analysis | None = None


class Copies:
    """The items of one scan, by size, to recognise the copies among them."""

    def __init__(self) -> None:
        self._by_size: dict[int, list[_Seen]] = {}
        self._running: dict[int, tuple[_Seen, list[Copy]]] = {}  # by id of the handle

    def find(self, job: Job) -> tuple[Job, Copy | str | None]:
        """For a job about to be submitted: a ``Copy`` when a job of the same content runs;
        the fingerprint when a finished one had it (the index holds that analysis); else
        None, and the job is to be submitted, then given to ``add``. The job comes back
        carrying its fingerprint when one was taken (its worker need not read it again)."""
        earlier = self._by_size.get(job.size)
        if not earlier or job.size > WHOLE_LIMIT:  # larger: digested by its ends only
            return job, None
        fingerprint = _fingerprint(job)
        if fingerprint is None:
            return job, None
        job = replace(job, fingerprint=fingerprint)
        for seen in earlier:
            if seen.fingerprint is None and seen.job is not None:
                seen.fingerprint = _fingerprint(seen.job)
            if seen.fingerprint != fingerprint:
                continue
            if seen.handle is None:
                return job, fingerprint
            copy = Copy(job)
            self._running[id(seen.handle)][1].append(copy)
            return job, copy
        return job, None

    def add(self, job: Job, handle: Handle) -> None:
        """Remember a submitted job, to recognise its copies."""
        if job.size > WHOLE_LIMIT:
            return
        seen = _Seen(job, handle, job.fingerprint)
        self._by_size.setdefault(job.size, []).append(seen)
        self._running[id(handle)] = (seen, [])

    def finished(self, handle: Handle, analysis: Analysis) -> None:
        """A job's analysis is in: its copies get it, and later ones find it in the index by
        the fingerprint it carries (none when it failed for a reason that may not hold for a
        copy, a file changed during the scan: each copy is then analysed itself)."""
        entry = self._running.pop(id(handle), None)
        if entry is None:
            return
        seen, copies = entry
        if not analysis.transient:  # "changed while it was being scanned": not the copies'
            for copy in copies:
                copy.analysis = analysis
        seen.job = seen.handle = None  # no member's bytes held for the rest of the scan
        # (a damaged file's analysis carries its fingerprint too: its copies are as damaged)
        seen.fingerprint = None if analysis.transient else analysis.fingerprint
        if seen.fingerprint is None:
            self._by_size[handle.job.size].remove(seen)

    def met(self, fingerprint: str | None, size: int) -> bool:
        """Whether this scan met (and analysed) content of this fingerprint and size."""
        return fingerprint is not None and any(
            seen.fingerprint == fingerprint for seen in self._by_size.get(size, ())
        )


def _fingerprint(job: Job) -> str | None:
    if job.fingerprint is not None:
        return job.fingerprint
    if job.data is not None:
        return fingerprint_bytes(job.data)
    if job.fs_path is None:
        return None
    try:
        return fingerprint_file(job.fs_path, job.size)
    except (OSError, FileError):  # gone or changed: its worker says which
        return None
