"""The pipeline: sources → index check → workers → match. Yields one ``FileResult`` per item.

Items are fed to a pool of worker processes in discovery order and results come back in the same
order. Unchanged items come from the index without being opened. The index is committed in small
batches, so an interrupted scan keeps what it did and the next run resumes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import refuse_url
from .copies import Copies, Copy
from .counting import count
from .devices import resolve_device
from .errors import InputError
from .index import Index
from .match import Thresholds, similarities
from .models import ModelPack
from .reuse import plan_item
from .sources import iter_items
from .types import Analysis, Box, FaceHit, FileResult, Item, Job, Profile
from .walk import Walk
from .workers import Handle, Inline, Pool, interrupts_ignored_by_children

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from .faces import FaceAnalyzer

COMMIT_EVERY = 2.0  # seconds between index commits


@dataclass
class Progress:
    """Live counters handed to the progress callback after every item."""

    done: int = 0
    total: int | None = None  # known once the background count finishes (``counting``)
    to_analyse: int | None = None  # of them, those the index cannot answer (an estimate)
    analysed: int = 0  # analysed by the pool in this scan (copies and index answers apart)
    analysing_since: float | None = None  # when the first job went to the pool
    index_seconds: float = 0.0  # spent on the items the index answered (for the ETA)
    last_result: float = field(default_factory=time.monotonic)
    faces: int = 0
    matches: int = 0
    cached: int = 0  # answered by the index
    copies: int = 0  # copies of content met earlier in this scan, analysed once
    settled: int = 0  # counted as to analyse, answered by content (see ``counting``)
    path_hits: int = 0  # answered by their own row in the index
    counts: dict[str, int] = field(default_factory=dict)
    current: str = ""
    started: float = field(default_factory=time.monotonic)
    store_error: str | None = None  # why the index stopped being written (the disk full)
    walk: Walk = field(default_factory=Walk)  # what the walk left out (sources)


@dataclass(frozen=True)
class ScanOptions:
    """How to scan. ``workers`` <= 1 analyses in this process."""

    mode: str = "default"
    workers: int = 1
    device: str = "auto"
    skip: tuple[str, ...] = ()  # folders not to walk: where --copy-to puts the matches


def check_paths(paths: list[Path]) -> list[Path]:
    """Refuse URLs and missing paths before any work starts."""
    for p in paths:
        text = str(p)
        refuse_url(text)
        try:
            os.lstat(p)
        except (FileNotFoundError, NotADirectoryError):
            raise InputError(f"{text} does not exist") from None
        except OSError:
            pass  # no permission to look: that file's own error, not the whole scan's
    return paths


def to_result(item: Item, analysis: Analysis, refs: np.ndarray, th: Thresholds) -> FileResult:
    """Compare an analysis with the profile's reference embeddings."""
    facts = {**item.facts, **analysis.facts}
    if analysis.error is not None:
        return FileResult(item.path, "error", error=analysis.error, facts=facts)
    base = {
        "width": analysis.width,
        "height": analysis.height,
        "orientation": analysis.orientation,
        "fingerprint": analysis.fingerprint,
    }
    if not analysis.faces:
        return FileResult(item.path, "no_face", facts=facts, **base)
    embedded = [i for i, f in enumerate(analysis.faces) if f.embedding is not None]
    sims: list[float | None] = [None] * len(analysis.faces)
    if embedded:
        matrix = np.stack([analysis.faces[i].embedding for i in embedded])  # type: ignore[misc]
        for i, s in zip(embedded, similarities(matrix, refs), strict=True):
            sims[i] = round(float(s), 4)
    scored = [s for s in sims if s is not None]
    score = max(scored) if scored else None
    hits = tuple(
        FaceHit(_round_box(f.box), round(f.det_score, 4), s, f.time)
        for f, s in zip(analysis.faces, sims, strict=True)
    )
    times = [f.time for f, s in zip(analysis.faces, sims, strict=True) if f.time is not None]
    if times:
        good = sorted(
            {
                f.time
                for f, s in zip(analysis.faces, sims, strict=True)
                if s is not None and s >= th.match and f.time is not None
            }
        )
        facts["appearances"] = good
        if scored:
            best = max(
                (f for f, s in zip(analysis.faces, sims, strict=True) if s == score),
                key=lambda f: f.det_score,
            )
            facts["best_time"] = best.time
    return FileResult(item.path, th.classify(score), score, hits, facts=facts, **base)


