"""The index: unchanged files skipped, changed rescanned, moved found by content, deleted
forgotten, another profile matched without detection, and a kill -9 survived."""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import tarfile
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfscan import analyze, erase, ops
from selfscan import scan as scan_module
from selfscan.errors import BusyError
from selfscan.faces import FaceAnalyzer
from selfscan.index import Index, index_path
from selfscan.organise import organise
from selfscan.scan import Progress
from selfscan.sources import iter_items
from selfscan.types import Analysis, Face, FileResult, Item, Job
from selfscan.workers import WORKER_DIED
from tests import imagegen
from tests.child import command, selfscan


def run_find(paths: list[Path], me: Path) -> tuple[dict[str, FileResult], Progress, int]:
    """Scan in-process; returns results by name, final progress, and how many items were
    analysed (decoded and run through the models)."""
    calls = 0
    real = analyze.run_job

    def counting(job: object) -> object:
        nonlocal calls
        calls += 1
        return real(job)  # type: ignore[arg-type]

    progress: list[Progress] = []
    analyze.run_job = counting  # type: ignore[assignment]
    try:
        session = ops.prepare_find(ops.FindRequest(paths=paths, me=[me], workers=1))
        results = {Path(r.path).name: r for r in session.results(progress.append)}
        session.close()
    finally:
        analyze.run_job = real
    return results, progress[-1], calls


def test_rescan_uses_the_index(samples: dict[str, Path], library: Path) -> None:
    first, _, analysed = run_find([library], samples["yaoming"])
    assert analysed == 3
    again, progress, analysed = run_find([library], samples["yaoming"])
    assert analysed == 0 and progress.cached == 3
    assert {k: (v.status, v.score) for k, v in again.items()} == {
        k: (v.status, v.score) for k, v in first.items()
    }


def _same_size_and_time(path: Path, data: bytes, size: int, mtime_ns: int) -> None:
    """Write ``data`` to ``path`` padded to ``size`` bytes, then put back the old mtime: what an
    editor that keeps timestamps (exiftool -P), a restore or a swap leaves."""
    assert len(data) <= size
    path.write_bytes(data + b"\0" * (size - len(data)))
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_content_changed_under_the_same_size_and_mtime_is_noticed(
    samples: dict[str, Path], tmp_path: Path
) -> None:
    """Swapping two photos of one size and mtime, or turning one by its EXIF orientation tag
    while keeping its mtime, gave the old results for ever (path, size and mtime matched); a
    chmod, which changes the ctime too, still reuses the index after one fingerprint read."""
    lib = tmp_path / "lib"
    lib.mkdir()
    him, others = samples["yaoming"].read_bytes(), samples["t1"].read_bytes()
    size = max(len(him), len(others)) + 1000
    when = 1_600_000_000 * 10**9
    _same_size_and_time(lib / "a.jpg", him, size, when)
    _same_size_and_time(lib / "b.jpg", others, size, when)
    first, _, analysed = run_find([lib], samples["yaoming"])
    assert analysed == 2 and first["a.jpg"].status == "match"
    assert first["b.jpg"].status == "no_match"
    os.chmod(lib / "a.jpg", 0o600)
    _, progress, analysed = run_find([lib], samples["yaoming"])
    assert analysed == 0 and progress.cached == 2
    _same_size_and_time(lib / "a.jpg", others, size, when)  # the swap
    _same_size_and_time(lib / "b.jpg", him, size, when)
    swapped, progress, analysed = run_find([lib], samples["yaoming"])
    # Each now holds what the other held: a.jpg finds b.jpg's analysis by its content; a.jpg's
    # own row is then a.jpg's new one, so b.jpg is analysed.
    assert analysed == 1 and progress.cached == 1
    assert (swapped["a.jpg"].status, swapped["b.jpg"].status) == ("no_match", "match")
    turned = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.open(samples["yaoming"]).save(turned, "JPEG", quality=95, exif=exif.tobytes())
    _same_size_and_time(lib / "b.jpg", turned.getvalue(), size, when)
    again, _, analysed = run_find([lib], samples["yaoming"])
    assert analysed == 1 and again["b.jpg"].orientation == 6
    assert (again["b.jpg"].width, again["b.jpg"].height) == (
        swapped["b.jpg"].height,
        swapped["b.jpg"].width,
    )


def test_an_edit_between_the_ends_of_a_file_is_noticed(
    samples: dict[str, Path], tmp_path: Path
) -> None:
    """An uncompressed photo edited in its middle, its first and last 64 KiB and its mtime
    kept (a retouch in place, an editor that keeps timestamps), was taken for unchanged; and a
    new file with a deleted one's size and ends was given the deleted file's results. The
    whole content decides now."""
    lib = tmp_path / "lib"
    lib.mkdir()
    size = (1200, 800)
    others = Image.open(samples["t1"]).convert("RGB").resize(size)
    him = Image.open(samples["players"]).convert("RGB").resize(size)
    others.save(lib / "photo.bmp")
    him.save(tmp_path / "edited.bmp")
    old, new = (lib / "photo.bmp").read_bytes(), (tmp_path / "edited.bmp").read_bytes()
    assert len(old) == len(new) > 3 * 65536
    spliced = old[:65536] + new[65536:-65536] + old[-65536:]
    when = (lib / "photo.bmp").stat().st_mtime_ns
    first, _, _ = run_find([lib], samples["yaoming"])
    assert first["photo.bmp"].status == "no_match"
    _same_size_and_time(lib / "photo.bmp", spliced, len(old), when)
    edited, _, analysed = run_find([lib], samples["yaoming"])
    assert analysed == 1 and edited["photo.bmp"].status == "match"
    (lib / "photo.bmp").rename(tmp_path / "kept.bmp")  # out of the library
    _same_size_and_time(lib / "other.bmp", old, len(old), when)
    run_find([lib], samples["yaoming"])  # the original back under another name: a move
    (lib / "other.bmp").unlink()
    _same_size_and_time(lib / "third.bmp", spliced, len(old), when)
    third, _, analysed = run_find([lib], samples["yaoming"])
    assert analysed == 1 and third["third.bmp"].status == "match"


