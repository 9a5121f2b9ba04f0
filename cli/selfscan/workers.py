"""The pool that analyses items: how many worker processes fit (cores, memory), running jobs in
this process instead (``--workers 1``), and stopping the workers at once when a scan ends early.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from .errors import InputError
from .types import Analysis, Job

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from .faces import FaceAnalyzer


# What one worker process peaks at, by mode (MiB; measured on 12 MP photos: 177, 376 and 432).
WORKER_MIB = {"quick": 200, "default": 400, "thorough": 450}
# Left for the main process and the rest of the machine when choosing the number of workers.
RESERVE_MIB = 512


# Below this address-space limit (``ulimit -v``) the models' libraries cannot even load: importing
# OpenCV crashed at about 450 MiB, onnxruntime failed to allocate at 600 MiB.
MIN_ADDRESS_SPACE_MIB = 1024


def address_space_mib() -> float | None:
    """This process's address-space limit (``ulimit -v``) in MiB, None when there is none."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (ImportError, AttributeError, OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY or soft <= 0 else soft / 2**20


def check_address_space() -> None:
    """An ``InputError`` when ``ulimit -v`` leaves too little to load the models (a crash, not
    a message, otherwise)."""
    limit = address_space_mib()
    if limit is not None and limit < MIN_ADDRESS_SPACE_MIB:
        raise InputError(
            f"the memory limit of this shell (ulimit -v: {limit:.0f} MiB) is too low to load "
            f"the face models, which need about {MIN_ADDRESS_SPACE_MIB} MiB: raise it "
            "('ulimit -v unlimited')"
        )


def default_workers(mode: str = "default", available_mib: float | None = None) -> int:
    """One worker per core, but no more than the memory available now can hold: a machine
    with many cores and little free memory would otherwise swap or meet the OOM killer. Under
    an address-space limit (``ulimit -v``) of less than 2 GiB, one: a worker's models and
    buffers then fail to allocate, where one process scanning alone does not."""
    limit = address_space_mib()
    if limit is not None and limit < 2 * MIN_ADDRESS_SPACE_MIB:
        return 1
    cores = cpu_cores()
    if available_mib is None:
        available_mib = available_memory_mib()
    if available_mib is None:
        return cores
    fits = int((available_mib - RESERVE_MIB) // WORKER_MIB.get(mode, WORKER_MIB["default"]))
    return max(1, min(cores, fits))


def cpu_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def available_memory_mib() -> float | None:
    """Memory the system can give without swapping (Linux: MemAvailable), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (AttributeError, ValueError, OSError):
        return None


class Inline:
    """Runs jobs in this process, with the same interface as the process pool."""

    def __init__(self, analyzer: FaceAnalyzer) -> None:
        from .analyze import set_analyzer

        set_analyzer(analyzer)

    def submit(self, fn: Callable[[Job], Analysis], job: Job) -> Future[Analysis]:
        fut: Future[Analysis] = Future()
        fut.set_result(fn(job))
        return fut

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        return None


def stop_workers(executor: Inline | ProcessPoolExecutor) -> None:
    """End the worker processes now, in the middle of their files (they only read), and wait
    for the pool to notice: otherwise Python waits at exit for each worker to finish its file
    (a second Ctrl-C during that wait left the scan hanging on its workers), and its exit-time
    wake-up of the pool could race the pool closing itself ("Bad file descriptor")."""
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            process.terminate()
    with contextlib.suppress(Exception):
        executor.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def interrupts_ignored_by_children() -> Iterator[None]:
    """Ctrl-C ignored while worker processes are started (a pool starts them on its first job),
    so that they are born ignoring it: the terminal sends Ctrl-C to every process of the scan,
    and a worker still importing its modules printed a traceback of its own. The scan itself
    stops its workers when it is interrupted. Outside the main thread, nothing changes."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


WORKER_DIED = (
    "not analysed: the process analysing it ended abruptly, every time it was tried (out of "
    "memory?); the next scan tries it again"
)

Executor = Union["Inline", "ProcessPoolExecutor"]


@dataclass
class Handle:
    """A job given to a ``Pool``: its current future, how often it was lost, in which pool."""

    job: Job
    future: Future[Analysis]
    tries: int = 0
    pool: int = 0


class Pool:
    """Where a scan's jobs are analysed: an executor made by ``start(workers)`` on the first job
    (an unchanged rescan starts none).

    A worker that dies (the OOM killer, a crash in a decoder) breaks its pool and every job in
    it: a new pool takes the lost jobs again, once; a job lost again is tried alone, in a pool
    of its own, so that the jobs that happened to run beside the culprit get their results;
    lost alone, it is an error of its own (``WORKER_DIED``, not stored: the next scan tries it
    again). A pool's first job starts its workers with Ctrl-C ignored, so that they are born
    ignoring it (see ``interrupts_ignored_by_children``)."""

    def __init__(
        self,
        start: Callable[[int | None], Executor],
        runner: Callable[[], Callable[[Job], Analysis]],
    ) -> None:
        # ``runner`` gives the function a job runs, at the first job: an unchanged rescan
        # imports neither the decoders nor the models.
        self._start, self._runner = start, runner
        self._executor: Executor | None = None
        self._fresh = False  # its workers not started yet
        self._number = 0  # pools started: one that broke is never used again
        self._open: list[Handle] = []  # handles whose result has not been taken

    def submit(self, job: Job) -> Handle:
        handle = Handle(job, self._submit(job), 0, self._number)
        self._open.append(handle)
        return handle

    def done(self, handle: Handle) -> bool:
        return handle.future.done()

    def result(self, handle: Handle) -> Analysis:
        """The analysis of ``handle``'s job, once done (see the class for a pool that broke)."""
        while True:
            try:
                analysis = handle.future.result()
            except BrokenExecutor:
                if handle.tries >= 1:  # lost a second time: alone, and the others go on
                    self._open.remove(handle)
                    if handle.pool == self._number:
                        self._restart()
                    return self._alone(handle.job)
                if handle.pool == self._number:
                    self._restart()  # takes this job again, with the others lost with it
                else:
                    self._again(handle)
                continue
            self._open.remove(handle)
            return analysis

    def stop(self) -> None:
        """End the workers now (a scan ended early): see ``stop_workers``."""
        if self._executor is not None:
            stop_workers(self._executor)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _submit(self, job: Job) -> Future[Analysis]:
        if self._executor is None:
            self._executor, self._fresh = self._start(None), True
        try:
            return self._first_or_next(self._executor, job)
        except BrokenExecutor:  # it broke since the last result: a new one
            self._restart()
            return self._first_or_next(self._executor, job)

    def _first_or_next(self, executor: Executor, job: Job) -> Future[Analysis]:
        if executor is not self._executor or self._fresh:
            with interrupts_ignored_by_children():
                future = executor.submit(self._runner(), job)
            if executor is self._executor:
                self._fresh = False
            return future
        return executor.submit(self._runner(), job)

    def _restart(self) -> None:
        self.stop()
        self._executor, self._fresh = self._start(None), True
        self._number += 1
        for handle in self._open:
            lost = not handle.future.done() or isinstance(handle.future.exception(), BrokenExecutor)
            if lost and handle.pool < self._number:
                self._again(handle)

    def _again(self, handle: Handle) -> None:
        handle.future = self._submit(handle.job)
        handle.tries += 1
        handle.pool = self._number

    def _alone(self, job: Job) -> Analysis:
        single = self._start(1)
        try:
            return self._first_or_next(single, job).result()
        except BrokenExecutor:
            return Analysis(error=WORKER_DIED, transient=True)
        finally:
            stop_workers(single)
