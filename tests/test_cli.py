"""The CLI driven through typer's CliRunner over real photos."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from selfscan.cli import app
from selfscan.reports import writer_for
from selfscan.types import FileResult, ScanSummary
from tests.child import command
from tests.exportgen import write_archive

runner = CliRunner()
WIDTH = {"COLUMNS": "120", "TERM": "dumb"}


def run(*args: str) -> tuple[int, str, str]:
    """Invoke the CLI; returns exit code, stdout and stderr."""
    result = runner.invoke(app, list(args), env=WIDTH)
    return result.exit_code, result.stdout, result.stderr


COMMANDS = [
    [],
    ["enroll"],
    ["find"],
    ["demo"],
    ["doctor"],
    ["data"],
    ["forget"],
    ["models"],
    ["models", "list"],
    ["models", "install"],
    ["models", "import"],
    ["models", "use"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "selfscan")
def test_every_command_has_help(command: list[str]) -> None:
    code, out, _ = run(*command, "--help")
    assert code == 0
    assert "Usage" in out
    assert len(out) > 200
    assert run(*command, "-h") == (code, out, _)  # the short form new users try first


@pytest.mark.parametrize(
    "command",
    [
        "enroll", "find", "demo", "doctor", "data", "forget",
        "models list", "models install", "models import", "models use",
    ],
)  # fmt: skip
def test_help_shows_an_example(command: str) -> None:
    _, out, _ = run(*command.split(), "--help")
    assert "Example" in out
    assert f"selfscan {command}" in out


def test_jsonl_contract(samples: dict[str, Path], library: Path) -> None:
    code, out, _ = run(
        "find", "--me", str(samples["yaoming"]), str(library), "--format", "jsonl", "--workers", "1"
    )
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [Path(r["path"]).name for r in records] == ["gdp.jpg", "players.jpg", "t1.jpg"]
    for r in records:
        assert list(r)[:5] == ["path", "status", "score", "faces", "error"]
        for face in r["faces"]:
            assert set(face) == {"box", "det_score", "similarity"}
            x1, y1, x2, y2 = face["box"]
            assert 0 <= x1 < x2 <= r["width"] and 0 <= y1 < y2 <= r["height"]
    by_name = {Path(r["path"]).name: r for r in records}
    assert by_name["players.jpg"]["status"] == "match"
    assert by_name["gdp.jpg"]["status"] == "no_match"
    assert by_name["players.jpg"]["score"] == max(
        f["similarity"] for f in by_name["players.jpg"]["faces"] if f["similarity"] is not None
    )


def test_enroll_then_find_with_saved_profile(
    samples: dict[str, Path], library: Path, home: Path, tmp_path: Path
) -> None:
    code, out, _ = run("enroll", str(samples["yaoming"]), "--profile", "me")
    assert code == 0 and "enrolled" in out
    profile = home / "profiles" / "me.json"
    assert profile.stat().st_mode & 0o777 == 0o600
    assert home.stat().st_mode & 0o777 == 0o700
    report = tmp_path / "found.csv"
    code, out, _ = run("find", str(library), "--format", "csv", "-o", str(report), "--workers", "2")
    assert code == 0
    rows = list(csv.DictReader(report.open()))
    assert {Path(r["path"]).name: r["status"] for r in rows} == {
        "gdp.jpg": "no_match",
        "players.jpg": "match",
        "t1.jpg": "no_match",
    }
    assert "players.jpg" in out and "1 match" in out


def _find_once(samples: dict[str, Path], library: Path, fmt: str) -> tuple[int, str, str]:
    """``selfscan find --me yaoming.jpg LIBRARY --format FMT``, one worker, nothing stored."""
    me = str(samples["yaoming"])
    return run("find", "--me", me, str(library), "--format", fmt, "--workers", "1", "--no-store")


def test_json_output_has_summary(samples: dict[str, Path], library: Path) -> None:
    code, out, _ = _find_once(samples, library, "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["summary"]["total"] == 3
    # every status is counted, zeros included, so that scripts need no defaults
    assert doc["summary"]["counts"] == {
        "match": 1, "possible": 0, "no_match": 2, "no_face": 0, "error": 0
    }  # fmt: skip
    assert sorted(Path(r["path"]).name for r in doc["results"]) == [
        "gdp.jpg",
        "players.jpg",
        "t1.jpg",
    ]


def test_json_document_is_written_as_results_arrive() -> None:
    """``--format json`` keeps no list of results: each is written when it arrives, so its
    memory does not grow with the library, and the document still parses."""
    buf = io.StringIO()
    writer = writer_for("json", buf)
    for i in range(3):
        writer.add(FileResult(f"/p/{i}.jpg", "no_face", None))
        assert f"/p/{i}.jpg" in buf.getvalue()
    writer.close(ScanSummary(total=3))
    doc = json.loads(buf.getvalue())
    assert [r["path"] for r in doc["results"]] == ["/p/0.jpg", "/p/1.jpg", "/p/2.jpg"]
    assert doc["summary"]["total"] == 3
    empty = io.StringIO()
    writer = writer_for("json", empty)
    writer.close(ScanSummary())
    assert json.loads(empty.getvalue())["results"] == []


def test_demo_finds_him_in_players_only() -> None:
    code, out, _ = run("demo")
    assert code == 0
    lines = [line for line in out.splitlines() if "│ match" in line]
    assert len(lines) == 1 and "players" in lines[0]
    assert "1 match" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["find", "/no/such/folder"], "does not exist"),
        (["find", "https://example.com/me.jpg"], "https://example.com/me.jpg looks like a URL"),
        (["find", "--me", "https://x.org/me.jpg", "."], "https://x.org/me.jpg looks like a URL"),
        (["find", "--format", "xml", "."], "unknown format"),
        (["find", "--quick", "--thorough", "."], "exclude"),
        (["find", "."], "no profile named 'me'"),
        (["enroll", "/no/such.jpg"], "does not exist"),
        (["demo", "--workers", "0"], "at least 1"),
        (["find", "--workers", "0", "."], "at least 1"),
        (["find", "--threshold", "1.5", "."], "--threshold 1.5 is out of range"),
        (["find", "--threshold", "0", "."], "--threshold 0.0 is out of range"),
        (["find", "--device", "tpu", "."], "unknown device 'tpu'"),
        (["find", "--save-profile", "."], "add --me PHOTO"),
        (["find", "--me", "x.jpg", "--save-profile", "--no-store", "."], "use one"),
        # An empty argument (an unset shell variable) is not "the current folder".
        (["find", ""], "empty path given for a path to scan"),
        (["find", ".", "--copy-to", ""], "empty path given for --copy-to"),
        (["find", ".", "-f", "csv", "-o", ""], "empty path given for -o"),
        (["find", "--me", "", "."], "empty path given for --me"),
        (["forget", "--path", ""], "empty path given for --path"),
        (["enroll", ""], "empty path given for a photo"),
        (["models", "import", ""], "empty path given for the pack to import"),
    ],
)
def test_fatal_problems_are_one_line_without_traceback(args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code != 0
    assert message in out + err
    assert "Traceback" not in out + err
    assert "enrolling" not in out  # refused before any work is said to start


def test_group_photo_is_refused_as_reference(samples: dict[str, Path], library: Path) -> None:
    code, out, err = run("find", "--me", str(samples["t1"]), str(library))
    assert code == 1
    assert "6 faces found" in out + err
    assert "Traceback" not in out + err


def test_unreadable_files_do_not_fail_the_scan(samples: dict[str, Path], library: Path) -> None:
    (library / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    code, out, _ = _find_once(samples, library, "jsonl")
    assert code == 0
    broken = next(json.loads(x) for x in out.splitlines() if "broken.jpg" in x)
    assert broken["status"] == "error" and broken["error"]


def test_data_and_forget(samples: dict[str, Path], library: Path, home: Path) -> None:
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    assert run("find", str(library), "--workers", "1")[0] == 0
    code, out, _ = run("data", "--json")
    info = json.loads(out)
    assert info["profiles"][0]["name"] == "me"
    assert info["index"]["files"] == 3 and info["index"]["embeddings"] > 10
    code, out, _ = run("forget", "--all")
    assert code == 0 and "removed" in out
    assert not (home / "profiles").exists()
    assert not (home / "index.sqlite").exists()


def test_data_and_forget_say_what_is_there(home: Path) -> None:
    """With only the choice of model pack stored, ``data`` offered ``forget --all``, which then
    had nothing to forget; ``forget --photo`` without a profile suggested ``find --me``."""
    # Nothing stored is nothing to forget, whatever was named: not an error (a privacy script's
    # "forget --profile me && echo erased" failed when it was already gone).
    for named in (["--photo", "me.jpg"], ["--profile", "me"], ["--index"], ["--all"]):
        code, out, err = run("forget", *named)
        assert code == 0 and "nothing to forget" in out and not err, (named, out, err)
    code, out, _ = run("forget", "--photo", "me.jpg")
    assert "nothing to forget: no profile named 'me'; 'selfscan data' lists them" in " ".join(
        out.split()
    )
    assert run("models", "use", "buffalo_s")[0] == 0
    code, out, _ = run("data")
    said = " ".join(out.split())
    assert "total 10 B; no personal data; 'selfscan forget --all --models' removes the rest" in said
    (home / "profiles").mkdir()
    (home / "profiles" / "me.json").write_text("x" * 5945)  # not a profile: listed apart
    said = " ".join(run("data")[1].split())
    assert "1 file selfscan did not make (5.9 kB)" in said  # not "5945 B" beside "0.38 MB"


def test_a_database_or_profile_named_like_selfscans_is_left_alone(
    samples: dict[str, Path], library: Path, home: Path
) -> None:
    """A folder given as SELFSCAN_HOME may hold an ``index.sqlite`` of another program and a
    ``profiles/settings.json`` that is no profile: ``data`` migrated the database (it wrote to
    it) and ``forget --all`` deleted both. Now they are listed as not selfscan's and kept, and a
    scan says what to do instead of writing selfscan's tables into the database."""
    home.mkdir(parents=True)
    db = sqlite3.connect(home / "index.sqlite")
    db.executescript("CREATE TABLE notes(t TEXT); INSERT INTO notes VALUES ('my diary');")
    db.close()
    (home / "profiles").mkdir()
    (home / "profiles" / "settings.json").write_text('// my settings\n{"a": 1}\n')
    before = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    info = json.loads(run("data", "--json")[1])
    assert not info["index"]["exists"] and info["profiles"] == [] and info["others"]["files"] == 2
    code, _, err = run("find", "--me", str(samples["yaoming"]), str(library), "--workers", "1")
    said = " ".join(err.split())
    assert code == 1 and "is not selfscan's index (it holds other tables)" in said, said
    for args in (("forget", "--profile", "settings"), ("enroll", "--profile", "settings")):
        code, _, err = run(*args, *(() if args[0] == "forget" else (str(samples["yaoming"]),)))
        said = " ".join(err.split())
        assert code == 1 and "settings.json is not a selfscan profile" in said, said
    code, out, _ = run("forget", "--all")
    assert code == 0 and "left alone: 2 files" in " ".join(out.split())
    assert {p: p.read_bytes() for p in home.rglob("*") if p.is_file()} == before