def test_a_zip_member_changed_under_the_same_size_and_date_is_noticed(
    samples: dict[str, Path], tmp_path: Path
) -> None:
    """A zip member's CRC-32 is in the archive's directory: a member replaced by another of
    the same size and date (tools that write fixed dates) is analysed again."""
    him, others = samples["yaoming"].read_bytes(), samples["t1"].read_bytes()
    size = max(len(him), len(others)) + 1000
    archive = tmp_path / "lib" / "export.zip"
    archive.parent.mkdir()

    def write(member: bytes) -> None:
        with zipfile.ZipFile(archive, "w") as zf:
            info = zipfile.ZipInfo("Photos/a.jpg", date_time=(2021, 5, 5, 10, 0, 0))
            zf.writestr(info, member + b"\0" * (size - len(member)))

    write(him)
    first, _, analysed = run_find([archive.parent], samples["yaoming"])
    assert analysed == 1 and first["a.jpg"].status == "match"
    _, progress, analysed = run_find([archive.parent], samples["yaoming"])
    assert analysed == 0 and progress.cached == 1
    write(others)
    again, _, analysed = run_find([archive.parent], samples["yaoming"])
    assert analysed == 1 and again["a.jpg"].status == "no_match"


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz"])
def test_a_tar_member_changed_under_the_same_size_and_date_is_noticed(
    samples: dict[str, Path], tmp_path: Path, suffix: str
) -> None:
    """A tar lists no checksum per member: two members of one size and date swapped kept
    each other's results (and --copy-to copied a stranger as a photo of you). A member takes
    its archive's identity as its stamp; when the archive changed, its content is compared."""
    him, others = samples["yaoming"].read_bytes(), samples["t1"].read_bytes()
    size = max(len(him), len(others)) + 1000
    archive = tmp_path / "lib" / f"export{suffix}"
    archive.parent.mkdir()

    def write(a: bytes, b: bytes) -> None:
        with tarfile.open(archive, "w:gz" if suffix == ".tar.gz" else "w") as tf:
            for name, member in (("a.jpg", a), ("b.jpg", b)):
                info = tarfile.TarInfo(f"Photos/{name}")
                info.size, info.mtime = size, 1_600_000_000
                tf.addfile(info, io.BytesIO(member + b"\0" * (size - len(member))))

    write(him, others)
    first, _, analysed = run_find([archive.parent], samples["yaoming"])
    assert analysed == 2 and first["a.jpg"].status == "match"
    _, progress, analysed = run_find([archive.parent], samples["yaoming"])
    assert analysed == 0 and progress.cached == 2
    write(others, him)  # swapped
    again, _, _ = run_find([archive.parent], samples["yaoming"])
    assert (again["a.jpg"].status, again["b.jpg"].status) == ("no_match", "match")
    os.utime(archive)  # the archive touched, its members the same: compared, reused
    _, progress, analysed = run_find([archive.parent], samples["yaoming"])
    assert analysed == 0 and progress.cached == 2


@pytest.mark.parametrize("suffix", [".zip", ".tar"])
def test_members_of_one_name_are_each_scanned_and_located(
    samples: dict[str, Path], tmp_path: Path, suffix: str
) -> None:
    """An archive may hold two members of one name (a tar appended to, a zip written twice).
    They shared one path and index row: one result was lost, both were analysed again on every
    rescan, and a copy of the match could be the other member's bytes."""
    stranger, him = samples["t1"].read_bytes(), samples["yaoming"].read_bytes()
    others = samples["gdp"].read_bytes()
    archive = tmp_path / "lib" / f"photos{suffix}"
    archive.parent.mkdir()
    # a member named like the second's path too: the paths must still tell all three apart
    # (names without an extension: each is read as what its first bytes say)
    members = (("DCIM/IMG", stranger), ("DCIM/IMG#2", others), ("DCIM/IMG", him))
    if suffix == ".zip":
        with zipfile.ZipFile(archive, "w") as zf, pytest.warns(UserWarning, match="Duplicate"):
            for name, member in members:
                zf.writestr(name, member)
    else:
        with tarfile.open(archive, "w") as tf:
            for name, member in members:
                info = tarfile.TarInfo(name)
                info.size = len(member)
                tf.addfile(info, io.BytesIO(member))
    first, _, analysed = run_find([archive.parent], samples["yaoming"])
    assert analysed == 3
    assert {n: r.status for n, r in first.items()} == {
        "IMG": "no_match",
        "IMG#2#1": "no_match",
        "IMG#2": "match",
    }
    assert first["IMG#2"].path == f"{archive}!/DCIM/IMG#2"
    _, progress, analysed = run_find([archive.parent], samples["yaoming"])
    assert analysed == 0 and progress.cached == 3
    placed = organise(list(first.values()), tmp_path / "me")
    assert [p.dest.name for p in placed] == ["IMG"]
    assert placed[0].dest.read_bytes() == him


