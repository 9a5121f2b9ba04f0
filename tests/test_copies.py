"""Identical copies in one scan (a phone backup, a Takeout export and its albums hold the same
photos) are analysed once, on the first scan too."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from concurrent.futures import Future
from pathlib import Path

from selfscan.copies import Copies, Copy
from selfscan.types import Analysis, Job
from selfscan.workers import Handle
from tests.child import selfscan
from tests.test_index import run_find


def _job(data: bytes) -> Job:
    return Job("image", "default", len(data), 0, data=data)


def _running(copies: Copies, job: Job) -> Handle:
    handle = Handle(job, Future())
    copies.add(job, handle)
    return handle


def test_only_the_same_content_is_a_copy() -> None:
    copies = Copies()
    first = _running(copies, _job(b"a" * 1000))
    job, same = copies.find(_job(b"b" * 1000))  # same size, other bytes
    assert same is None and job.fingerprint is not None
    _running(copies, job)
    job, same = copies.find(_job(b"a" * 999))  # another size: not even fingerprinted
    assert same is None and job.fingerprint is None
    job, copy = copies.find(_job(b"a" * 1000))
    assert isinstance(copy, Copy) and copy.analysis is None
    done = Analysis(width=10, height=10, fingerprint=job.fingerprint)
    copies.finished(first, done)
    assert copy.analysis is done
    # Once the first is done, a later copy is told the fingerprint the index has it under.
    assert copies.find(_job(b"a" * 1000))[1] == job.fingerprint


def test_a_failure_that_may_not_hold_for_the_copy_is_not_handed_on() -> None:
    copies = Copies()
    first = _running(copies, _job(b"a" * 1000))
    _, copy = copies.find(_job(b"a" * 1000))
    assert isinstance(copy, Copy)
    copies.finished(
        first, Analysis(error="file changed while it was being scanned", transient=True)
    )
    assert copy.analysis is None  # the copy's own job is run
    assert copies.find(_job(b"a" * 1000))[1] is None  # and later ones are analysed too


def _library_with_copies(samples: dict[str, Path], root: Path) -> Path:
    """players.jpg as a phone backup, a Takeout export and an album hold it: four copies, one
    inside a zip; and two photos without him."""
    lib = root / "photos"
    (lib / "DCIM").mkdir(parents=True)
    (lib / "Takeout" / "Album").mkdir(parents=True)
    shutil.copyfile(samples["players"], lib / "DCIM" / "IMG_0001.jpg")
    shutil.copyfile(samples["players"], lib / "DCIM" / "IMG_0002.jpg")
    shutil.copyfile(samples["players"], lib / "Takeout" / "Album" / "players.jpg")
    shutil.copyfile(samples["gdp"], lib / "DCIM" / "IMG_0003.jpg")
    shutil.copyfile(samples["t1"], lib / "Takeout" / "t1.jpg")
    with zipfile.ZipFile(lib / "holiday.zip", "w") as zf:
        zf.write(samples["players"], "beach.jpg")
    return lib


def test_copies_in_a_first_scan_are_analysed_once(samples: dict[str, Path], tmp_path: Path) -> None:
    lib = _library_with_copies(samples, tmp_path)
    results, progress, analysed = run_find([lib], samples["yaoming"])
    assert analysed == 3 and progress.copies == 3 and progress.cached == 0
    names = ("IMG_0001.jpg", "IMG_0002.jpg", "players.jpg", "beach.jpg")
    assert {(results[n].status, results[n].score, results[n].faces) for n in names} == {
        (
            results["IMG_0001.jpg"].status,
            results["IMG_0001.jpg"].score,
            results["IMG_0001.jpg"].faces,
        )
    }
    assert results["IMG_0001.jpg"].status == "match"
    # Each copy is remembered under its own path: the next scan reads them all from the index.
    _, progress, analysed = run_find([lib], samples["yaoming"])
    assert analysed == 0 and progress.cached == 6 and progress.copies == 0


def test_copies_met_while_the_first_is_analysed_wait_for_it(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """With a pool of workers, the copies arrive while the first is still being analysed."""
    lib = _library_with_copies(samples, tmp_path)
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    args = ("find", lib, "--me", samples["yaoming"], "--workers", "2", "--format", "json")
    done = selfscan(*args, env=env)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["summary"]["copies"] == 3 and doc["summary"]["counts"]["match"] == 4
    scores = {r["path"].rsplit("/", 1)[-1]: r["score"] for r in doc["results"]}
    assert scores["IMG_0002.jpg"] == scores["players.jpg"] == scores["IMG_0001.jpg"]
    assert scores["beach.jpg"] == scores["IMG_0001.jpg"]
    again = json.loads(selfscan(*args, env=env).stdout)["summary"]
    assert again["cached"] == 6 and again["copies"] == 0


def test_copies_of_a_damaged_file_and_copies_on_a_rescan_are_counted_alike(
    samples: dict[str, Path], library: Path
) -> None:
    """A damaged file copied three times was analysed again for each copy when the first had
    finished (one worker), and waited for it when it had not (two): the count of copies
    depended on the workers. On a scan of an indexed library, a new file's copy came from the
    index and was counted as answered by it, not as a copy."""
    run_find([library], samples["yaoming"])
    damaged = samples["players"].read_bytes()[:20000]
    for name in ("cut1.jpg", "cut2.jpg", "cut3.jpg"):
        (library / name).write_bytes(damaged)
    # (padded: players.jpg itself is in the index already)
    (library / "new1.jpg").write_bytes(samples["players"].read_bytes() + b"\0")
    shutil.copyfile(library / "new1.jpg", library / "new2.jpg")
    results, progress, analysed = run_find([library], samples["yaoming"])
    assert analysed == 2 and progress.copies == 3 and progress.cached == 3
    assert {results[n].error for n in ("cut1.jpg", "cut2.jpg", "cut3.jpg")} == {
        results["cut1.jpg"].error
    } and results["cut1.jpg"].status == "error"
    assert results["new2.jpg"].score == results["new1.jpg"].score