def _round_box(box: Box) -> Box:
    x1, y1, x2, y2 = box
    return (round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1))


def scan(
    paths: list[Path],
    profile: Profile,
    pack: ModelPack,
    thresholds: Thresholds,
    index: Index,
    options: ScanOptions | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    analyzer: FaceAnalyzer | None = None,
    progress: Progress | None = None,
) -> Iterator[FileResult]:
    """Scan ``paths`` for ``profile``'s face; yield a result per item, in discovery order.
    ``progress`` (a fresh one if not given) is kept up to date as results are yielded."""
    options = options or ScanOptions()
    check_paths(paths)
    if profile.model_id != pack.model_id:
        raise InputError("the profile was made by another model than the one scanning")
    refs = profile.embeddings
    progress = progress if progress is not None else Progress()
    stop = threading.Event()
    if on_progress is not None:  # the total only matters to a progress display
        counter = (paths, options.skip, progress, stop, index.path, pack.model_id, options.mode)
        threading.Thread(target=count, args=counter, daemon=True).start()

    def start(workers: int | None = None) -> Inline | ProcessPoolExecutor:
        # Only when the first file needs analysing: an unchanged rescan starts no workers, and
        # imports neither the image decoders nor the models' modules.
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        from .analyze import init_worker
        from .faces import FaceAnalyzer

        # A device that cannot run stops the scan here, once; ``auto`` becomes cpu or cuda here,
        # so that the workers need not try CUDA each.
        device = resolve_device(options.device)
        if options.workers <= 1:
            return Inline(analyzer or FaceAnalyzer(pack, device, threads=1))
        # A scan killed outright leaves multiprocessing's resource tracker to clean up after it;
        # what it finds is the pool's own queues, not worth a warning on the user's terminal.
        os.environ.setdefault("PYTHONWARNINGS", "ignore:resource_tracker:UserWarning")
        with interrupts_ignored_by_children():  # multiprocessing's resource tracker starts here
            return ProcessPoolExecutor(
                max_workers=workers or options.workers,
                mp_context=get_context("spawn"),
                initializer=init_worker,
                initargs=(pack.name, str(pack.directory), device, 1),
            )

    window = max(2, 2 * options.workers)
    # Each item with its analysis or what will give it, and where that comes from: "index" (its
    # own row), "content" (the row of the same content elsewhere), "copy" (of an item met
    # earlier in this scan; "stored copy": one the index gave, already stored under its path)
    # or "pool" (analysed now, or an error found on the way).
    pending: deque[tuple[Item, Handle | Copy | Analysis, str]] = deque()
    pool = Pool(start, _run_job)
    copies = Copies()
    seen: set[str] = set()
    # Folders and archives whose rows stay: not read this time, or reached through an earlier
    # path (``Walk.walked_before``).
    failed: list[str] = []
    has_rows = index.stats()["files"] > 0
    last_commit = time.monotonic()

    def finish() -> FileResult:
        nonlocal last_commit
        item, work, source = pending.popleft()
        if isinstance(work, Analysis):
            analysis = work
        elif isinstance(work, Copy):  # its original came first, and is done
            if work.analysis is None:  # the original changed under the scan: this one is read
                work.analysis, source = pool.result(pool.submit(work.job)), "pool"
            analysis = work.analysis
        else:
            analysis = pool.result(work)
            copies.finished(work, analysis)
        if source in ("copy", "pool") and item.error is None and not analysis.transient:
            _store(index, progress, item, analysis, pack.model_id, options.mode)
        result = to_result(item, analysis, refs, thresholds)
        progress.done += 1
        progress.cached += source in ("index", "content")
        progress.copies += source in ("copy", "stored copy")
        progress.analysed += source == "pool" and item.error is None
        progress.settled += source in ("content", "copy", "stored copy")
        now = time.monotonic()
        if source == "index":
            progress.path_hits += 1
            progress.index_seconds += now - progress.last_result
        progress.last_result = now
        progress.faces += result.face_count
        progress.matches += result.status == "match"
        progress.counts[result.status] = progress.counts.get(result.status, 0) + 1
        progress.current = item.path
        if time.monotonic() - last_commit > COMMIT_EVERY and progress.store_error is None:
            try:
                index.commit()
            except sqlite3.OperationalError as exc:
                _stop_storing(index, progress, exc)
            last_commit = time.monotonic()
        if on_progress:
            on_progress(progress)
        return result

    def plan(item: Item) -> tuple[Job | Analysis, str]:
        args = (item, index, pack.model_id, options.mode, has_rows)
        if progress.store_error is None:
            try:
                return plan_item(*args)
            except sqlite3.OperationalError as exc:  # the disk full: the scan goes on
                _stop_storing(index, progress, exc)
        return plan_item(*args, write=False)

    def submit(job: Job) -> tuple[Handle | Copy | Analysis, str]:
        """A job for the pool, unless its content is that of an item of this scan already."""
        job, same = copies.find(job)
        if isinstance(same, Copy):
            return same, "copy"
        if same is not None and progress.store_error is None:
            stored = index.moved(same, job.size, pack.model_id, options.mode)
            if stored is not None:
                return stored.analysis, "copy"
        if progress.analysing_since is None:
            progress.analysing_since = time.monotonic()
            if on_progress:
                on_progress(progress)  # "starting": the models load before the first result
        try:
            handle = pool.submit(job)
        except OSError as exc:  # starting the workers: a pipe each, and their modules' files
            if exc.errno not in (errno.EMFILE, errno.ENFILE):
                raise
            raise InputError(
                f"too many open files to start {options.workers} worker processes (the limit, "
                "'ulimit -n', is too low): raise it, or use --workers 1"
            ) from None
        copies.add(job, handle)
        return handle, "pool"

    try:
        for item in iter_items(paths, skip=options.skip, walk=progress.walk):
            seen.add(item.path)
            if item.error is not None:  # a folder or archive not read this time: keep its rows
                failed.append(item.path)
            work, source = plan(item)
            if isinstance(work, Job):
                pending.append((item, *submit(work)))
            else:
                if source == "content" and copies.met(work.fingerprint, item.size):
                    source = "stored copy"  # of an item of this scan, which the index now holds
                pending.append((item, work, source))
            while len(pending) >= window or (pending and _ready(pool, pending[0][1])):
                yield finish()
        while pending:
            yield finish()
        if progress.store_error is None:
            try:
                index.forget_missing(
                    [os.path.abspath(p) for p in paths], seen, failed + progress.walk.walked_before
                )
            except sqlite3.OperationalError as exc:
                _stop_storing(index, progress, exc)
    except BaseException:  # Ctrl-C, a signal, the consumer gone: nothing more will be read
        pool.stop()
        raise
    finally:
        stop.set()
        if progress.store_error is None:
            try:
                index.commit()
            except sqlite3.OperationalError as exc:  # the last batch: not stored, said
                _stop_storing(index, progress, exc)
        pool.shutdown()


def _store(
    index: Index, progress: Progress, item: Item, analysis: Analysis, model_id: str, mode: str
) -> None:
    """Remember one analysis; when the index cannot be written (its disk full), stop writing
    it and go on scanning: the results still reach the outputs, and what was committed stays."""
    if progress.store_error is not None:
        return
    try:
        index.put(item, analysis, model_id, mode)
    except sqlite3.OperationalError as exc:
        _stop_storing(index, progress, exc)


def _stop_storing(index: Index, progress: Progress, exc: sqlite3.OperationalError) -> None:
    progress.store_error = str(exc)
    with contextlib.suppress(sqlite3.Error):
        index.rollback()


def _run_job() -> Callable[[Job], Analysis]:
    from .analyze import run_job

    return run_job


def _ready(pool: Pool, work: Handle | Copy | Analysis) -> bool:
    return isinstance(work, (Analysis, Copy)) or pool.done(work)
