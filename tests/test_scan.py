"""Real models on real photos and transformations of them: is he found, and where."""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console

from selfscan import ops, render, scan
from selfscan.types import FileResult, ScanSummary
from selfscan.workers import (
    RESERVE_MIB,
    WORKER_MIB,
    available_memory_mib,
    default_workers,
)
from tests import imagegen


def find(paths: list[Path], me: Path, **kw: object) -> dict[str, FileResult]:
    session = ops.prepare_find(ops.FindRequest(paths=paths, me=[me], workers=1, **kw))
    try:
        return {Path(r.path).name: r for r in session.results()}
    finally:
        session.close()


@pytest.fixture(scope="module")
def his_box(samples: dict[str, Path]) -> tuple[float, float, float, float]:
    """Where he is in players.jpg (the matching face), from an untouched scan."""
    session = ops.prepare_find(
        ops.FindRequest(paths=[samples["players"]], me=[samples["yaoming"]], workers=1, store=False)
    )
    result = next(iter(session.results()))
    session.close()
    assert result.status == "match"
    return next(f.box for f in result.faces if f.similarity == result.score)


def best_box(r: FileResult) -> tuple[float, float, float, float]:
    return next(f.box for f in r.faces if f.similarity == r.score)


def close(a: tuple[float, ...], b: tuple[float, ...], tol: float) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def test_found_in_team_photo_and_nowhere_else(samples: dict[str, Path], tmp_path: Path) -> None:
    for key in ("players", "gdp", "t1"):
        shutil.copyfile(samples[key], tmp_path / f"{key}.jpg")
    Image.new("RGB", (640, 480), (200, 180, 160)).save(tmp_path / "wall.png")
    results = find([tmp_path], samples["yaoming"])
    assert results["players.jpg"].status == "match"
    assert results["players.jpg"].score is not None and results["players.jpg"].score > 0.5
    assert len(results["players.jpg"].faces) >= 22
    assert results["gdp.jpg"].status == "no_match"
    assert results["t1.jpg"].status == "no_match"
    assert len(results["t1.jpg"].faces) == 6
    assert results["wall.png"].status == "no_face"


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_boxes_are_upright(
    samples: dict[str, Path], tmp_path: Path, his_box: tuple[float, ...], orientation: int
) -> None:
    dest = tmp_path / f"rot{orientation}.jpg"
    imagegen.save_with_orientation(samples["players"], dest, orientation)
    r = find([dest], samples["yaoming"])[dest.name]
    assert r.status == "match"
    assert (r.width, r.height) == Image.open(samples["players"]).size
    assert r.orientation == orientation
    assert close(best_box(r), his_box, 4.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda s, d: imagegen.rescaled(s, d, 1.6),
        lambda s, d: imagegen.recompressed(s, d, 35),
        imagegen.grayscale,
    ],
    ids=["rescaled", "recompressed", "grayscale"],
)
def test_transformed_team_photo_still_matches(
    samples: dict[str, Path], tmp_path: Path, make: object
) -> None:
    dest = tmp_path / "variant.jpg"
    make(samples["players"], dest)  # type: ignore[operator]
    assert find([dest], samples["yaoming"])[dest.name].status == "match"


def test_rgba_png(samples: dict[str, Path], tmp_path: Path) -> None:
    dest = tmp_path / "players.png"
    imagegen.rgba_png(samples["players"], dest)
    assert find([dest], samples["yaoming"])[dest.name].status == "match"


def test_small_in_a_12_megapixel_frame(
    samples: dict[str, Path], tmp_path: Path, his_box: tuple[float, ...]
) -> None:
    """The team photo pasted at 1.3x into a 4032x3024 frame: he is about 60 px tall there, the
    frame is draft-decoded at reduced size, and his box maps back to full-size coordinates."""
    dest = tmp_path / "frame.jpg"
    ox, oy, scale = imagegen.pasted(samples["players"], dest, at=(1500, 1400), width=1608)
    r = find([dest], samples["yaoming"])[dest.name]
    assert (r.width, r.height) == (4032, 3024)
    assert r.status == "match"
    expected = (
        ox + his_box[0] * scale,
        oy + his_box[1] * scale,
        ox + his_box[2] * scale,
        oy + his_box[3] * scale,
    )
    assert close(best_box(r), expected, 6.0)


def test_bad_files_are_errors_and_the_scan_goes_on(
    samples: dict[str, Path], tmp_path: Path
) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "cut.jpg").write_bytes(samples["players"].read_bytes()[:5000])
    (tmp_path / "page.png").write_text("<!DOCTYPE html><html><body>hi</body></html>")
    shutil.copyfile(samples["players"], tmp_path / "players.jpg")
    results = find([tmp_path], samples["yaoming"])
    assert results["players.jpg"].status == "match"
    for name in ("empty.jpg", "cut.jpg", "page.png"):
        assert results[name].status == "error", name
        assert results[name].error
    assert "HTML" in (results["page.png"].error or "")
    assert "empty" in (results["empty.jpg"].error or "")


