"""A scan of the whole hostile corpus in one run: it finishes, every bad file is an error with a
reason, no traceback, nothing written, every input byte-for-byte unchanged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from selfscan import ops
from selfscan.cli import app
from selfscan.shown import printable
from tests.child import selfscan
from tests.hostile import VOLATILE, Mutator, build_hostile_corpus, snapshot


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, samples: dict[str, Path]):
    root = tmp_path_factory.mktemp("hostile") / "corpus"
    expected = build_hostile_corpus(root, samples)
    yield root, expected
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                os.chmod(p, 0o600)


def test_library_scan_of_the_corpus(
    corpus: tuple[Path, dict[str, str]], samples: dict[str, Path]
) -> None:
    root, expected = corpus
    assert len(expected) >= 30
    before = snapshot(root, ignore=VOLATILE)
    mutate = Mutator(root, after=1)
    session = ops.prepare_find(
        ops.FindRequest(paths=[root], me=[samples["yaoming"]], workers=1, store=True)
    )
    results = list(session.results(mutate))
    session.close()
    assert mutate.done
    by_rel = {os.path.relpath(r.path, root): r for r in results if "!/" not in r.path}
    for rel, outcome in expected.items():
        if rel in VOLATILE or rel not in by_rel:
            continue
        r = by_rel[rel]
        if outcome == "error":
            assert r.status == "error", (rel, r.status)
        elif outcome == "no_face":
            assert r.status == "no_face", (rel, r.status, r.error)
        if r.status == "error":
            assert r.error and len(r.error) > 8, rel
            assert "Traceback" not in r.error
    listed = {rel for rel, outcome in expected.items() if outcome != "any"}
    assert listed <= set(by_rel), listed - set(by_rel)
    assert by_rel["images/yaoming.jpg"].status == "match"
    fb = "facebook/your_facebook_activity/posts/"
    broken = by_rel[fb + "album/1.json"]
    assert broken.status == "error" and "left out" in (broken.error or "")
    assert by_rel[fb + "media/Album_1/123456.jpg"].status != "error"
    gone = by_rel.get(VOLATILE[0])
    assert gone is not None and gone.status == "error" and "disappeared" in (gone.error or "")
    members = [r for r in results if "!/" in r.path]
    reasons = " ".join(r.error or "" for r in members if r.status == "error")
    for word in ("encrypted", "unsafe", "bomb"):
        assert word in reasons.lower(), word
    assert snapshot(root, ignore=VOLATILE) == before
    assert not (root.parent / "evil.jpg").exists()


def test_cli_scan_of_the_corpus(
    corpus: tuple[Path, dict[str, str]], samples: dict[str, Path], home: Path
) -> None:
    root, _ = corpus
    before = snapshot(root, ignore=VOLATILE)
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    done = selfscan(
        "find", "--me", samples["yaoming"], root, "--format", "jsonl", "--workers", "2", env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    # what libjpeg and libtiff print about damaged files stays in the worker processes
    assert "Corrupt JPEG" not in done.stderr and "not yet in table" not in done.stderr, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) >= 30
    assert all(r["error"] for r in records if r["status"] == "error")
    assert snapshot(root, ignore=VOLATILE) == before


def test_half_characters_in_export_text(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """JSON text cut inside an emoji leaves a lone surrogate (``\\ud83d``), which no UTF-8 file can
    hold: the CSV and HTML reports are written all the same, the half character shown as U+FFFD;
    and text stored by the index before is shown escaped."""
    trip = tmp_path / "Takeout/Google Photos/Trip"
    trip.mkdir(parents=True)
    (trip / "IMG_1.jpg").write_bytes(samples["yaoming"].read_bytes())
    (trip / "IMG_1.jpg.json").write_text(
        '{"title": "IMG_1\\udc00.jpg", "description": "caf\\ud83d", '
        '"people": [{"name": "A\\udfff"}]}'
    )
    # (the CSV has the title, the report's card the description)
    for fmt, shown in (("csv", "IMG_1\ufffd.jpg"), ("html", "caf\ufffd"), ("jsonl", "caf\ufffd")):
        out = tmp_path / f"out.{fmt}"
        result = CliRunner().invoke(
            app,
            ["find", "--me", str(samples["yaoming"]), str(tmp_path / "Takeout"), "-f", fmt,
             "-o", str(out), "--no-progress", "--workers", "1"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        text = out.read_text(encoding="utf-8")
        assert shown in text, fmt
    assert printable("caf\ud83d \udfff " + os.fsdecode(b"\xff")) == "caf\\ud83d \\udfff \\xff"
