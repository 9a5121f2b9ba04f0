"""The promises: nothing leaves the machine, photos are never modified, nothing is written
outside the data dir and the outputs asked for."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.child import selfscan

AUDIT_HOOK = textwrap.dedent(
    """
    import os, socket, sys

    _log = os.environ["SELFSCAN_TEST_NETLOG"]

    def _hook(event, args):
        if event == "socket.__new__" and args[1] == socket.AF_UNIX:
            return
        if event.startswith("socket.") or event in ("urllib.Request", "http.client.connect"):
            with open(_log, "a") as fh:
                fh.write(f"{os.getpid()} {event} {args!r}\\n")

    sys.addaudithook(_hook)
    """
)


@pytest.fixture
def sandbox(tmp_path: Path, home: Path, samples: dict[str, Path]) -> dict[str, object]:
    """A fake HOME, TMPDIR and working dir, a library, and a network audit log that every
    Python process (workers included) appends to."""
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(AUDIT_HOOK)
    lib = tmp_path / "library"
    lib.mkdir()
    for key in ("players", "gdp", "t1"):
        shutil.copyfile(samples[key], lib / f"{key}.jpg")
    (lib / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    for name in ("fakehome", "tmp", "cwd"):
        (tmp_path / name).mkdir()
    netlog = tmp_path / "net.log"
    paths = [str(hook_dir)] + [p for p in os.environ.get("PYTHONPATH", "").split(":") if p]
    env = {
        **os.environ,
        "PYTHONPATH": ":".join(paths),
        "SELFSCAN_TEST_NETLOG": str(netlog),
        "SELFSCAN_HOME": str(home),
        "HOME": str(tmp_path / "fakehome"),
        "TMPDIR": str(tmp_path / "tmp"),
    }
    return {"env": env, "lib": lib, "netlog": netlog, "root": tmp_path, "cwd": tmp_path / "cwd"}


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """sha256, mtime_ns and mode of every file under ``root``."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            st = p.stat()
            out[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_mode)
    return out