def test_threshold_override(samples: dict[str, Path]) -> None:
    r = find([samples["players"]], samples["yaoming"], threshold=0.99)["players.jpg"]
    assert r.status in ("no_match", "possible")


def test_the_total_shows_before_the_first_result() -> None:
    """The bar reads the scan's total (counted in the background) at each refresh, so it shows
    before any result arrives, without calling the scan's callback from another thread."""
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120)
    live = scan.Progress()
    with render.scan_progress(console, True, live):
        live.total = 7
    assert "0/7" in buf.getvalue()


def test_default_workers_fit_in_the_memory_available(monkeypatch: pytest.MonkeyPatch) -> None:
    """One per core, unless the memory free now holds fewer; never none."""
    monkeypatch.setattr("selfscan.workers.address_space_mib", lambda: None)  # no ulimit -v
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(8)), raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert default_workers("default", available_mib=64_000) == 8
    assert default_workers("default", available_mib=RESERVE_MIB + 3.5 * WORKER_MIB["default"]) == 3
    assert default_workers("quick", available_mib=RESERVE_MIB + 3.5 * WORKER_MIB["default"]) == 7
    assert default_workers("thorough", available_mib=RESERVE_MIB + 3.5 * WORKER_MIB["default"]) == 3
    assert default_workers("default", available_mib=100) == 1
    monkeypatch.setattr("selfscan.workers.available_memory_mib", lambda: None)
    assert default_workers() == 8
    monkeypatch.undo()
    available = available_memory_mib()
    assert available is None or available > 0


def test_the_eta_counts_the_files_to_analyse_not_those_the_index_answers() -> None:
    """137 files answered by the index in 0.1 s, 12 new ones: 2 of them analysed in 2 s (1 s
    each). The ETA was rich's rate over all files (0:00:01 for a 10 s wait); it is the 10 new
    files left at 1 s each, plus next to nothing for the index's answers."""
    p = scan.Progress(started=100.0)
    p.total, p.to_analyse = 149, 12
    p.done, p.cached, p.path_hits, p.index_seconds = 139, 137, 137, 0.1
    p.analysed, p.analysing_since = 2, 101.0
    assert render.eta_seconds(p, 103.0) == pytest.approx(10.0)
    # New files first, then 103 answered by the index: only their share of 0.1 s is left.
    p = scan.Progress(started=100.0)
    p.total, p.to_analyse = 117, 14
    p.done, p.analysed, p.analysing_since = 14, 14, 100.5
    p.cached, p.index_seconds = 0, 0.0
    assert render.eta_seconds(p, 107.0) == 0.0
    p.done, p.cached, p.path_hits, p.index_seconds = 24, 10, 10, 0.01
    assert render.eta_seconds(p, 107.0) == pytest.approx(93 * 0.001)
    # A folder copied elsewhere: its files are new by path, answered by content (the index, or
    # a copy met earlier in the scan): nothing is left to analyse once they are done.
    p = scan.Progress(started=100.0)
    p.total, p.to_analyse, p.done, p.analysed, p.analysing_since = 121, 121, 121, 1, 100.5
    p.cached, p.settled = 120, 120
    assert render.eta_seconds(p, 106.0) == 0.0
    # Before the first analysed file is in, there is no telling.
    p = scan.Progress(started=100.0)
    p.total, p.to_analyse, p.analysing_since = 10, 10, 100.0
    assert render.eta_seconds(p, 105.0) is None
    buf = io.StringIO()
    with render.scan_progress(Console(file=buf, force_terminal=True, width=80), True, p) as update:
        update(p)
    assert "starting the models" in buf.getvalue() and "ETA -:--:--" in buf.getvalue()
    assert "0/10" in buf.getvalue()  # the count fits in 80 columns
    p.total, p.to_analyse, p.done, p.matches, p.faces = 45678, 45678, 12345, 1234, 98765
    for width in (40, 60, 70, 79, 80, 100, 110, 120):  # the count, matches, ETA never cut
        for analysed in (0, 12345):  # "starting the models", then a rate
            p.analysed = analysed
            buf = io.StringIO()
            console = Console(file=buf, force_terminal=True, width=width)
            with render.scan_progress(console, True, p) as update:
                update(p)
            shown = buf.getvalue().rsplit("\r", 1)[-1]
            assert "12345/45678" in shown and "1234 matches" in shown, (width, shown)
            assert re.search(r"ETA (-:--:--|\d+:\d\d:\d\d)", shown), (width, shown)


