"""The pool that analyses items: how many worker processes fit (cores, memory), running jobs in
this process instead (``--workers 1``), and stopping the workers at once when a scan ends early.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING

from .types import Analysis, Job

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from .faces import FaceAnalyzer


# What one worker process peaks at, by mode (MiB; measured on 12 MP photos: 177, 376 and 432).
WORKER_MIB = {"quick": 200, "default": 400, "thorough": 450}
# Left for the main process and the rest of the machine when choosing the number of workers.
RESERVE_MIB = 512


def default_workers(mode: str = "default", available_mib: float | None = None) -> int:
    """One worker per core, but no more than the memory available now can hold: a machine
    with many cores and little free memory would otherwise swap or meet the OOM killer."""
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