def test_no_socket_is_opened(sandbox: dict, samples: dict[str, Path]) -> None:
    env, lib, cwd = sandbox["env"], sandbox["lib"], sandbox["cwd"]
    assert selfscan("enroll", str(samples["yaoming"]), env=env, cwd=cwd).returncode == 0
    done = selfscan("find", str(lib), "--workers", "2", "--format", "jsonl", env=env, cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 4
    assert selfscan("demo", env=env, cwd=cwd).returncode == 0
    assert selfscan("doctor", env=env, cwd=cwd).returncode == 0
    log = sandbox["netlog"]
    assert not log.exists() or log.read_text() == "", log.read_text()


def test_the_audit_hook_does_see_sockets(sandbox: dict) -> None:
    """The check above can fail: a process that opens a socket is caught."""
    code = "import socket; socket.socket(socket.AF_INET).close()"
    subprocess.run([sys.executable, "-c", code], env=sandbox["env"], check=True)
    assert "socket.__new__" in sandbox["netlog"].read_text()


def test_works_without_a_network(sandbox: dict, samples: dict[str, Path]) -> None:
    if (
        shutil.which("unshare") is None
        or subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False).returncode
        != 0
    ):
        pytest.skip("unshare -rn is not permitted here")
    env, lib = sandbox["env"], sandbox["lib"]
    done = selfscan(
        "find",
        "--me",
        samples["yaoming"],
        lib,
        "--format",
        "jsonl",
        "--no-store",
        env=env,
        prefix=("unshare", "-rn"),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    statuses = {
        Path(r["path"]).name: r["status"] for r in map(json.loads, done.stdout.splitlines())
    }
    assert statuses["players.jpg"] == "match"
    demo = selfscan("demo", env=env, prefix=("unshare", "-rn"), timeout=300)
    assert demo.returncode == 0 and "1 match" in demo.stdout


def _untold(env: dict[str, str]) -> dict[str, str]:
    """``env`` without onnxruntime's telemetry switch (this test process imported selfscan,
    which sets it, and children inherit it): each child must set it itself."""
    return {k: v for k, v in env.items() if k != "ORT_DISABLE_TELEMETRY"}


def test_onnxruntime_telemetry_stays_off(sandbox: dict, samples: dict[str, Path]) -> None:
    """onnxruntime starts Microsoft's telemetry when imported (a device id and an event queue
    under ~/.cache, uploaded seconds later, from C++ where the audit hook cannot see it) unless
    switched off first. Nothing is written to HOME by a scan, doctor, or importing selfscan."""
    env, lib, cwd = _untold(sandbox["env"]), sandbox["lib"], sandbox["cwd"]
    fake_home = sandbox["root"] / "fakehome"
    code = "import selfscan.models, onnxruntime"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert selfscan("doctor", env=env, cwd=cwd).returncode == 0
    assert selfscan("enroll", str(samples["yaoming"]), env=env, cwd=cwd).returncode == 0
    done = selfscan("find", str(lib), "--workers", "2", "-f", "jsonl", env=env, cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert sorted(fake_home.rglob("*")) == []


def test_the_telemetry_check_can_fail(sandbox: dict) -> None:
    """The check above can fail: onnxruntime imported without the switch writes under HOME."""
    fake_home = sandbox["root"] / "fakehome"
    subprocess.run(
        [sys.executable, "-c", "import onnxruntime"], env=_untold(sandbox["env"]), check=True
    )
    if not any(fake_home.rglob("*")):
        pytest.skip("this onnxruntime has no telemetry to switch off")
    assert any("Microsoft" in str(p) for p in fake_home.rglob("*"))


def test_photos_unchanged_and_nothing_written_elsewhere(
    sandbox: dict, samples: dict[str, Path], home: Path
) -> None:
    env, lib, root, cwd = sandbox["env"], sandbox["lib"], sandbox["root"], sandbox["cwd"]
    before = snapshot(lib)
    reference_before = hashlib.sha256(samples["yaoming"].read_bytes()).hexdigest()
    report = root / "out" / "found.jsonl"
    report.parent.mkdir()
    assert selfscan("enroll", str(samples["yaoming"]), env=env, cwd=cwd).returncode == 0
    for extra in ([], ["--quick"], ["--format", "jsonl", "-o", str(report)]):
        assert selfscan("find", str(lib), *extra, env=env, cwd=cwd).returncode == 0
    assert snapshot(lib) == before
    assert hashlib.sha256(samples["yaoming"].read_bytes()).hexdigest() == reference_before
    written = {p for p in root.rglob("*") if p.is_file()}
    allowed = set(map(Path, before)) | {report, sandbox["netlog"]}
    unexpected = [
        p for p in written - allowed if home not in p.parents and (root / "hook") not in p.parents
    ]
    assert unexpected == []
    assert list((root / "tmp").iterdir()) == []


def test_data_dir_is_private_from_the_start(
    sandbox: dict, samples: dict[str, Path], home: Path
) -> None:
    env = {**sandbox["env"]}
    # a permissive umask must not leak into the data dir
    cmd = f"umask 000; exec {sys.executable} -m selfscan enroll {samples['yaoming']}"
    subprocess.run(["sh", "-c", cmd], env=env, check=True, capture_output=True)
    cmd = f"umask 000; exec {sys.executable} -m selfscan find {sandbox['lib']} --workers 1"
    subprocess.run(["sh", "-c", cmd], env=env, check=True, capture_output=True)
    for p in [home, *home.rglob("*")]:
        mode = p.stat().st_mode & 0o777
        assert mode == (0o700 if p.is_dir() else 0o600), f"{p} is {oct(mode)}"


def test_no_embedding_survives_forget_all(
    sandbox: dict, samples: dict[str, Path], home: Path
) -> None:
    """Search every byte left in the data dir for the stored embeddings after forget --all."""
    import base64
    import sqlite3

    env, lib, cwd = sandbox["env"], sandbox["lib"], sandbox["cwd"]
    assert selfscan("enroll", str(samples["yaoming"]), env=env, cwd=cwd).returncode == 0
    assert selfscan("find", str(lib), "--workers", "1", env=env, cwd=cwd).returncode == 0
    profile = json.loads((home / "profiles" / "me.json").read_text())
    needles = [base64.b64decode(r["embedding"])[:64] for r in profile["references"]]
    needles += [r["embedding"][:64].encode() for r in profile["references"]]
    with sqlite3.connect(home / "index.sqlite") as db:
        rows = db.execute("SELECT embedding FROM faces WHERE embedding IS NOT NULL").fetchall()
    needles += [row[0][:64] for row in rows[:20]]
    assert len(needles) > 10

    def leftovers() -> list[str]:
        found = []
        for p in [home, *home.rglob("*")] if home.exists() else []:
            if p.is_file():
                data = p.read_bytes()
                found += [str(p) for n in needles if n in data]
        return found

    assert leftovers()  # the search does find them while they are stored
    done = selfscan("forget", "--all", env=env, cwd=cwd)
    assert done.returncode == 0 and "removed" in done.stdout
    assert leftovers() == []
    done = selfscan("data", "--json", env=env, cwd=cwd)
    info = json.loads(done.stdout)
    assert info["profiles"] == [] and not info["index"]["exists"]
    # the same keys as when there is an index, for a script to read: empty ones are null
    assert {k: info["index"][k] for k in ("files", "faces", "missing", "problem")} == dict.fromkeys(
        ("files", "faces", "missing", "problem")
    )


def test_a_forgotten_photos_embeddings_leave_the_index_file(
    sandbox: dict, samples: dict[str, Path], home: Path
) -> None:
    """A photo deleted from the library is forgotten by the next scan, and the embeddings of
    the people in it are overwritten in the database file, not left in its free pages."""
    import contextlib
    import sqlite3

    env, lib, cwd = sandbox["env"], sandbox["lib"], sandbox["cwd"]
    me = str(samples["yaoming"])
    assert (
        selfscan("find", "--me", me, str(lib), "--workers", "1", env=env, cwd=cwd).returncode == 0
    )
    with contextlib.closing(sqlite3.connect(home / "index.sqlite")) as db:  # closed before the scan
        rows = db.execute(
            "SELECT embedding FROM faces JOIN files ON files.id = faces.file_id "
            "WHERE CAST(files.path AS TEXT) LIKE '%gdp.jpg' AND embedding IS NOT NULL"
        ).fetchall()
    needles = [row[0][:64] for row in rows]
    assert len(needles) >= 3
    (lib / "gdp.jpg").unlink()
    assert (
        selfscan("find", "--me", me, str(lib), "--workers", "1", env=env, cwd=cwd).returncode == 0
    )
    left = [p.name for p in home.rglob("index.sqlite*") for n in needles if n in p.read_bytes()]
    assert left == []


def test_forget_path_leaves_no_byte_of_a_forgotten_face(
    sandbox: dict, samples: dict[str, Path], home: Path
) -> None:
    """``forget --path`` of one photo among others: no face row of it (its box, landmarks,
    embedding) stays anywhere in the index's files, not even in the unused part of a page that
    still holds the other photos' faces."""
    import contextlib
    import sqlite3

    env, lib, cwd = sandbox["env"], sandbox["lib"], sandbox["cwd"]
    me = str(samples["yaoming"])
    done = selfscan("find", "--me", me, str(lib), "--workers", "1", env=env, cwd=cwd)
    assert done.returncode == 0
    with contextlib.closing(sqlite3.connect(home / "index.sqlite")) as db:
        rows = db.execute(
            "SELECT landmarks, embedding FROM faces JOIN files ON files.id = faces.file_id "
            "WHERE CAST(files.path AS TEXT) LIKE '%players.jpg'"
        ).fetchall()
        others = db.execute("SELECT COUNT(*) FROM faces").fetchone()[0] - len(rows)
    needles = [blob for row in rows for blob in row if blob is not None]
    assert len(rows) >= 10 and others >= 3
    done = selfscan("forget", "--path", str(lib / "players.jpg"), env=env, cwd=cwd)
    assert done.returncode == 0, done.stderr
    files = list(home.rglob("index.sqlite*"))
    left = sum(n in p.read_bytes() for p in files for n in needles)
    assert left == 0
    assert b"players.jpg" not in b"".join(p.read_bytes() for p in files)
    with contextlib.closing(sqlite3.connect(home / "index.sqlite")) as db:
        assert db.execute("SELECT COUNT(*) FROM faces").fetchone()[0] == others
