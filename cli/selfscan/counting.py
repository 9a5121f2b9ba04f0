"""The count behind the progress display: how many items a scan will yield, and how many of
them the index probably cannot answer (new or changed), counted in a background thread while the
scan runs, so that the bar starts at once and its ETA counts only the files to analyse.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .index import MODES
from .index_rows import answers, key_of
from .sources import iter_items

if TYPE_CHECKING:
    from .scan import Progress
    from .types import Item


class _Peek:
    """A read-only look at the index from another thread: whether an item's path is stored with
    its size and mtime (an estimate: a row whose stamp changed is still read again)."""

    def __init__(self, path: Path | None, model_id: str, mode: str) -> None:
        self._model, self._mode = model_id, MODES[mode]
        self._db: sqlite3.Connection | None = None
        if path is not None and path.exists():
            try:
                self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            except sqlite3.Error:
                self._db = None

    def known(self, item: Item) -> bool:
        if self._db is None:
            return False
        try:
            row = self._db.execute(
                "SELECT size, mtime_ns, model_id, mode FROM files WHERE path = ?",
                (key_of(item.path),),
            ).fetchone()
        except sqlite3.Error:  # busy or damaged: the scan itself says so; the estimate goes on
            return False
        return row is not None and answers(row, item, self._model, self._mode)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def count(
    paths: list[Path],
    skip: tuple[str, ...],
    progress: Progress,
    stop: threading.Event,
    index_path: Path | None,
    model_id: str,
    mode: str,
) -> None:
    """Set ``progress.total`` and ``progress.to_analyse`` once every item is counted (nothing if
    ``stop`` is set first)."""
    peek = _Peek(index_path, model_id, mode)
    total = new = 0
    try:
        for item in iter_items(paths, with_facts=False, skip=skip):
            if stop.is_set():
                return
            total += 1
            new += item.error is None and not peek.known(item)
    finally:
        peek.close()
    progress.to_analyse = new
    progress.total = total