def test_a_file_dated_after_2262_is_scanned_and_remembered(
    samples: dict[str, Path], tmp_path: Path
) -> None:
    """Nanoseconds after 2262 do not fit SQLite's 64 bits: a photo dated 2300 (a wrong clock)
    or a tar member dated so (a hostile archive) stopped every scan of its folder."""
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copyfile(samples["players"], lib / "future.jpg")
    later = 10**10  # seconds: the year 2286
    os.utime(lib / "future.jpg", (later, later))
    with tarfile.open(lib / "a.tar", "w", format=tarfile.GNU_FORMAT) as tf:
        info = tf.gettarinfo(str(samples["gdp"]), "old.jpg")
        info.mtime = later
        with samples["gdp"].open("rb") as fh:
            tf.addfile(info, fh)
    first, _, analysed = run_find([lib], samples["yaoming"])
    assert analysed == 2
    assert (first["future.jpg"].status, first["old.jpg"].status) == ("match", "no_match")
    _, progress, analysed = run_find([lib], samples["yaoming"])
    assert analysed == 0 and progress.cached == 2


def test_unchanged_rescan_starts_no_workers(
    samples: dict[str, Path], library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_find([library], samples["yaoming"])

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a worker pool was started for an unchanged library")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    session = ops.prepare_find(ops.FindRequest(paths=[library], me=[samples["yaoming"]], workers=2))
    statuses = sorted(r.status for r in session.results(lambda _: None))
    session.close()
    assert statuses == ["match", "no_match", "no_match"]


def test_transient_errors_are_retried_and_content_errors_remembered(
    samples: dict[str, Path], library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read error (or no permission, low memory, the file changing) says nothing about the
    file, so the next scan tries it again; a damaged file stays known as damaged."""

    (library / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a JPEG")
    real = analyze._analyse

    def flaky(source: object, job: object) -> object:
        if str(source).endswith("players.jpg"):
            raise OSError(5, "Input/output error")
        return real(source, job)  # type: ignore[arg-type]

    monkeypatch.setattr(analyze, "_analyse", flaky)
    first, _, analysed = run_find([library], samples["yaoming"])
    assert analysed == 4
    assert first["players.jpg"].status == "error"
    assert first["players.jpg"].error == "cannot read: input/output error"
    assert first["broken.jpg"].status == "error"
    monkeypatch.setattr(analyze, "_analyse", real)
    again, progress, analysed = run_find([library], samples["yaoming"])
    assert analysed == 1 and progress.cached == 3  # only players.jpg is read again
    assert again["players.jpg"].status == "match"
    assert again["broken.jpg"].error == first["broken.jpg"].error


def test_one_scan_at_a_time_per_data_dir(samples: dict[str, Path], library: Path) -> None:
    """A second scan with the same index is refused at once, naming the first, and the index
    cannot be forgotten under it; --no-store scans still run; the lock goes with the scan."""
    request = ops.FindRequest(paths=[library], me=[samples["yaoming"]], workers=1)
    first = ops.prepare_find(request)
    try:
        with pytest.raises(BusyError, match=rf"another selfscan \(pid {os.getpid()}\)"):
            ops.prepare_find(request)
        with pytest.raises(BusyError, match="before forgetting the index"):
            erase.forget(index=True)
        alone = ops.prepare_find(replace(request, store=False))
        assert len(list(alone.results(lambda _: None))) == 3
        alone.close()
        assert len(list(first.results(lambda _: None))) == 3
    finally:
        first.close()
    second = ops.prepare_find(request)
    assert {r.status for r in second.results(lambda _: None)} == {"match", "no_match"}
    second.close()
    removed = {Path(r.path).name for r in erase.forget(index=True)}
    assert {"index.sqlite", "index.lock"} <= removed and not index_path().exists()


def test_changed_moved_and_deleted_files(samples: dict[str, Path], library: Path) -> None:
    run_find([library], samples["yaoming"])
    imagegen.recompressed(samples["gdp"], library / "gdp.jpg", 60)  # changed
    (library / "players.jpg").rename(library / "team.jpg")  # moved
    (library / "t1.jpg").unlink()  # deleted
    results, _, analysed = run_find([library], samples["yaoming"])
    assert analysed == 1  # only the changed file was decoded again
    assert set(results) == {"gdp.jpg", "team.jpg"}
    assert results["team.jpg"].status == "match"
    db = Index(index_path())
    paths = sorted(Path(p).name for p in db.iter_paths())
    db.close()
    assert paths == ["gdp.jpg", "team.jpg"]


def test_a_moved_archive_and_extracted_members_need_no_detection(
    samples: dict[str, Path], tmp_path: Path
) -> None:
    """Moving a Takeout zip to another folder, or extracting it and deleting the zip, analysed
    every member again (moved files were recognised, archive members were not)."""
    lib = tmp_path / "lib"
    (lib / "new").mkdir(parents=True)
    archive = lib / "new" / "takeout-001.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("players", "gdp", "t1"):
            zf.write(samples[name], f"Photos/{name}.jpg")
    first, _, analysed = run_find([lib], samples["yaoming"])
    assert analysed == 3 and first["players.jpg"].status == "match"
    (lib / "archive").mkdir()
    archive = archive.rename(lib / "archive" / "takeout-001.zip")
    moved, progress, analysed = run_find([lib], samples["yaoming"])
    assert analysed == 0 and progress.cached == 3
    assert {k: v.status for k, v in moved.items()} == {k: v.status for k, v in first.items()}
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(lib / "extracted")
    archive.unlink()
    extracted, progress, analysed = run_find([lib], samples["yaoming"])
    assert analysed == 0 and progress.cached == 3
    assert extracted["players.jpg"].status == "match"
    db = Index(index_path())
    paths = sorted(db.iter_paths())
    db.close()
    assert paths == sorted(str(p) for p in (lib / "extracted" / "Photos").iterdir())


def test_another_profile_needs_no_detection(
    samples: dict[str, Path], library: Path, tmp_path: Path
) -> None:
    run_find([library], samples["yaoming"])
    # someone from gdp.jpg as the profile: a face crop of the largest face there
    from PIL import Image

    from selfscan.faces import FaceAnalyzer
    from selfscan.images import decode
    from selfscan.models import load_pack

    faces = FaceAnalyzer(load_pack()).detect(decode(samples["gdp"], 1280))
    x1, y1, x2, y2 = max(faces, key=lambda f: f.height).box
    pad = (x2 - x1) * 0.6
    crop = Image.open(samples["gdp"]).crop(
        (int(x1 - pad), int(y1 - pad), int(x2 + pad), int(y2 + pad))
    )
    crop = crop.resize((crop.width * 2, crop.height * 2))
    me = tmp_path / "other.jpg"
    crop.save(me, quality=95)
    results, progress, analysed = run_find([library], me)
    assert analysed == 0 and progress.cached == 3
    assert results["gdp.jpg"].status == "match"
    assert results["players.jpg"].status == "no_match"


def _find_many(samples: dict[str, Path], tmp_path: Path, *options: str) -> list[str]:
    """The ``selfscan find`` command line for a new folder of 40 photos (two kinds, each file
    made distinct by padding after its end, so that none is an identical copy analysed once)."""
    lib = tmp_path / "many"
    lib.mkdir()
    for i in range(40):
        imagegen.distinct_copy(samples["gdp" if i % 2 else "t1"], lib / f"p{i:03d}.jpg", i + 1)
    return command("find", "--me", samples["yaoming"], lib, *options, "--no-progress")


def _processes_under(pid: int) -> list[str]:
    """Every process whose parent is ``pid``, with its command line: what a failure shows."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(f"{entry.name}: {line[:200]!r}")
    return found


def _worker_pids(pid: int) -> list[int]:
    """The pool's worker processes under ``pid`` (not multiprocessing's resource tracker), by
    their parent in /proc/*/stat (the kernel's "children" lists are not reliable)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        # (a worker's command line may name the resource tracker too: in a -W option)
        if parent == pid and b"spawn_main" in line and b"resource_tracker import" not in line:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
def test_a_worker_killed_mid_scan_does_not_end_the_scan(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """A worker process that dies (the OOM killer, a crash in a decoder) ended the scan with an
    internal error and no report. Its jobs now go to a new pool and the scan goes on."""
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    cmd = _find_many(samples, tmp_path, "--format", "jsonl", "--workers", "2")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    workers = _worker_pids(proc.pid)
    assert workers, (first[:200], _processes_under(proc.pid))
    os.kill(workers[0], signal.SIGKILL)
    rest = proc.stdout.read()  # (communicate() would skip what readline() buffered)
    err = proc.stderr.read()
    assert proc.wait(timeout=600) == 0, err
    records = [json.loads(line) for line in (first + rest).splitlines()]
    assert len(records) == 40 and {r["status"] for r in records} == {"no_match"}, err


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux's /proc")
def test_workers_are_born_ignoring_ctrl_c(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """The terminal sends Ctrl-C to every process of the scan: a worker still importing its
    modules printed a traceback of its own. Workers start with it ignored (the scan stops them
    itself when it is interrupted)."""
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    cmd = _find_many(samples, tmp_path, "--format", "jsonl", "--workers", "2")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        proc.stdout.readline()
        workers = _worker_pids(proc.pid)
        assert workers, _processes_under(proc.pid)
        for pid in workers:
            status = Path(f"/proc/{pid}/status").read_text()
            ignored = int(
                next(x for x in status.splitlines() if x.startswith("SigIgn:")).split()[1], 16
            )
            assert ignored & (1 << (signal.SIGINT - 1)), status
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=300)
    assert proc.returncode == 130


def _dies_on_bombs(job: Job) -> Analysis:
    """A worker's job that ends its process on a file named ``bomb*`` (as the OOM killer
    would), and analyses any other."""
    if job.fs_path is not None and Path(job.fs_path).name.startswith("bomb"):
        os._exit(9)
    return analyze.run_job(job)


def test_a_file_that_kills_its_worker_twice_is_an_error_of_its_own(
    samples: dict[str, Path], tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one file whose analysis ends its process every time becomes an error, not stored
    (the next scan tries it again); the files analysed beside it get their results."""
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(6):
        imagegen.distinct_copy(samples["players" if i % 2 else "gdp"], lib / f"p{i}.jpg", i + 1)
    shutil.copyfile(samples["players"], lib / "bomb.jpg")
    monkeypatch.setattr(scan_module, "_run_job", lambda: _dies_on_bombs)
    session = ops.prepare_find(ops.FindRequest(paths=[lib], me=[samples["yaoming"]], workers=2))
    results = {Path(r.path).name: r for r in session.results()}
    session.close()
    assert results.pop("bomb.jpg").error == WORKER_DIED
    assert {n: r.status for n, r in results.items()} == {
        f"p{i}.jpg": "match" if i % 2 else "no_match" for i in range(6)
    }
    index = Index(index_path())
    assert index.stats()["files"] == 6  # the bomb is not remembered
    index.close()


def test_kill_minus_9_loses_at_most_the_batch_in_flight(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    cmd = _find_many(samples, tmp_path, "--format", "jsonl", "--workers", "1")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db_file = home / "index.sqlite"
    committed = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if db_file.exists():
            try:
                with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as db:
                    committed = db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
            except sqlite3.Error:
                continue
            if committed >= 5:
                break
    assert proc.poll() is None, "the scan finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db_file) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    assert 5 <= kept < 40
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 40 and len({r["path"] for r in records}) == 40
    with sqlite3.connect(db_file) as db:
        assert db.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 40
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        dupes = db.execute(
            "SELECT COUNT(*) FROM (SELECT path FROM files GROUP BY path HAVING COUNT(*) > 1)"
        ).fetchone()[0]
    assert dupes == 0


def _descendants(pid: int) -> set[int]:
    """The processes under ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _gone(pids: set[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{p}").exists() for p in pids):
            return True
        time.sleep(0.2)
    return False


def _scan_until_indexed(cmd: list[str], env: dict[str, str], home: Path) -> subprocess.Popen:
    """Start ``cmd`` and return once its index holds 3 files."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db_file = home / "index.sqlite"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as db:
                if db.execute("SELECT COUNT(*) FROM files").fetchone()[0] >= 3:
                    break
        except sqlite3.Error:
            continue
    assert proc.poll() is None, "the scan finished before it could be stopped"
    return proc


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize(
    ("signum", "status"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
    ids=["ctrl-c", "term", "hup"],
)
def test_a_stopped_scan_keeps_the_work_and_its_workers_exit(
    samples: dict[str, Path], tmp_path: Path, home: Path, signum: int, status: int
) -> None:
    """Ctrl-C, ``kill`` and a closed terminal stop a scan the same way: a summary, the work kept,
    the lock released and no worker left behind."""
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    proc = _scan_until_indexed(_find_many(samples, tmp_path, "--workers", "2"), env, home)
    workers = _descendants(proc.pid)
    assert workers
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert "interrupted" in out + err
    assert "Traceback" not in out + err
    assert _gone(workers, 15), "workers outlived the scan"
    with sqlite3.connect(home / "index.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM files").fetchone()[0] >= 3


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_an_impatient_second_ctrl_c_neither_hangs_nor_prints_a_traceback(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """Ctrl-C, then Ctrl-C again while the scan shuts down: Python's exit-time wait for busy
    workers was interrupted, printed a traceback, and then waited on them for ever."""
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    lib = tmp_path / "big"
    lib.mkdir()
    for i in range(16):  # 12 MP photos: each worker is busy for a while with every one
        imagegen.pasted(samples["players"], lib / f"p{i:02d}.jpg", at=(100 * i, 900))
    cmd = command("find", "--me", samples["yaoming"], lib, "--workers", "2", "--no-progress")
    proc = _scan_until_indexed(cmd, env, home)
    workers = _descendants(proc.pid)
    proc.send_signal(signal.SIGINT)
    for _ in range(5):
        time.sleep(0.1)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # hung: do not leave it and its workers behind
            for pid in [proc.pid, *workers]:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "Traceback" not in out + err and "Exception ignored" not in out + err, err
    assert _gone(workers, 15), "workers outlived the scan"


def test_ctrl_c_while_starting_is_one_line(home: Path) -> None:
    """Ctrl-C in the first instants (while the CLI's libraries import): "interrupted" and 130,
    as later. The signal goes once typer's import is under way (``-X importtime`` lines): a
    fixed delay could land, on a busy machine, in the interpreter's own start-up."""
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    cmd = [command("demo")[0], "-X", "importtime", *command("demo")[1:]]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "typer" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, rest = proc.communicate(timeout=120)
    lines = "".join([*seen, rest]).splitlines()
    err = "\n".join(line for line in lines if not line.startswith("import time:"))
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in out + err, err


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_workers_exit_when_the_scan_is_killed(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """``kill -9`` gives the parent no chance to stop its workers: they notice and exit instead
    of waiting for ever, each holding a few hundred MB."""
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    cmd = _find_many(samples, tmp_path, "--workers", "2", "--format", "jsonl")
    proc = _scan_until_indexed(cmd, env, home)
    workers = _descendants(proc.pid)
    assert workers
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert _gone(workers, 15), "workers outlived a killed scan"


def test_migrations_bring_an_old_index_up_to_date(tmp_path: Path) -> None:
    from selfscan.index_migrations import MIGRATIONS

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(MIGRATIONS[0] + "; PRAGMA user_version=1;")
        db.execute(
            "INSERT INTO files (id, path, size, mtime_ns, model_id, mode, scanned_at) "
            "VALUES (1, x'2f612e6a7067', 1, 1, 'm', 1, 0)"
        )
        db.executemany(
            "INSERT INTO faces (file_id, det_score, landmarks) VALUES (1, 0.9, x'00')", [(), ()]
        )
    index = Index(path)
    assert index.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert index.db.execute("SELECT face_count FROM files").fetchone()[0] == 2
    index.close()


def _face(seed: int) -> Face:
    rng = np.random.default_rng(seed)
    emb = rng.standard_normal(512).astype(np.float32)
    return Face(
        box=(1.0 * seed, 2.0, 30.0, 40.0),
        landmarks=rng.random((5, 2), dtype=np.float32),
        det_score=0.9,
        embedding=emb / np.linalg.norm(emb),
    )


def test_read_ahead_answers_like_one_query_per_path(tmp_path: Path) -> None:
    """Lookups in walk order, out of order, for new paths between stored ones, and after writes
    during the scan all give what a one-row query gives, across several read-ahead windows."""
    ix = Index(tmp_path / "index.sqlite")
    rng = random.Random(7)
    names = [
        f"/lib/{d}/{n:04d}.jpg" for d in ("a", "a/sub", "b", "b.c", "é") for n in range(0, 400, 3)
    ]
    stored: dict[str, Item] = {}
    for i, name in enumerate(names):
        item = Item(name, 100 + i, 5 + i, fs_path=name)
        ix.put(item, Analysis(faces=tuple(_face(i) for _ in range(i % 3))), "m", "default")
        stored[name] = item
    ix.commit()
    fresh = Index(tmp_path / "index.sqlite")
    order = sorted(
        names + [f"/lib/{d}/{n:04d}.jpg" for d in ("a", "b.c") for n in range(1, 400, 3)]
    )
    order = order[:300] + list(reversed(order[300:600])) + rng.sample(order[600:], len(order) - 600)
    for step, name in enumerate(order):
        item = stored.get(name, Item(name, 1, 1, fs_path=name))
        got = fresh.lookup(item, "m", "default")
        assert (got is None) == (name not in stored), name
        if got is not None:
            one = fresh._read_one(name.encode())
            assert one is not None and got.file_id == one[0]
            assert len(got.analysis.faces) == names.index(name) % 3
            for face, (*_, emb, _t) in zip(got.analysis.faces, one[13], strict=True):
                assert face.embedding is not None and face.embedding.tobytes() == emb
        assert fresh.lookup(replace(item, size=item.size + 1), "m", "default") is None
        if step % 7 == 0:  # a changed file rewritten mid-scan reads back as written
            changed = replace(item, size=item.size + 1000)
            fresh.put(changed, Analysis(faces=(_face(step),)), "m", "default")
            stored[name] = changed
            again = fresh.lookup(changed, "m", "default")
            assert again is not None and again.analysis.faces[0].box[0] == step
    assert (
        fresh.lookup(Item("/lib/a/0000.jpg", 100, 5, fs_path="/lib/a/0000.jpg"), "other", "default")
        is None
    )


LAST_MONTH = '{"summary": {"total": 2, "month": "last"}}\n'  # an earlier JSONL report


def test_a_damaged_index_is_one_line_of_advice_and_the_last_report_survives(
    samples: dict[str, Path], library: Path, home: Path, tmp_path: Path
) -> None:
    """Damaged pages, garbage or a newer schema: each command says what to do in one line
    (it was "internal error ... please report it"), doctor says so too, the report of the
    previous scan is left as it was (it was emptied), and forget --index starts afresh."""
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    me = samples["yaoming"]
    assert selfscan("find", "--me", me, library, "--workers", "1", env=env).returncode == 0
    db_file = home / "index.sqlite"
    (tmp_path / "out").mkdir()
    report = tmp_path / "out" / "last.jsonl"
    with open(db_file, "r+b") as fh:  # a damaged page in the middle of the faces
        fh.seek(4096)
        fh.write(b"\xab" * 4096)
    for damage in ("page", "garbage", "newer"):
        if damage == "garbage":
            for leftover in home.glob("index.sqlite*"):
                leftover.unlink()
            db_file.write_bytes(b"not a database at all" * 100)
        elif damage == "newer":
            db_file.unlink()
            with sqlite3.connect(db_file) as db:
                db.execute("PRAGMA user_version = 99")
        report.write_text(LAST_MONTH)
        done = selfscan("find", "--me", me, library, "-f", "jsonl", "-o", report, env=env)
        said = " ".join(done.stderr.split())
        assert done.returncode == 1 and "internal error" not in said, said
        if damage == "newer":
            assert "written by a newer selfscan" in said
        else:
            assert "is damaged" in said and "selfscan forget --index" in said
        assert report.read_text() == LAST_MONTH
        assert [p.name for p in report.parent.iterdir()] == ["last.jsonl"]  # no partial left
        doctor = selfscan("doctor", env=env)  # a damaged index stops selfscan: status 1
        assert doctor.returncode == 1 and "problem: the index" in doctor.stdout
    assert selfscan("forget", "--index", env=env).returncode == 0
    done = selfscan("find", "--me", me, library, "-f", "jsonl", "-o", report, env=env)
    assert done.returncode == 0 and len(report.read_text().splitlines()) == 3


def test_doctor_says_what_sqlite_found_in_one_line(
    samples: dict[str, Path], library: Path, home: Path
) -> None:
    """A damaged index page that only a full read finds: SQLite's report of it is several
    lines, which doctor showed as one line with its line breaks escaped (``\\x0a``)."""
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    done = selfscan("find", "--me", samples["yaoming"], library, "--workers", "1", env=env)
    assert done.returncode == 0, done.stderr
    db_file = home / "index.sqlite"
    with sqlite3.connect(db_file) as db:
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'files_fingerprint'")
        page = root.fetchone()[0]
    with open(db_file, "r+b") as fh:  # the cell pointers of that index's page
        fh.seek((page - 1) * 4096 + 8)
        fh.write(b"\xff" * 16)
    doctor = selfscan("doctor", env=env)
    line = next(x for x in doctor.stdout.splitlines() if "problem: the index" in x)
    said = " ".join(doctor.stdout.split("problem: the index", 1)[1].split())
    assert doctor.returncode == 1 and "is damaged" in line, doctor.stdout
    assert "\\x0a" not in said and "*** in database main ***; On tree page" in said, said


def test_a_data_dir_that_cannot_be_written_is_one_line_of_advice(
    samples: dict[str, Path], library: Path, home: Path
) -> None:
    """What a read-only data dir does to the index's lock file (made impossible here by a
    folder in its place, which root cannot write through either)."""
    (home / "index.lock").mkdir(parents=True)
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    done = selfscan("find", "--me", samples["yaoming"], library, "--workers", "1", env=env)
    said = " ".join(done.stderr.split())
    assert done.returncode == 1 and "cannot write to selfscan's data dir" in said, said
    assert "--no-store" in said and "internal error" not in said
    done = selfscan("find", "--me", samples["yaoming"], library, "--no-store", env=env)
    assert done.returncode == 0


def test_a_file_cut_short_or_removed_during_the_scan_says_so(
    samples: dict[str, Path], tmp_path: Path, analyzer: FaceAnalyzer
) -> None:
    """A photo truncated, replaced by a folder, or an archive deleted between being listed and
    being read fails in odd ways ("invalid argument", "is a directory", corrupt data): the
    reason is that the file changed, and it is not remembered."""
    data = samples["players"].read_bytes()
    photo = tmp_path / "cut.jpg"
    photo.write_bytes(data)
    st = photo.stat()
    job = analyze.Job("image", "default", st.st_size, st.st_mtime_ns, fs_path=str(photo))
    photo.write_bytes(data[:1000])
    analyze.set_analyzer(analyzer)
    result = analyze.run_job(job)
    assert result.error == "file changed while it was being scanned; scan again to include it"
    assert result.transient
    photo.unlink()
    photo.mkdir()
    result = analyze.run_job(job)
    assert result.error.startswith("file changed while it was being scanned") and result.transient

    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(data)
    with zipfile.ZipFile(folder / "b.zip", "w") as zf:
        zf.writestr("c.jpg", data)
    items = iter_items([folder])
    assert next(items).path == str(folder / "a.jpg")  # the folder is listed by now
    (folder / "b.zip").unlink()
    assert [(i.path, i.error) for i in items] == [
        (str(folder / "b.zip"), "file disappeared during the scan")
    ]


def test_a_folder_not_listed_this_time_keeps_its_rows(
    samples: dict[str, Path], library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subfolder that cannot be listed for a moment (no permission, a drive gone) is an
    error, and the rows of the files under it stay: the next scan finds them unchanged
    instead of analysing them all again."""
    sub = library / "sub"
    sub.mkdir()
    shutil.move(library / "players.jpg", sub / "players.jpg")
    first, _, analysed = run_find([library], samples["yaoming"])
    assert analysed == 3 and first["players.jpg"].status == "match"
    real = os.scandir

    def refused(path: object = ".") -> object:
        if os.fspath(path) == str(sub):  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied")
        return real(path)  # type: ignore[arg-type]

    with monkeypatch.context() as mp:
        mp.setattr("selfscan.sources.os.scandir", refused)
        during, _, _ = run_find([library], samples["yaoming"])
    assert during["sub"].status == "error" and "cannot list folder" in (during["sub"].error or "")
    again, progress, analysed = run_find([library], samples["yaoming"])
    assert analysed == 0 and progress.cached == 3
    assert again["players.jpg"].status == "match"


def test_a_full_disk_stops_storing_not_the_scan(
    samples: dict[str, Path], library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the index cannot be written (its disk full), the scan goes on and every result
    still comes out, and the rest is said not stored. (A failed write
    used to leave a transaction flag set, and the next COMMIT's error hid "disk is full".)"""
    real = Index.put
    calls = 0

    def put(self: Index, *args: object, **kw: object) -> object:
        nonlocal calls
        calls += 1
        if calls >= 2:
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Index, "put", put)
    results, progress, analysed = run_find([library], samples["yaoming"])
    assert analysed == 3 and len(results) == 3
    assert results["players.jpg"].status == "match"
    assert progress.store_error == "database or disk is full"
    monkeypatch.setattr(Index, "put", real)
    _, progress, analysed = run_find([library], samples["yaoming"])
    # The first row was not committed yet when the write failed: rolled back with the rest.
    assert progress.store_error is None and analysed == 3 and progress.cached == 0
    _, progress, analysed = run_find([library], samples["yaoming"])
    assert analysed == 0 and progress.cached == 3  # stored again once writable


def test_the_same_content_elsewhere_is_not_analysed_again(
    samples: dict[str, Path], library: Path, tmp_path: Path
) -> None:
    """The whole-content fingerprint says the bytes are those analysed before: a copy, the
    folder scanned again through a symlink, a file whose mtime alone changed (``touch``) reuse
    the stored analysis (each was analysed again); an edited file is still analysed."""
    _, _, analysed = run_find([library], samples["yaoming"])
    assert analysed == 3
    link = tmp_path / "link"
    link.symlink_to(library)
    through, progress, analysed = run_find([link], samples["yaoming"])
    assert analysed == 0 and progress.cached == 3
    assert through["players.jpg"].status == "match"
    shutil.copyfile(library / "players.jpg", library / "copy.jpg")
    os.utime(library / "gdp.jpg")
    again, progress, analysed = run_find([library], samples["yaoming"])
    assert analysed == 0 and progress.cached == 4
    assert again["copy.jpg"].status == "match" and again["gdp.jpg"].status == "no_match"
    imagegen.recompressed(samples["players"], library / "copy.jpg", 60)
    _, progress, analysed = run_find([library], samples["yaoming"])
    assert analysed == 1 and progress.cached == 3


def test_a_folder_named_with_a_bang_is_a_folder(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """``Wow!/p.jpg`` is a file in a folder, not the member ``p.jpg`` of an archive ``Wow``:
    ``forget --missing`` kept deleting it, and scanning the folder ``Party`` forgot the rows of
    its neighbour ``Party!``. With a file ``Wow`` beside the folder, --copy-to took the file for
    an archive ("not a zip or tar archive") and the report had no preview."""
    lib = tmp_path / "lib"
    (lib / "Wow!").mkdir(parents=True)
    (lib / "Wow").write_text("notes")
    (lib / "Party").mkdir()
    (lib / "Party!").mkdir()
    shutil.copyfile(samples["players"], lib / "Wow!" / "p.jpg")
    shutil.copyfile(samples["gdp"], lib / "Party" / "gdp.jpg")
    shutil.copyfile(samples["t1"], lib / "Party!" / "t1.jpg")
    found, _, analysed = run_find([lib], samples["yaoming"])
    assert analysed == 3
    assert erase.forget(missing=True)[0].count == 0
    placed = organise([found["p.jpg"]], tmp_path / "me")
    assert (
        placed[0].error is None and placed[0].dest.read_bytes() == samples["players"].read_bytes()
    )
    run_find([lib / "Party"], samples["yaoming"])
    _, progress, analysed = run_find([lib], samples["yaoming"])
    assert analysed == 0 and progress.cached == 3
    archive = tmp_path / "old.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(samples["gdp"], "in/gdp.jpg")
    run_find([archive], samples["yaoming"])
    archive.unlink()  # a deleted archive's members are still forgotten by its path
    assert erase.forget(paths=[str(archive)])[0].count == 1
    (lib / "Wow!" / "p.jpg").unlink()
    assert erase.forget(missing=True)[0].count == 1


def test_nohup_keeps_a_scan_running_when_the_terminal_closes(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """A hangup ignored by whoever started selfscan (``nohup``) stays ignored: the scan went
    on only until the terminal closed."""
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    cmd = _find_many(samples, tmp_path, "--workers", "1", "--format", "jsonl")
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    )  # fmt: skip
    time.sleep(3)
    proc.send_signal(signal.SIGHUP)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert len(out.splitlines()) == 40 and "interrupted" not in err


def test_a_folder_given_twice_through_a_link_keeps_its_rows(
    samples: dict[str, Path], library: Path, tmp_path: Path
) -> None:
    """``find link photos``, the link leading to ``photos``: the folder is walked once, under
    the link's path, and the rows stored under its own path were then deleted as missing."""
    run_find([library], samples["yaoming"])
    link = tmp_path / "link"
    link.symlink_to(library)
    results, _, analysed = run_find([link, library], samples["yaoming"])
    assert analysed == 0 and len(results) == 3
    index = Index(index_path())
    stored = set(index.iter_paths())
    index.close()
    assert {str(library / f"{k}.jpg") for k in ("players", "gdp", "t1")} <= stored


def test_a_legacy_file_system_encoding_sees_the_same_index(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """Under a file-system encoding other than UTF-8 (a legacy locale: ASCII here), a scan
    answered ``café.jpg`` from the index, then deleted its row as missing; ``data`` called it
    gone and ``forget --path`` failed with an internal error. The index names a file by its
    bytes on disk, whatever the locale."""
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copyfile(samples["players"], lib / "café.jpg")
    with zipfile.ZipFile(lib / "été.zip", "w") as zf:
        zf.write(samples["gdp"], "vacances/plage é.jpg")
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    legacy = {**env, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    legacy.pop("PYTHONIOENCODING", None)
    find = ("find", lib, "--me", samples["yaoming"], "--workers", "1", "--format", "json")
    first = selfscan(*find, env=env)
    assert first.returncode == 0, first.stderr
    again = selfscan(*find, env=legacy)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)["summary"]
    assert summary["cached"] == 2 and summary["counts"]["match"] == 1
    for environment in (env, legacy):
        info = json.loads(selfscan("data", "--json", env=environment).stdout)["index"]
        assert info["files"] == 2 and not info["missing"], info
    gone = selfscan("forget", "--path", lib, env=legacy)
    assert gone.returncode == 0 and "internal error" not in gone.stderr, gone.stderr
    assert json.loads(selfscan("data", "--json", env=env).stdout)["index"]["files"] == 0


def test_forgetting_most_of_the_index_shrinks_its_file(tmp_path: Path) -> None:
    """``forget --path`` emptied the rows but the file kept its size (``data`` showed the old
    size, and the space stayed taken): past a quarter of the file, it is given back."""
    ix = Index(index_path())
    for i in range(1500):
        name = f"/lib/{'old' if i < 1200 else 'kept'}/{i:05d}.jpg"
        ix.put(
            Item(name, 100, 5, fs_path=name),
            Analysis(faces=(_face(i), _face(i + 1))),
            "m",
            "default",
        )
    ix.close()
    before = index_path().stat().st_size
    erase.forget(paths=["/lib/old"])
    after = index_path().stat().st_size
    assert after < before / 2, (before, after)
    ix = Index(index_path())
    assert ix.stats()["files"] == 300
    ix.close()
    erase.forget(paths=["/lib/nothing-here"])  # nothing freed: nothing rewritten
    assert index_path().stat().st_size == after


def test_no_room_to_shrink_the_index_is_not_an_error(tmp_path: Path) -> None:
    """Shrinking the file rewrites it beside itself: on a full disk it stays as large."""

    class FullDisk:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            if sql == "VACUUM":
                raise sqlite3.OperationalError("database or disk is full")
            return self.db.execute(sql, *args)

        def __getattr__(self, name: str) -> object:
            return getattr(self.db, name)

    ix = Index(tmp_path / "index.sqlite")
    for i in range(1200):
        name = f"/lib/{i:05d}.jpg"
        ix.put(Item(name, 100, 5, fs_path=name), Analysis(faces=(_face(i),)), "m", "default")
    ix.commit()
    ix.forget_under(["/lib"])
    ix.db = FullDisk(ix.db)  # type: ignore[assignment]
    ix.compact()
    assert ix.stats()["files"] == 0
    ix.close()


@pytest.mark.parametrize("where", ["commit", "moved copy", "savepoint"])
def test_a_disk_that_fills_anywhere_in_a_scan_keeps_its_results(
    samples: dict[str, Path], library: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The disk filling at the last commit, or while storing a copy found by its content, or
    in a way that took SQLite's savepoint with it, ended the scan with an error and no report
    ("no such savepoint: put" hid "disk is full")."""
    run_find([library], samples["yaoming"])
    shutil.copyfile(library / "players.jpg", library / "copy.jpg")  # found by its content
    full = sqlite3.OperationalError("database or disk is full")
    if where == "commit":

        def commit(self: Index) -> None:
            if self.db.in_transaction:
                raise full

        monkeypatch.setattr(Index, "commit", commit)
    elif where == "moved copy":

        def put(self: Index, *args: object, **kw: object) -> int:
            raise full

        monkeypatch.setattr(Index, "put", put)
    else:

        def write(self: Index, *args: object, **kw: object) -> int:
            self.db.execute("ROLLBACK")  # what SQLite does to the transaction on a full disk
            raise full

        monkeypatch.setattr(Index, "_write", write)
    results, progress, _ = run_find([library], samples["yaoming"])
    assert len(results) == 4 and results["copy.jpg"].status == "match"
    assert progress.store_error == "database or disk is full"