def test_forget_all_deletes_only_what_selfscan_made(
    samples: dict[str, Path], library: Path, home: Path
) -> None:
    """SELFSCAN_HOME may point at a folder that holds other files: ``forget --all`` deletes the
    profiles, the index and an interrupted save's temp file, and leaves everything else (and so
    the folder) as it was; ``data`` lists those files apart, not as selfscan's."""
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    assert run("find", str(library), "--workers", "1")[0] == 0
    foreign = {
        home / "MyPhotos" / "2019" / "players.jpg": samples["players"].read_bytes(),
        home / "taxes.pdf": b"%PDF-1.4 mine",
        home / "profiles" / "notes.txt": b"notes",
        home / "profiles" / "me copy.json": (home / "profiles" / "me.json").read_bytes(),
    }
    for path, data in foreign.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    temp = home / "profiles" / ".me.json.tmp4242"
    temp.write_bytes(b"{")
    info = json.loads(run("data", "--json")[1])
    # An interrupted save may hold embeddings: listed as selfscan's, with the profiles.
    assert [(p["name"], p.get("leftover")) for p in info["profiles"]] == [
        ("me", None),
        (".me.json.tmp4242", True),
    ]
    assert info["others"]["files"] == 4
    code, out, _ = run("forget", "--all")
    said = " ".join(out.split())
    assert code == 0 and "left alone: 4 files" in said and "taxes.pdf" in said, said
    assert {p: p.read_bytes() for p in foreign} == foreign
    assert not (home / "profiles" / "me.json").exists() and not temp.exists()
    assert not any(home.glob("index.*"))
    for path in foreign:
        path.unlink()
    (home / "MyPhotos" / "2019").rmdir()
    (home / "MyPhotos").rmdir()
    assert "removed data dir" in run("forget", "--all")[1] and not home.exists()


def test_summary_counts_files_reused_from_the_index(
    samples: dict[str, Path], library: Path
) -> None:
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    code, out, _ = run("find", str(library), "--workers", "1")
    assert code == 0 and "answered from the index" not in out
    code, out, _ = run("find", str(library), "--workers", "1")
    assert code == 0 and "3 answered from the index" in out
    assert "1 match" in out


def test_command_script_imports_no_cli_in_workers() -> None:
    """Worker processes re-run the ``selfscan`` script when they start; what it imports must not
    pull in the CLI (typer, rich), which they never use."""
    code = (
        "import sys, selfscan.__main__; "
        "print(sorted(m for m in ('selfscan.cli', 'typer', 'rich') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_an_unchanged_rescan_imports_no_decoder_or_model(
    samples: dict[str, Path], library: Path, home: Path
) -> None:
    """Starting a command costs its imports: an unchanged rescan with a stored profile reads the
    index only, so it loads neither OpenCV, Pillow, onnxruntime nor insightface."""
    assert run("find", "--me", str(samples["yaoming"]), "--save-profile", str(library))[0] == 0
    heavy = ("cv2", "PIL.Image", "onnxruntime", "insightface", "multiprocessing.pool")
    code = (
        "import sys; from selfscan.__main__ import run; sys.argv[1:] = ["
        f"'find', {str(library)!r}, '--format', 'jsonl', '--no-progress']\n"
        "try:\n    run()\nexcept SystemExit as exc:\n    code = exc.code\n"
        f"print(code, sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)"
    )
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.stderr.strip().splitlines()[-1] == "0 []", done.stderr
    assert len(done.stdout.splitlines()) == 3


def test_a_device_that_cannot_run_stops_the_scan_once(
    samples: dict[str, Path], library: Path, home: Path
) -> None:
    """``--device cuda`` without CUDA is one error line before any file is analysed, for a
    stored profile too (whose scan loads the models only when a file needs them), and no file
    is remembered as unreadable because of it."""
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("CUDA is available here")
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    for workers in ("1", "2"):
        code, out, err = run("find", str(library), "--device", "cuda", "--workers", workers)
        assert code == 1, out
        assert "--device cuda needs onnxruntime-gpu" in err and "internal error" not in err
    code, _, err = run("find", str(library), "--device", "tpu")
    assert code == 1 and "unknown device 'tpu'" in err
    code, out, _ = run("find", str(library), "--format", "jsonl", "--workers", "1")
    assert code == 0
    statuses = {Path(r["path"]).name: r["status"] for r in map(json.loads, out.splitlines())}
    assert statuses == {"gdp.jpg": "no_match", "players.jpg": "match", "t1.jpg": "no_match"}
    # all indexed now, so no model would run: an explicit --device cuda is refused all the same
    code, _, err = run("find", str(library), "--device", "cuda", "--workers", "1")
    assert code == 1 and "--device cuda needs onnxruntime-gpu" in err