def test_the_count_says_how_many_files_the_index_cannot_answer(
    samples: dict[str, Path], library: Path
) -> None:
    progress: list[scan.Progress] = []
    session = ops.prepare_find(ops.FindRequest(paths=[library], me=[samples["yaoming"]]))
    list(session.results(progress.append))
    session.close()
    assert progress[-1].to_analyse == 3 and progress[-1].analysed == 3
    shutil.copyfile(samples["yaoming"], library / "new.jpg")
    os.utime(library / "gdp.jpg", ns=(1, 1))  # changed (its mtime): analysed again, maybe
    progress.clear()
    session = ops.prepare_find(ops.FindRequest(paths=[library], me=[samples["yaoming"]]))
    list(session.results(progress.append))
    session.close()
    assert progress[-1].total == 4 and progress[-1].to_analyse == 2
    assert progress[-1].cached == 3 and progress[-1].analysed == 1  # gdp: same content


def test_camera_heif_names_and_cut_short_modern_formats(
    samples: dict[str, Path], tmp_path: Path
) -> None:
    """A Fujifilm or Canon HEIF is named ``.HIF``: it was skipped as a file of another type. A
    cut-short AVIF was "not a supported image", a cut-short WebP a failure to read its header."""
    from PIL import features

    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    photo = Image.open(samples["players"]).convert("RGB")
    photo.save(tmp_path / "DSCF0001.HIF", "HEIF")
    cuts = {"cut.webp": "WEBP"}
    if features.check("avif") or hasattr(pillow_heif, "register_avif_opener"):
        cuts["cut.avif"] = "AVIF"
    for name, fmt in cuts.items():
        buf = io.BytesIO()
        photo.save(buf, fmt)
        (tmp_path / name).write_bytes(buf.getvalue()[: len(buf.getvalue()) * 9 // 10])
    results = find([tmp_path], samples["yaoming"], store=False)
    assert results["DSCF0001.HIF"].status == "match"
    for name, fmt in cuts.items():
        assert results[name].status == "error"
        assert (results[name].error or "").startswith(f"damaged or truncated {fmt} file"), name


def test_a_file_of_several_pages_says_only_the_first_was_scanned(
    samples: dict[str, Path], tmp_path: Path
) -> None:
    """A scanned album as one TIFF: page 1 is scanned; the facts and the report say so."""
    from selfscan.reports import writer_for

    photo = Image.open(samples["players"]).convert("RGB")
    others = Image.open(samples["t1"]).convert("RGB")
    photo.save(
        tmp_path / "album.tif", save_all=True, append_images=[others], compression="tiff_lzw"
    )
    result = find([tmp_path / "album.tif"], samples["yaoming"], store=False)["album.tif"]
    assert result.status == "match" and result.facts["photo"]["frames"] == 2
    buf = io.StringIO()
    writer = writer_for("html", buf)
    writer.add(result)
    writer.close(ScanSummary(total=1))
    assert "<dt>Pages or frames</dt><dd>2: only the first was scanned</dd>" in buf.getvalue()
    # Grouped with a copy of one page, the card still says it, naming the copy.
    photo.save(tmp_path / "single.png")
    found = find([tmp_path / "single.png", tmp_path / "album.tif"], samples["yaoming"], store=False)
    buf = io.StringIO()
    writer = writer_for("html", buf)
    for each in found.values():
        writer.add(each)
    writer.close(ScanSummary(total=2))
    assert buf.getvalue().count("<article") == 1
    assert "<dt>Pages or frames</dt><dd>2: only the first was scanned [copy " in buf.getvalue()


def test_too_few_open_files_for_the_workers_is_one_line_of_advice(
    samples: dict[str, Path], library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under 'ulimit -n 24', starting two workers failed in os.pipe(): an internal error."""
    import errno

    from selfscan.errors import InputError
    from selfscan.workers import Pool

    def exhausted(self: Pool, job: object) -> None:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(Pool, "submit", exhausted)
    session = ops.prepare_find(
        ops.FindRequest(paths=[library], me=[samples["yaoming"]], workers=2, store=False)
    )
    with pytest.raises(InputError, match=r"too many open files to start 2 worker processes"):
        list(session.results())
    session.close()


def test_a_model_library_out_of_memory_is_said_as_such(
    samples: dict[str, Path], analyzer: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """onnxruntime's and OpenCV's allocation failures read as internal errors "please report
    it"; they are the machine out of memory, with what to do about it."""
    from selfscan import analyze
    from selfscan.types import Job

    analyze.set_analyzer(analyzer)  # type: ignore[arg-type]
    for message in (
        "[ONNXRuntimeError] : 1 : FAIL : bfc_arena.cc:376 AllocateRawInternal Failed to allocate",
        "OpenCV(5.0.0) alloc.cpp:73: error: (-4:Insufficient memory) Failed to allocate 1 bytes",
    ):

        def fail(*args: object, message: str = message) -> None:
            raise RuntimeError(message)

        monkeypatch.setattr(analyze, "_analyse", fail)
        st = samples["players"].stat()
        job = Job("image", "default", st.st_size, st.st_mtime_ns, str(samples["players"]))
        result = analyze.run_job(job)
        assert result.transient and (result.error or "").startswith(
            "out of memory while analysing this file (fewer --workers, or --quick"
        )