def test_report_that_cannot_be_written_is_one_error(
    samples: dict[str, Path], library: Path, tmp_path: Path
) -> None:
    me = str(samples["yaoming"])
    missing = tmp_path / "missing"
    for target, reason in (
        (missing / "x.jsonl", f"the folder {missing} does not exist (create it first)"),
        (tmp_path, "it is a folder"),
    ):
        code, _, err = run("find", "--me", me, str(library), "-f", "jsonl", "-o", str(target))
        said = " ".join(err.split())  # the console may wrap the line
        assert code == 1, err
        assert f"error: cannot write the report to {target}" in said
        assert reason in said and "internal error" not in said
    # "-o reports/" for a folder not made yet wrote a report file named "reports"
    code, _, err = run("find", "--me", me, str(library), "-f", "html", "-o", f"{missing}/")
    said = " ".join(err.split())
    assert code == 1 and f"-o {missing}/ is a folder's name: give a file" in said
    assert not missing.exists()


@pytest.mark.parametrize(
    "args",
    [("find", "-f", "jsonl", "--workers", "1"), ("find", "--workers", "1"), ("data",), ("--help",)],
    ids=["jsonl", "table", "data", "help"],
)
def test_a_closed_pipe_ends_quietly(
    samples: dict[str, Path], library: Path, home: Path, args: tuple[str, ...]
) -> None:
    """``selfscan find ... | head -1``: when the reader goes away, selfscan stops without an
    error message (exit status 141, as for SIGPIPE), whether it writes records, a table (which
    rich writes) or help."""
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    if args[0] == "find":
        args = (*args, "--me", str(samples["yaoming"]), str(library))
    proc = subprocess.Popen(command(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before selfscan writes its first line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141, err
    assert "error" not in err and "Traceback" not in err, err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args", [("find", "-f", "jsonl", "--workers", "1"), ("data",), ("--help",)]
)
def test_standard_output_that_cannot_be_written_is_one_error(
    samples: dict[str, Path], library: Path, home: Path, args: tuple[str, ...]
) -> None:
    """``> /dev/full`` (a full disk): one line saying so and status 1, not an internal error or,
    for help, a traceback. A closed standard output (``>&-``) is no error for what is only
    shown (help, tables); records would be lost, and are refused (see the test below)."""
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    if args[0] == "find":
        args = (*args, "--me", str(samples["yaoming"]), str(library))
    with open("/dev/full", "w") as full:
        done = subprocess.run(command(*args), env=env, stdout=full, stderr=subprocess.PIPE)
    said = done.stderr.decode()
    assert done.returncode == 1, said
    assert said.strip() == "error: cannot write to standard output: No space left on device"
    closed = subprocess.run(
        [*command(*args)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert closed.returncode == (1 if args[0] == "find" else 0), closed.stderr
    assert b"Traceback" not in closed.stderr, closed.stderr


def test_records_on_standard_output_are_data_only_whatever_the_locale(
    samples: dict[str, Path], home: Path, tmp_path: Path
) -> None:
    """What a script reads on stdout parses: JSONL under a latin-1 locale with a name in another
    script (it stopped half-written, an internal error), ``-o /dev/stdout`` (the summary was
    written after the records), ``data --json`` with FORCE_COLOR set (colour codes in the JSON)
    and a profile photo whose name is not UTF-8 (raw bytes in the JSON)."""
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copyfile(samples["players"], lib / "写真.jpg")
    odd = os.fsdecode(bytes(tmp_path) + b"/me\xe9\xff.jpg")
    shutil.copyfile(samples["yaoming"], odd)
    env = {**os.environ, "SELFSCAN_HOME": str(home), "FORCE_COLOR": "1"}
    assert subprocess.run(command("enroll", odd), env=env, capture_output=True).returncode == 0
    runs = [
        ({"PYTHONIOENCODING": "latin-1"}, ("find", lib, "-f", "jsonl", "--workers", "1")),
        ({}, ("find", lib, "-f", "jsonl", "-o", "/dev/stdout", "--workers", "1")),
        ({}, ("find", lib, "-f", "json", "-o", "/dev/fd/1", "--workers", "1")),
    ]
    for extra, args in runs:
        done = subprocess.run(command(*args), env={**env, **extra}, capture_output=True)
        assert done.returncode == 0, done.stderr
        text = done.stdout.decode("utf-8")
        records = (
            json.loads(text)["results"]
            if "json" in args
            else list(map(json.loads, text.splitlines()))
        )
        assert [(Path(r["path"]).name, r["status"]) for r in records] == [("写真.jpg", "match")]
    done = subprocess.run(command("data", "--json"), env=env, capture_output=True)
    listed = json.loads(done.stdout.decode("utf-8"))
    photos = [p for profile in listed["profiles"] for p in profile["photos"]]
    assert [os.fsencode(p["path"] if isinstance(p, dict) else p) for p in photos] == [
        os.fsencode(odd)
    ]


def test_an_import_broken_by_ctrl_c_is_an_interruption(
    samples: dict[str, Path], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while onnxruntime is being imported surfaces as its ImportError ("initialization
    failed"): that was an internal error, status 70, telling the user the install was broken."""
    from selfscan import cli_boundary, ops

    def interrupted(*args: object, **kwargs: object) -> None:
        try:
            cli_boundary._stop(signal.SIGINT, None)
        except KeyboardInterrupt:
            raise ImportError("initialization failed") from None

    monkeypatch.setattr(cli_boundary, "_signalled", [False])
    monkeypatch.setattr(ops, "enroll", interrupted)
    code, _, err = run("enroll", str(samples["yaoming"]))
    assert code == 130 and err.strip() == "interrupted", err


def test_a_data_dir_that_is_a_file_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "home").write_text("not a folder")
    monkeypatch.setenv("SELFSCAN_HOME", str(tmp_path / "home"))
    for args in (["data"], ["find", "."]):
        code, out, err = run(*args)
        said = " ".join((out + err).split())
        assert code == 1 and "is not a folder" in said and "Traceback" not in said, said


def test_report_never_replaces_a_photo_and_is_private(
    samples: dict[str, Path], library: Path, tmp_path: Path
) -> None:
    """``-o`` onto a photo (here one being scanned) is refused before the scan and the photo is
    untouched; an existing report is replaced with mode 0600 whatever its mode was."""
    me = str(samples["yaoming"])
    photo = library / "t1.jpg"
    before = photo.read_bytes()
    code, _, err = run("find", "--me", me, str(library), "-f", "jsonl", "-o", str(photo))
    said = " ".join(err.split())
    assert code == 1 and "never overwrites photos" in said, said
    assert photo.read_bytes() == before
    renamed = tmp_path / "holiday.txt"  # a JPEG under another name is still a photo
    renamed.write_bytes(before)
    assert run("find", "--me", me, str(library), "-f", "csv", "-o", str(renamed))[0] == 1
    assert renamed.read_bytes() == before
    report = tmp_path / "found.jsonl"
    for earlier, fmt in (("", "csv"), ("csv", "html"), ("html", "json"), ("json", "jsonl")):
        if earlier:  # each of selfscan's formats may be replaced by a report
            report.chmod(0o644)
        code, _, err = run("find", "--me", me, str(library), "-f", fmt, "-o", str(report))
        assert code == 0, err
    assert len(report.read_text().splitlines()) == 3
    assert report.stat().st_mode & 0o777 == 0o600
    for name, data in (("notes.txt", b"my notes\n"), ("clip.avi", b"RIFF\x00\x00AVI LIST")):
        mine = tmp_path / name  # any other file of the user's, known to sniff or not
        mine.write_bytes(data)
        code, _, err = run("find", "--me", me, str(library), "-f", "csv", "-o", str(mine))
        assert code == 1 and "not a selfscan report" in " ".join(err.split()), err
        assert mine.read_bytes() == data
    link = tmp_path / "latest.jsonl"  # a link to the report: the report is replaced, not the link
    link.symlink_to(report)
    assert run("find", "--me", me, str(library), "-f", "jsonl", "-o", str(link))[0] == 0
    assert link.is_symlink() and len(report.read_text().splitlines()) == 3
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_output_dash_is_stdout_and_a_table_is_not_written_to_a_file(
    samples: dict[str, Path], library: Path, tmp_path: Path
) -> None:
    me = str(samples["yaoming"])
    code, out, _ = run("find", "--me", me, str(library), "-f", "html", "-o", "-", "--workers", "1")
    assert code == 0 and out.lstrip().startswith("<!DOCTYPE html>") and not Path("-").exists()
    code, _, err = run("find", str(library), "-o", str(tmp_path / "r.txt"))
    assert code == 1 and "the table is for the terminal" in " ".join(err.split())
    assert not (tmp_path / "r.txt").exists()


def test_the_report_format_follows_the_file_name(
    samples: dict[str, Path], library: Path, tmp_path: Path
) -> None:
    """``-o report.html`` without ``-f`` was refused ("the table is for the terminal"): the
    file's extension names the format; ``-f`` still decides when given."""
    me = str(samples["yaoming"])
    for name, starts in (("r.html", "<!DOCTYPE html>"), ("r.CSV", "path,status"), ("r.json", "{")):
        code, _, err = run("find", "--me", me, str(library), "-o", str(tmp_path / name))
        assert code == 0, err
        assert (tmp_path / name).read_text(encoding="utf-8").startswith(starts), name
    code, _, err = run("find", "--me", me, str(library), "-o", str(tmp_path / "r.jsonl"))
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert code == 0 and {json.loads(line)["status"] for line in lines} >= {"match"}
    code, _, err = run(
        "find", "--me", me, str(library), "-f", "csv", "-o", str(tmp_path / "x.json")
    )
    assert code == 0 and (tmp_path / "x.json").read_text().startswith("path,status")


def test_paths_reach_the_terminal_as_written(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """A folder named ``[summer] Italy`` is shown as such (not read as markup, which dropped it
    or, for ``[/]``, failed after the work was done), and a file name's escape sequences are
    shown, never sent to the terminal."""
    folder = tmp_path / "[summer] Italy"
    folder.mkdir()
    (folder / "players.jpg").write_bytes(samples["players"].read_bytes())
    (folder / "esc\x1b[31mRED\x1b[0m.jpg").write_bytes(samples["players"].read_bytes())
    (tmp_path / "[").mkdir()
    report = tmp_path / "[" / "]x.jsonl"  # its path holds "[/]", rich's closing tag
    code, out, err = run(
        "find", "--me", str(samples["yaoming"]), str(folder), "--workers", "1",
        "-f", "jsonl", "-o", str(report), "--copy-to", str(folder / "[me]"),
    )  # fmt: skip
    said = " ".join((out + err).split())
    assert code == 0, said
    assert f"report written to {report}" in said
    # the two photos are one file's copies: one is placed
    assert f"1 matched photo copied into {folder / '[me]'} (1 identical to another match)" in said
    assert "\x1b" not in out + err
    (folder / "gpj.\u202eexe.jpg").write_bytes(
        samples["gdp"].read_bytes()
    )  # shows as "gpj.gpj.exe"
    code, out, _ = run("find", "--me", str(samples["yaoming"]), str(folder), "--workers", "1")
    assert "esc\\x1b[31mRED\\x1b[0m.jpg" in out and "\x1b" not in out
    code, out, _ = run(
        "find", "--me", str(samples["yaoming"]), str(folder), "--workers", "1", "--all"
    )
    assert "gpj.\\u202eexe.jpg" in out and "\u202e" not in out


def test_an_unusable_copy_destination_stops_before_the_scan(
    samples: dict[str, Path], library: Path, home: Path
) -> None:
    """``--copy-to`` onto a file is refused at once, not after the whole scan."""
    code, _, err = run(
        "find", "--me", str(samples["yaoming"]), str(library), "--copy-to", str(library / "t1.jpg")
    )
    assert code == 1 and "t1.jpg is a file, not a folder" in " ".join(err.split())
    assert "internal error" not in err
    assert not (home / "index.sqlite").exists()


def test_a_scanned_folder_is_no_copy_destination(
    samples: dict[str, Path], library: Path, home: Path
) -> None:
    """``find DIR --copy-to DIR`` would gather into the folder it scans, which is then left out:
    refused at once, saying so, instead of "nothing to scan"; a folder inside it still serves."""
    me = str(samples["yaoming"])
    for option in ("--copy-to", "--link-to"):
        code, _, err = run("find", "--me", me, str(library), option, f"{library}/./")
        said = " ".join(err.split())
        assert code == 1 and f"{library} is the {option} folder" in said, said
    assert not (home / "index.sqlite").exists()
    code, _, err = run("find", "--me", me, str(library), "--copy-to", str(library / "me"))
    assert code == 0 and "nothing to scan" not in err


def test_save_profile_says_what_it_replaced(
    samples: dict[str, Path], library: Path, tmp_path: Path, home: Path
) -> None:
    """``--save-profile`` stores the --me photos as the profile: over a profile enrolled with
    two photos it says so instead of dropping them silently; ``enroll`` counts photos once."""
    flipped = tmp_path / "mirror.jpg"
    Image.open(samples["yaoming"]).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(flipped)
    code, out, _ = run("enroll", str(samples["yaoming"]), str(flipped), str(flipped))
    assert code == 0 and "enrolled 2 photos" in " ".join(out.split())
    me = str(samples["yaoming"])
    code, out, err = run("find", "--me", me, "--save-profile", str(library), "--workers", "1")
    said = " ".join((out + err).split())
    assert code == 0 and "profile 'me' replaced (it had 2 reference photos" in said, said
    code, out, err = run("find", "--me", me, "--save-profile", str(library), "--workers", "1")
    assert "replaced (it had 1 reference photo;" in " ".join((out + err).split())
    code, _, err = run("enroll", str(tmp_path / "missing.jpg"))
    assert code == 1 and "missing.jpg does not exist" in " ".join(err.split())


def test_messages_are_one_line_in_logs_and_odd_widths_are_ignored(
    library: Path, home: Path
) -> None:
    """Written to a file or a pipe, an error is one line however long (it was wrapped at 80
    columns); COLUMNS=0, which made rich print nothing at all, is ignored."""
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    name = "a-profile-name-long-enough-to-go-past-eighty-columns"
    done = subprocess.run(
        command("find", "--profile", name, library), env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and name in done.stderr, done.stderr
    done = subprocess.run(
        command("find", library / "missing"),
        env={**env, "COLUMNS": "0"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "does not exist" in done.stderr, done.stderr


def test_a_relative_data_dir_does_not_move_with_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from selfscan.config import data_dir

    monkeypatch.setenv("SELFSCAN_HOME", "rel")
    monkeypatch.chdir(tmp_path)
    assert data_dir() == tmp_path / "rel"
    code, out, _ = run("doctor")
    assert code == 0 and "data dir not created yet" in out and not (tmp_path / "rel").exists()


def test_forget_missing_finds_members_gone_from_an_archive(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """A photo deleted from an archive that is still there (a zip, a tar) kept its strangers'
    faces for good: data did not count it and --missing did not forget it. (One in an archive
    inside an archive goes when that archive is scanned again: reading every inner archive
    cost its size on every ``data``.)"""
    lib = tmp_path / "lib"
    lib.mkdir()
    inner = io.BytesIO()

    def write(keep_all: bool) -> None:
        names = ("players", "gdp") if keep_all else ("players",)
        with zipfile.ZipFile(inner, "w") as zf:
            for n in names:
                zf.write(samples[n], f"{n}.jpg")
        with zipfile.ZipFile(lib / "album.zip", "w") as zf:
            for n in names:
                zf.write(samples[n], f"{n}.jpg")
            zf.writestr("nested.zip", inner.getvalue())
        with tarfile.open(lib / "album.tar", "w") as tf:
            for n in names:
                tf.add(samples[n], f"{n}.jpg")
        inner.seek(0)
        inner.truncate()

    write(keep_all=True)
    assert run("find", "--me", str(samples["yaoming"]), str(lib), "--workers", "1")[0] == 0
    info = json.loads(run("data", "--json")[1])["index"]
    assert (info["files"], info["missing"]) == (6, 0)
    write(keep_all=False)  # gdp.jpg taken out of each
    info = json.loads(run("data", "--json")[1])["index"]
    assert (info["files"], info["missing"]) == (6, 2)
    code, out, _ = run("forget", "--missing")
    assert code == 0 and "forgot 2 indexed files that no longer exist" in out
    db = sqlite3.connect(home / "index.sqlite")
    left = sorted(os.fsdecode(p).split("!/", 1)[1] for (p,) in db.execute("SELECT path FROM files"))
    db.close()
    nested = ["nested.zip!/gdp.jpg", "nested.zip!/players.jpg"]
    assert left == [*nested, "players.jpg", "players.jpg"]


def test_forget_a_path_or_what_no_longer_exists(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """The index holds the faces of everyone in a folder even after the folder is deleted:
    data says how many indexed files are gone, --missing forgets them and --path forgets a
    folder (or an archive) that still exists, faces and embeddings with them."""
    import shutil

    kept, gone = tmp_path / "kept", tmp_path / "gone"
    for folder, name in ((kept, "players"), (gone, "gdp")):
        folder.mkdir()
        shutil.copyfile(samples[name], folder / f"{name}.jpg")
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    assert run("find", str(kept), str(gone), "--workers", "1")[0] == 0
    shutil.rmtree(gone)
    info = json.loads(run("data", "--json")[1])["index"]
    assert (info["files"], info["missing"]) == (2, 1)
    code, out, _ = run("forget", "--missing")
    assert code == 0 and "forgot 1 indexed file that no longer exists" in out
    info = json.loads(run("data", "--json")[1])["index"]
    assert (info["files"], info["missing"]) == (1, 0) and info["faces"] > 100
    code, out, _ = run("forget", "--path", str(kept))
    assert code == 0 and f"forgot 1 indexed file under: {kept}" in " ".join(out.split())
    info = json.loads(run("data", "--json")[1])["index"]
    assert (info["files"], info["faces"], info["embeddings"]) == (0, 0, 0)
    assert (home / "profiles" / "me.json").exists()


def test_a_tilde_in_an_option_is_the_home_folder(
    samples: dict[str, Path], library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--copy-to=~/me`` reaches selfscan unexpanded (the shell expands ``~`` only at the start
    of a word); it means the home folder, not a folder named ``~``."""
    home_dir = tmp_path / "user"
    home_dir.mkdir()
    monkeypatch.setenv("HOME", str(home_dir))
    monkeypatch.chdir(tmp_path)
    me = "~/" + os.path.relpath(samples["yaoming"], home_dir)
    code, out, err = run(
        "find", f"--me={me}", str(library), "--copy-to=~/me", "-f", "csv", "--output=~/r.csv",
        "--workers", "1", "--no-progress",
    )  # fmt: skip
    assert code == 0, out + err
    assert (home_dir / "r.csv").is_file() and (home_dir / "me" / "players.jpg").is_file()
    assert not (tmp_path / "~").exists()


def test_data_lists_everything_when_the_index_is_damaged(
    samples: dict[str, Path], home: Path
) -> None:
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    (home / "index.sqlite").write_bytes(b"SQLite format 3\x00" + os.urandom(5000))
    code, out, err = run("data", "--json")
    assert code == 0, out + err
    info = json.loads(out)
    assert [p["name"] for p in info["profiles"]] == ["me"]
    assert "damaged" in info["index"]["problem"] and "forget --index" in info["index"]["problem"]
    assert info["index"]["bytes"] > 5000
    code, out, _ = run("data")
    assert code == 0 and "profile me" in out and "damaged" in out


def test_more_workers_than_cores_are_not_started(
    samples: dict[str, Path], library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each worker loads its own models: ``--workers 1000`` would start one per file in flight
    (and with a large library, run out of memory). One per core, and the run says so."""
    from selfscan import ops

    monkeypatch.setattr(ops, "cpu_cores", lambda: 1)
    started = []
    real = ops.FindSession.results

    def spy(self: ops.FindSession, *args: object, **kwargs: object) -> object:
        started.append(self.request.workers)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ops.FindSession, "results", spy)
    me = str(samples["yaoming"])
    code, out, err = run("find", "--me", me, str(library), "--workers", "1000", "-f", "jsonl")
    assert code == 0, err
    assert started == [1] and "--workers 1000: using 1, one per core" in err
    assert len(out.splitlines()) == 3


def test_forget_a_path_reached_through_a_symlink(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """A folder scanned through a symlink (say ~/Pictures on another disk) is forgotten by its
    real name, and a folder scanned by its real name through the symlink's."""
    import shutil

    real = tmp_path / "disk" / "photos"
    real.mkdir(parents=True)
    shutil.copyfile(samples["players"], real / "players.jpg")
    link = tmp_path / "pictures"
    link.symlink_to(real, target_is_directory=True)
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    for scanned, forgotten in ((link, real), (real, link)):
        assert run("find", str(scanned), "--workers", "1")[0] == 0
        assert json.loads(run("data", "--json")[1])["index"]["files"] == 1
        code, out, _ = run("forget", "--path", str(forgotten))
        assert code == 0 and "forgot 1 indexed file" in out, out
        assert json.loads(run("data", "--json")[1])["index"]["files"] == 0


def test_forget_a_profile_takes_its_interrupted_saves_with_it(
    samples: dict[str, Path], home: Path
) -> None:
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    temp = home / "profiles" / ".me.json.tmp4242"
    temp.write_bytes((home / "profiles" / "me.json").read_bytes())
    other = home / "profiles" / ".meadow.json.tmp7"  # another profile's: stays
    other.write_bytes(b"{")
    code, out, _ = run("data")
    assert "interrupted save" in " ".join(out.split())
    code, out, _ = run("forget", "--profile", "me")
    assert code == 0 and "profile temp file" in out
    assert not temp.exists() and not (home / "profiles" / "me.json").exists() and other.exists()


def test_doctor_fails_when_the_data_dir_cannot_be_written(
    samples: dict[str, Path], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data dir on a read-only mount: doctor said "ready" while every scan, enroll and forget
    failed there. (The operating system's answer is stood in for: root writes anywhere.)"""
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    from selfscan import doctor

    real = os.access
    monkeypatch.setattr(
        doctor.os, "access", lambda p, mode: False if Path(p) == home else real(p, mode)
    )
    code, out, _ = run("doctor")
    said = " ".join(out.split())
    assert code == 1 and f"the data dir {home} cannot be written" in said, said
    assert "ready" not in said


def test_doctor_fails_when_the_active_model_cannot_be_used(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``selfscan doctor && ...`` in a script: status 1, and why, when the active pack is corrupt
    or unknown; a corrupt pack's files are called a checksum mismatch, not "not installed"."""
    code, out, _ = run("doctor", "--json")
    assert code == 0 and json.loads(out)["problems"] == []
    pack = home / "models" / "buffalo_l"
    pack.mkdir(parents=True)
    for name in ("det_10g.onnx", "w600k_r50.onnx"):
        (pack / name).write_bytes(b"junk")
    monkeypatch.setenv("SELFSCAN_MODEL", "buffalo_l")
    code, out, _ = run("doctor")
    said = " ".join(out.split())
    assert code == 1 and "checksum mismatch" in said and "problem: active model" in said, said
    info = json.loads(run("doctor", "--json")[1])
    assert [p["checksums"] for p in info["packs"] if p["name"] == "buffalo_l"] == ["mismatch"]
    monkeypatch.setenv("SELFSCAN_MODEL", "nope")
    code, out, _ = run("doctor")
    assert code == 1 and "unknown model pack 'nope'" in " ".join(out.split())


def test_doctor_names_a_damaged_copy_even_when_another_is_used(home: Path) -> None:
    """A damaged buffalo_s in the data dir, the shipped one used instead: ``models list`` warned,
    ``doctor`` said all was well and listed no mismatch."""
    pack = home / "models" / "buffalo_s"
    pack.mkdir(parents=True)
    (pack / "w600k_mbf.onnx").write_bytes(b"junk")
    info = json.loads(run("doctor", "--json")[1])
    [ours] = [p for p in info["packs"] if p["name"] == "buffalo_s"]
    assert ours["checksums"] == "ok" and ours["directory"] != str(pack)
    assert ours["mismatches"] == [
        f"{pack / 'w600k_mbf.onnx'} has the wrong SHA-256 (corrupt or modified)"
    ]
    code, out, _ = run("doctor")
    assert code == 0 and "ignored: the copy above is used" in " ".join(out.split())


def test_the_copy_destination_inside_the_library_is_not_scanned(
    samples: dict[str, Path], library: Path, home: Path
) -> None:
    """``find ~/Pictures --copy-to ~/Pictures/me``, run monthly: last month's copies are not
    new photos of you (they were counted as matches and offered for copying again)."""
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    dest = library / "me"
    counts = []
    for _ in range(2):
        code, out, err = run("find", str(library), "--copy-to", str(dest), "-f", "jsonl")
        assert code == 0, err
        records = [json.loads(line) for line in out.splitlines()]
        assert not any("/me/" in r.get("path", "") for r in records)
        counts.append(sum(r.get("status") == "match" for r in records))
    assert counts[0] == counts[1] >= 1
    assert "0 matched photos copied" in " ".join(err.split()) and "already there" in err
    assert sorted(p.name for p in dest.iterdir()) == [".selfscan-gathered", "players.jpg"]
    # A later scan without --copy-to leaves the gathered copies out too, and says so; named
    # on its own, the folder is scanned.
    code, out, err = run("find", str(library), "-f", "jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and not any("/me/" in r.get("path", "") for r in records)
    assert sum(r.get("status") == "match" for r in records) == counts[0]
    assert f"not scanned: {dest}, where an earlier --copy-to" in " ".join(err.split())
    for named in ([dest], [library, dest]):  # named, it is scanned, whatever the order
        code, out, err = run("find", *map(str, named), "-f", "jsonl")
        paths = [json.loads(line).get("path", "") for line in out.splitlines()]
        assert code == 0 and str(dest / "players.jpg") in paths, paths
        assert "not scanned" not in err  # and not said to be left out


def test_the_json_summary_says_what_was_gathered(
    samples: dict[str, Path], library: Path, tmp_path: Path
) -> None:
    """A script could not tell from the records what --copy-to placed: the JSON summary says."""
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    dest = tmp_path / "me"
    shutil.copyfile(library / "players.jpg", library / "players-copy.jpg")
    summaries, files = [], []
    for _ in range(2):
        code, out, err = run("find", str(library), "--copy-to", str(dest), "-f", "json")
        assert code == 0, err
        summaries.append(json.loads(out)["summary"]["gathered"])
        files.append({Path(f.pop("path")).name: f for f in summaries[-1].pop("files")})
    # where each match is in the folder: the records are written before anything is placed
    assert set(files[0]) == {"players.jpg", "players-copy.jpg"}
    assert sorted(f["how"] for f in files[0].values()) == ["copied", "identical"]
    (placed,) = {f["dest"] for f in files[0].values()}  # the one copy of the two
    assert Path(placed).parent == dest and Path(placed).is_file()
    assert {f["how"] for f in files[1].values()} == {"already_there"}
    assert {f["dest"] for f in files[1].values()} == {placed}
    first = {"folder": str(dest), "placed": 1, "linked": 0, "already_there": 0}
    assert summaries[0] == {**first, "identical": 1, "not_placed": 0}
    again = {"placed": 0, "already_there": 2, "identical": 0, "not_placed": 0}
    assert summaries[1] == {"folder": str(dest), "linked": 0, **again}
    code, out, _ = run("find", str(library), "-f", "json")
    assert code == 0 and json.loads(out)["summary"]["gathered"] is None


def test_a_gathered_link_whose_photo_changed_since_is_said(
    samples: dict[str, Path], library: Path, tmp_path: Path
) -> None:
    """A hard link placed by --link-to is the original file: a photo overwritten in place by
    someone else's shows that one in the gathered folder too, its sidecar still tagging you.
    The next run says so, naming the link, whichever of --link-to or --copy-to it runs with."""
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    dest = tmp_path / "me"
    team = library / "players.jpg"
    code, _, err = run("find", str(library), "--link-to", str(dest), "--xmp")
    assert code == 0 and (dest / "players.jpg").stat().st_ino == team.stat().st_ino, err
    code, _, err = run("find", str(library), "--link-to", str(dest))
    assert code == 0 and "no longer shows you" not in err  # still him: nothing to say
    with open(team, "r+b") as fh:  # replaced in place, as cp or an editor does
        fh.write(samples["gdp"].read_bytes())
        fh.truncate()
    for option in ("--link-to", "--copy-to"):
        code, _, err = run("find", str(library), option, str(dest))
        said = " ".join(err.split())
        assert code == 0, err
        assert f"{dest / 'players.jpg'} is a hard link to {team}, which no longer shows you" in said
        assert "(and its .xmp, which tags you in it)" in said
    code, _, err = run("find", str(library), "--copy-to", str(tmp_path / "other"))
    assert "no longer shows you" not in err
    with open(team, "r+b") as fh:  # now damaged: it can no longer be read at all
        fh.write(b"\xff\xd8 not a photo any more")
        fh.truncate()
    code, _, err = run("find", str(library), "--link-to", str(dest))
    said = " ".join(err.split())
    assert code == 0 and f"hard link to {team}, which can no longer be read" in said, said


def test_an_earlier_report_left_by_a_killed_scan_is_cleaned_up(
    samples: dict[str, Path], library: Path, tmp_path: Path
) -> None:
    """``kill -9`` during a scan leaves ``.found.jsonl.PID.partial`` beside the report; the
    next scan writing that report removes it (a running scan's is left alone)."""
    import subprocess as sp

    report = tmp_path / "found.jsonl"
    dead = sp.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".found.jsonl.{dead.pid}.partial"
    stale.write_text("half a report")
    running = tmp_path / f".found.jsonl.{os.getppid()}.partial"  # a live process's
    running.write_text("being written")
    code, _, err = run("find", "--me", str(samples["yaoming"]), str(library), "-f", "jsonl",
                       "-o", str(report))  # fmt: skip
    assert code == 0, err
    assert not stale.exists() and running.exists()
    assert report.is_file()


def test_nothing_to_scan_says_why(tmp_path: Path, samples: dict[str, Path]) -> None:
    (tmp_path / "notes.txt").write_text("not a photo")
    code, out, err = run("find", "--me", str(samples["yaoming"]), str(tmp_path))
    said = " ".join((out + err).split())
    assert code == 0 and "0 files scanned" in said and "nothing to scan" in said, said


def test_a_failed_first_enroll_leaves_no_data_dir(tmp_path: Path, home: Path) -> None:
    """Nothing stored, nothing left: an enroll that fails before anything is saved does not
    leave an empty data dir behind (a data dir that was there stays)."""
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    blank = tmp_path / "blank.jpg"
    Image.new("RGB", (400, 300), (120, 130, 140)).save(blank)
    for photo in (text, blank):
        code, _, err = run("enroll", str(photo))
        assert code == 1 and "error:" in err
        assert not home.exists(), photo
    home.mkdir(mode=0o700, parents=True)
    assert run("enroll", str(blank))[0] == 1
    assert home.is_dir()


def test_enrolling_a_photo_again_renews_it(samples: dict[str, Path], home: Path) -> None:
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    code, out, _ = run("enroll", str(samples["yaoming"]))
    said = " ".join(out.split())
    assert code == 0 and "(1 already in it, renewed), which now has 1 reference photo" in said


def test_the_same_photo_under_another_name_is_enrolled_once(
    samples: dict[str, Path], home: Path, tmp_path: Path
) -> None:
    """A copy of an enrolled photo (renamed, or converted to PNG) adds nothing: it is said, not
    stored as a second reference."""
    copy = tmp_path / "copy of yao.jpg"
    shutil.copyfile(samples["yaoming"], copy)
    converted = tmp_path / "converted.png"
    with Image.open(samples["yaoming"]) as im:
        im.save(converted)
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    code, out, err = run("enroll", str(copy), str(converted))
    said = " ".join((out + err).split())
    assert code == 0, said
    assert "copy of yao.jpg is the same photo as yaoming.jpg (similarity 1.00): not" in said
    assert "converted.png is the same photo as yaoming.jpg" in said
    assert "enrolled 0 photos into profile 'me' (2 the same as a photo in it, not added)" in said
    assert "which now has 1 reference photo" in said


def test_forget_in_a_read_only_data_dir_is_one_line(
    samples: dict[str, Path], library: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data dir that cannot be written (its permissions, a read-only mount): forget says
    which file it could not delete and what to check (it was an internal error, status 70)."""
    assert run("find", "--me", str(samples["yaoming"]), str(library), "--workers", "1")[0] == 0
    real = Path.unlink

    def refuse(self: Path, missing_ok: bool = False) -> None:
        if self.name == "index.sqlite":
            raise PermissionError(13, "Permission denied", str(self))
        real(self, missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)
    code, out, err = run("forget", "--all")
    said = " ".join(err.split())
    assert code == 1, (out, err)
    assert f"cannot delete {home / 'index.sqlite'} (Permission denied)" in said
    assert "internal error" not in said


def test_forget_models_deletes_only_the_packs_selfscan_made(
    samples: dict[str, Path], home: Path
) -> None:
    """``models/`` and ``profiles/`` may hold what is not selfscan's: ``forget --all --models``
    deleted the whole ``models`` folder and any JSON named like a profile. Now the packs, the
    choice of pack, an interrupted import's folder and a partial download go (``data`` lists
    the last two), and the rest stays."""
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    models = home / "models"
    (models / "buffalo_s").mkdir(parents=True)
    (models / "buffalo_s" / "w600k_mbf.onnx").write_bytes(b"weights")
    (models / "active").write_text("buffalo_s\n")
    (models / ".buffalo_l-new-abc123").mkdir()
    (models / "buffalo_l-0123456789ab.zip.part").write_bytes(b"x" * 1000)
    mine = {
        models / "cad" / "part.stl": b"mine",
        home / "profiles" / "settings.json": b'{"theme": "dark"}',
    }
    for path, data in mine.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    info = json.loads(run("data", "--json")[1])
    assert [(m["name"], m["kind"]) for m in info["models"]] == [
        ("buffalo_s", "pack"), ("active", "choice"), (".buffalo_l-new-abc123", "leftover"),
        ("buffalo_l-0123456789ab.zip.part", "partial"),
    ]  # fmt: skip
    assert [p["name"] for p in info["profiles"]] == ["me"]
    assert sorted(info["others"]["paths"]) == sorted(str(p) for p in mine)
    code, out, _ = run("forget", "--all", "--models")
    assert code == 0, out
    assert {p: p.read_bytes() for p in mine} == mine
    assert sorted(p.name for p in models.iterdir()) == ["cad"]
    assert not (home / "profiles" / "me.json").exists()


def test_forget_leaves_what_the_user_put_in_selfscans_folders(
    samples: dict[str, Path], home: Path
) -> None:
    """A note in a pack's folder, or a folder where the index would be: ``data`` said they were
    not selfscan's and would never be deleted, then ``forget`` deleted them whole."""
    pack = home / "models" / "buffalo_s"
    pack.mkdir(parents=True)
    (pack / "w600k_mbf.onnx").write_bytes(b"weights")
    (pack / "notes.txt").write_text("mine")
    (home / "index.sqlite").mkdir()
    (home / "index.sqlite" / "notes.txt").write_text("mine too")
    info = json.loads(run("data", "--json")[1])
    assert sorted(info["others"]["paths"]) == [
        str(home / "index.sqlite" / "notes.txt"),
        str(pack / "notes.txt"),
    ]
    assert [(m["name"], m["bytes"]) for m in info["models"]] == [("buffalo_s", 7)]
    code, out, err = run("forget", "--all", "--models")
    assert code == 0, (out, err)
    assert (pack / "notes.txt").read_text() == "mine" and not (pack / "w600k_mbf.onnx").exists()
    assert (home / "index.sqlite" / "notes.txt").read_text() == "mine too"
    assert "its folder is kept" in " ".join(out.split())
    code, _, err = run("find", str(samples["yaoming"]), "--me", str(samples["yaoming"]))
    assert code == 1 and "is a folder, not selfscan's index" in " ".join(err.split())


def test_doctor_shows_a_data_dir_with_brackets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder named "x[/]" was read as markup: doctor failed with an internal error."""
    monkeypatch.setenv("SELFSCAN_HOME", str(tmp_path / "Photos [backup]" / "x[/]"))
    code, out, err = run("doctor")
    assert code == 0, err
    assert "Photos [backup]/x[/]" in out.replace("\n", "")


def test_data_lists_the_rest_when_the_index_is_damaged_inside(
    samples: dict[str, Path], library: Path, home: Path
) -> None:
    """An index that opens but whose pages are damaged made ``data`` list nothing at all."""
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    assert run("find", str(library), "--workers", "1")[0] == 0
    db = home / "index.sqlite"
    data = bytearray(db.read_bytes())
    for at in range(8192, len(data), 4096):
        data[at + 100 : at + 300] = b"\xab" * 200
    db.write_bytes(bytes(data))
    for wal in home.glob("index.sqlite-*"):
        wal.unlink()
    code, out, err = run("data", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert [p["name"] for p in info["profiles"]] == ["me"]
    assert "damaged" in info["index"]["problem"] and info["index"]["bytes"] > 0


def test_narrow_terminals_fold_names_instead_of_cutting_them() -> None:
    """At 40 columns ``models list`` showed both packs as ``buff…``: nothing to tell them by."""
    result = runner.invoke(app, ["models", "list"], env={**WIDTH, "COLUMNS": "40"})
    assert result.exit_code == 0
    joined = "".join(result.stdout.split())  # folded cells: the name across lines
    assert "buffalo_s" in joined and "buffalo_l" in joined and "…" not in result.stdout


def test_an_undecodable_name_reads_the_same_in_the_terminal_as_in_the_reports() -> None:
    """A name byte that is not UTF-8 reached the terminal raw (a replacement character there)
    while the CSV and the report show ``\\xe9``."""
    from rich.console import Console

    from selfscan import render
    from selfscan.types import FileResult

    buf = io.StringIO()
    table = render.results_table([FileResult("/p/caf\udce9 x.jpg", "match", 0.7)], "photos")
    Console(file=buf, width=100).print(table)
    assert "caf\\xe9 x.jpg" in buf.getvalue() and "\udce9" not in buf.getvalue()


def test_all_lists_every_file_once_under_a_title_that_says_so(
    samples: dict[str, Path], library: Path
) -> None:
    (library / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    code, out, _ = run(
        "find", "--me", str(samples["yaoming"]), str(library), "--all", "--no-store",
        "--workers", "1",
    )  # fmt: skip
    assert code == 0
    assert "files scanned" in out and "photos of you" not in out
    assert out.count("broken.jpg") == 1 and "could not scan" in out  # in the errors table only


def test_forget_on_a_full_disk_says_what_still_works(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleting rows needs a little room: on a full disk ``forget --path`` advised a scan
    with --no-store. It says to free some space, or that ``forget --index`` still works."""
    import sqlite3

    from selfscan.index import Index, index_path

    Index(index_path()).close()

    def full(self: Index, roots: list[str]) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Index, "forget_under", full)
    code, _, err = run("forget", "--path", str(tmp_path))
    said = " ".join(err.split())
    assert code == 1 and "deleting rows needs a little free space" in said
    assert "selfscan forget --index" in said and "--no-store" not in said


def test_an_index_that_is_a_symlink_is_not_used_and_forget_says_what_it_removed(
    samples: dict[str, Path], library: Path, home: Path, tmp_path: Path
) -> None:
    """Through a symlink named index.sqlite, a scan wrote its index outside the data dir, and
    ``forget --all`` removed the link saying it removed the index: the embeddings stayed."""
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    elsewhere = tmp_path / "elsewhere.sqlite"
    (home / "index.sqlite").symlink_to(elsewhere)
    code, _, err = run("find", str(library), "--workers", "1", "-f", "jsonl")
    said = " ".join(err.split())
    assert code == 1 and "index.sqlite is a symlink" in said and not elsewhere.exists()
    elsewhere.write_bytes(b"")
    code, out, _ = run("forget", "--all")
    said = " ".join(out.split())
    assert code == 0 and f"(a link; what it leads to, {elsewhere}, is left there)" in said
    assert elsewhere.exists() and not (home / "index.sqlite").is_symlink()


def test_a_name_with_an_emoji_code_is_shown_as_written() -> None:
    """A photo named ``party:smile:.jpg`` was shown as ``party😄.jpg``, and printing an error
    imported rich's emoji table late, which fails when the process is out of open files."""
    code = (
        "import sys; from selfscan import render; from selfscan.cli_boundary import err; "
        "from selfscan.types import FileResult; "
        "err.print(render.results_table([FileResult('/p/party:smile:.jpg', 'match', 0.7)], 't')); "
        "print('rich._emoji_codes' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "COLUMNS": "100"},
    )  # fmt: skip
    assert "party:smile:.jpg" in done.stderr and done.stdout.strip() == "False"


def test_records_to_a_closed_standard_output_are_refused(
    samples: dict[str, Path], library: Path, home: Path
) -> None:
    """``selfscan find ... -f jsonl >&-`` threw every record away and said status 0."""
    done = subprocess.run(
        command("find", library, "--me", samples["yaoming"], "--no-store", "-f", "jsonl"),
        env={**os.environ, "SELFSCAN_HOME": str(home)}, capture_output=False,
        stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.close(1), check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "standard output is closed: the records would be lost; use -o" in done.stderr


def test_a_memory_limit_too_low_for_the_models_is_one_line(
    samples: dict[str, Path], library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under 'ulimit -v 450000' importing OpenCV crashed the scan (a segmentation fault, no
    message); under 1 GB, two workers failed on half the files where one failed on none."""
    from selfscan import workers

    monkeypatch.setattr(workers, "address_space_mib", lambda: 439.0)
    for args in (["find", str(library), "--me", str(samples["yaoming"])], ["demo"]):
        code, _, err = run(*args)
        said = " ".join(err.split())
        assert code == 1 and "(ulimit -v: 439 MiB) is too low to load the face models" in said
    assert run("data")[0] == 0  # what needs no model still works: forget, say
    monkeypatch.setattr(workers, "address_space_mib", lambda: 1500.0)
    assert workers.default_workers(available_mib=64_000) == 1
    monkeypatch.setattr(workers, "address_space_mib", lambda: None)
    assert workers.default_workers(available_mib=64_000) == workers.cpu_cores()


def test_what_a_scan_left_out_is_said(samples: dict[str, Path], tmp_path: Path) -> None:
    """A phone backup's trash (``.trashed-...jpg``), hidden folders, RAW files: skipped without a
    word, so a photo of you there went unnoticed."""
    lib = tmp_path / "lib"
    (lib / ".thumbnails").mkdir(parents=True)
    shutil.copyfile(samples["gdp"], lib / "gdp.jpg")
    shutil.copyfile(samples["yaoming"], lib / ".trashed-1700000000-IMG_1.jpg")
    for name in ("IMG_1.AAE", "IMG_2.dng", "IMG_3.dng"):
        (lib / name).write_bytes(b"x")
    me = str(samples["yaoming"])
    code, _, err = run("find", str(lib), "--me", me, "--no-store", "--workers", "1")
    said = " ".join(err.split())
    assert code == 0
    assert "left out: 1 hidden photo, video or archive; 1 hidden folder; 3 files of other" in said
    assert "types (.dng 2, .aae 1)" in said
    code, out, _ = run("find", str(lib), "--me", me, "--no-store", "-f", "json", "--workers", "1")
    left_out = json.loads(out)["summary"]["left_out"]
    assert left_out == {
        "hidden_files": 1,
        "hidden_folders": 1,
        "other": {".aae": 1, ".dng": 2},
        "library_copies": 0,
        "library_files": 0,
        "gathered": [],
    }


@pytest.mark.parametrize("packing", ["zip", "tgz"])
def test_what_an_archive_left_out_is_said(
    samples: dict[str, Path], tmp_path: Path, packing: str
) -> None:
    """Members of an archive count as a folder's files would, also in a tar (Takeout's .tgz),
    whose members are counted as it is read (only a zip's were)."""
    members = {
        "Takeout/Google Photos/gdp.jpg": samples["gdp"].read_bytes(),
        "Takeout/Google Photos/.trashed-IMG_1.jpg": samples["yaoming"].read_bytes(),
        "Takeout/.cache/x.jpg": b"x",
        "Takeout/Google Photos/IMG_2.dng": b"x",
        "Takeout/archive_browser.html": b"<html></html>",
    }
    archive = tmp_path / f"takeout-001.{packing}"
    write_archive(archive, members)
    me = str(samples["yaoming"])
    code, out, _ = run(
        "find", str(archive), "--me", me, "--no-store", "-f", "json", "--workers", "1"
    )
    assert code == 0
    left_out = json.loads(out)["summary"]["left_out"]
    assert (left_out["hidden_files"], left_out["hidden_folders"]) == (1, 1), left_out
    assert left_out["other"] == {".dng": 1}, left_out


def test_a_file_where_selfscan_keeps_a_folder_is_named(
    samples: dict[str, Path], home: Path
) -> None:
    """A file named ``profiles`` in the data dir gave "cannot create data dir ...: File
    exists", which says neither what is wrong nor what to do."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / "profiles").write_text("not a folder")
    info = json.loads(run("data", "--json")[1])  # listed as not selfscan's, never deleted
    assert info["others"]["paths"] == [str(home / "profiles")]
    for args in (["enroll"], ["find", "--workers", "1"]):
        code, _, err = run(*args, str(samples["yaoming"]))
        said = " ".join(err.split())
        assert code == 1 and f"{home / 'profiles'} is a file where selfscan keeps a folder" in said
    assert (home / "profiles").read_text() == "not a folder"
