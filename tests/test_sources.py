"""Finding items: folder walking, archives, and hostile archives."""

from __future__ import annotations

import io
import os
import struct
import tarfile
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from selfscan import members, names, sources
from selfscan.errors import FileError, InputError
from selfscan.fingerprints import fingerprint_file
from selfscan.images import decode
from selfscan.shown import printable
from selfscan.sources import iter_items, kind_of
from selfscan.types import Item
from selfscan.walk import SYSTEM_FOLDER
from tests.exportgen import write_archive


@pytest.fixture
def jpeg(samples: dict[str, Path]) -> bytes:
    return samples["yaoming"].read_bytes()


def _paths(items: list) -> list[str]:
    return [i.path for i in items]


def _with_bytes(paths: list[Path]) -> list[tuple[Item, bytes | None]]:
    """Items and their bytes, read at once (a member's ``read`` is valid only until the
    iterator advances)."""
    return [(i, i.read() if i.read is not None else None) for i in iter_items(paths)]


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# ---------------------------------------------------------------------------------------------
# Folders


def test_extension_sets_and_kind_of() -> None:
    assert kind_of("a/B.JPG") == "image"
    assert kind_of("x.heic") == "image" and kind_of("x.avif") == "image"
    assert kind_of("clip.MOV") == "video" and kind_of("clip.mkv") == "video"
    assert kind_of("notes.txt") is None and kind_of("archive.zip") is None
    assert ".jfif" in names.IMAGE_EXTENSIONS and ".3gp" in names.VIDEO_EXTENSIONS


def test_a_zip_counts_what_it_leaves_out_as_a_folder_does(tmp_path: Path, jpeg: bytes) -> None:
    """A phone backup as a zip skipped its trash, hidden folders and other files without a word,
    where the same backup as a folder says so."""
    with zipfile.ZipFile(tmp_path / "backup.zip", "w") as zf:
        zf.writestr("DCIM/IMG_1.jpg", jpeg)
        zf.writestr("DCIM/.trashed-1700000000-IMG_2.jpg", jpeg)
        zf.writestr("DCIM/.thumbnails/1.jpg", jpeg)
        zf.writestr("DCIM/.thumbnails/2.jpg", jpeg)
        zf.writestr("DCIM/IMG_1.AAE", b"<?xml?>")
        zf.writestr("DCIM/IMG_3.dng", b"x")
        zf.writestr("DCIM/notes.json", b"{}")  # an export's JSON is read, not left out
        zf.writestr("__MACOSX/DCIM/._IMG_1.jpg", b"x")  # a Mac's copies: no files of yours
        zf.writestr("../../escape.jpg", jpeg)  # an error of its own, not a hidden folder
    walk = sources.Walk()
    items = list(iter_items([tmp_path], walk=walk))
    assert [i.path.rsplit("!/", 1)[1] for i in items] == ["DCIM/IMG_1.jpg", "../../escape.jpg"]
    assert "path traversal" in (items[1].error or "")
    assert (walk.hidden_files, walk.hidden_folders) == (1, 1)
    assert walk.other == {".aae": 1, ".dng": 1}


def test_walk_is_recursive_ordered_and_skips_quietly(tmp_path: Path, jpeg: bytes) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "b" / "2.jpg").write_bytes(jpeg)
    (tmp_path / "a" / "deep" / "1.png").write_bytes(jpeg)
    (tmp_path / "a" / "0.JPEG").write_bytes(jpeg)
    (tmp_path / ".hidden" / "3.jpg").write_bytes(jpeg)
    (tmp_path / "a" / ".4.jpg").write_bytes(jpeg)
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / "data.json").write_text("{}")
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    (tmp_path / "IMG_0001").write_bytes(jpeg)  # no extension: recognised by its bytes
    (tmp_path / "README").write_text("no extension, not a photo")
    walk = sources.Walk()
    items = list(iter_items([tmp_path], walk=walk))
    # Skipped quietly, but counted for the summary's "left out" line.
    assert (walk.hidden_files, walk.hidden_folders) == (1, 1)
    assert walk.other == {".txt": 1, "no extension": 1}
    assert _paths(items) == [
        str(tmp_path / "IMG_0001"),
        str(tmp_path / "a" / "0.JPEG"),
        str(tmp_path / "a" / "deep" / "1.png"),
        str(tmp_path / "b" / "2.jpg"),
        str(tmp_path / "clip.mp4"),
    ]
    assert [i.kind for i in items] == ["image", "image", "image", "image", "video"]
    assert all(i.error is None and i.fs_path == i.path and i.read is None for i in items)
    assert items[1].size == len(jpeg) and items[1].mtime_ns > 0
    assert items[0].facts["source"]["export"] is None
    assert items[0].facts["source"]["archive"] is None


def test_a_file_named_after_its_folder_gets_its_status(tmp_path: Path) -> None:
    """Named too, after its folder, a file of another type got no row (the walk had passed
    it); an empty zip met in the walk was counted as a file of another type, not an error."""
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / "empty.zip").write_bytes(b"")
    items = list(iter_items([tmp_path, tmp_path / "notes.txt"]))
    assert _paths(items) == [str(tmp_path / "empty.zip"), str(tmp_path / "notes.txt")]
    assert items[0].error == "empty file (0 bytes)"


def test_a_zip_with_a_name_that_is_no_utf8_says_so(tmp_path: Path, jpeg: bytes) -> None:
    """A member name marked UTF-8 that is not cannot be listed by Python's zip reader: the zip,
    and a zip inside a zip, is one error that says so and what to do."""

    def bad_zip() -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("okname.jpg", jpeg)
            zf.writestr("caf\u00e9.jpg", jpeg)  # written with the UTF-8 flag
        return buf.getvalue().replace("caf\u00e9".encode(), b"caf\xed\xa0")

    (tmp_path / "bad.zip").write_bytes(bad_zip())
    with zipfile.ZipFile(tmp_path / "outer.zip", "w") as zf:
        zf.writestr("inner.zip", bad_zip())
    items = list(iter_items([tmp_path]))
    assert [(Path(i.path).name, i.error) for i in items] == [
        ("bad.zip", members.BAD_NAME),
        ("inner.zip", members.BAD_NAME),
    ], [(i.path, i.error) for i in items]


def test_explicit_file_is_always_reported(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    missing = tmp_path / "gone.jpg"
    items = list(iter_items([notes, missing]))
    assert _paths(items) == [str(notes), str(missing)]
    assert items[0].fs_path == str(notes) and items[0].error is None
    assert items[1].error == "no such file or folder"


def test_symlink_loops_terminate_and_each_folder_is_walked_once(
    tmp_path: Path, jpeg: bytes
) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.jpg").write_bytes(jpeg)
    os.symlink(tmp_path / "a", tmp_path / "a" / "b" / "up")  # a loop
    os.symlink(tmp_path, tmp_path / "a" / "root")  # another loop, to the top
    os.symlink(tmp_path / "a" / "b", tmp_path / "also_b")  # the same folder twice
    items = list(iter_items([tmp_path]))
    assert _paths(items) == [str(tmp_path / "a" / "b" / "x.jpg")]


def test_special_entries_in_a_folder_get_a_reason(tmp_path: Path, jpeg: bytes) -> None:
    """A symlink to itself (whatever its name), and a pipe or a device named like a photo, are
    reported with why they were not read, not silently left out."""
    (tmp_path / "ok.jpg").write_bytes(jpeg)
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    os.symlink(tmp_path / "loop.jpg", tmp_path / "loop.jpg")
    os.symlink("/dev/null", tmp_path / "null.jpg")
    os.symlink("/dev/null", tmp_path / "null.txt")  # not named like a photo: quiet
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.jpg")
    errors = {Path(i.path).name: i.error for i in iter_items([tmp_path])}
    assert errors["ok.jpg"] is None
    assert errors["loop"] == errors["loop.jpg"] == "symlink loop (it leads back to itself)"
    assert errors["null.jpg"] == "not a regular file (a device)"
    assert "null.txt" not in errors
    if hasattr(os, "mkfifo"):
        assert errors["pipe.jpg"] == "not a regular file (a named pipe)"
    given = {Path(i.path).name: i.error for i in iter_items([tmp_path / "pipe.jpg"])}
    assert given == {"pipe.jpg": "not a regular file (a named pipe)"}


def test_an_argument_that_cannot_be_looked_at_is_its_own_error(
    tmp_path: Path, jpeg: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No permission to look at a path given on the command line (its folder is not
    searchable) is that path's error, not "does not exist" for the whole scan."""
    from selfscan import scan

    photo = tmp_path / "locked" / "a.jpg"
    photo.parent.mkdir()
    photo.write_bytes(jpeg)
    inside = str(photo.parent) + os.sep

    def denied(real: Callable[..., os.stat_result]) -> Callable[..., os.stat_result]:
        def fake(path: str | Path, *args: object, **kwargs: object) -> os.stat_result:
            if str(path).startswith(inside):
                raise PermissionError(13, "Permission denied", str(path))
            return real(path, *args, **kwargs)

        return fake

    monkeypatch.setattr(os, "lstat", denied(os.lstat))
    monkeypatch.setattr(os, "stat", denied(os.stat))
    assert scan.check_paths([photo]) == [photo]
    with pytest.raises(InputError, match="does not exist"):
        scan.check_paths([tmp_path / "nowhere.jpg"])
    items = list(iter_items([photo]))
    assert [(i.path, i.error) for i in items] == [(str(photo), "permission denied")]


def test_overlapping_arguments_report_each_file_once(
    tmp_path: Path, jpeg: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file named on its own and again inside a folder, a folder and its subfolder, the same
    folder spelled twice: every file once, where it was first met."""
    (tmp_path / "lib" / "sub").mkdir(parents=True)
    for name in ("a.jpg", "sub/b.jpg", "sub/c.zip"):
        (tmp_path / "lib" / name).write_bytes(jpeg)
    with zipfile.ZipFile(tmp_path / "lib" / "sub" / "c.zip", "w") as zf:
        zf.writestr("d.jpg", jpeg)
    monkeypatch.chdir(tmp_path)
    lib = tmp_path / "lib"
    items = list(iter_items([lib / "sub" / "b.jpg", lib / "sub", Path("lib"), Path("./lib/")]))
    assert _paths(items) == [
        str(lib / "sub" / "b.jpg"),
        f"{lib / 'sub' / 'c.zip'}!/d.jpg",
        str(lib / "a.jpg"),
    ]


def test_dangling_symlink_is_an_error_item(tmp_path: Path) -> None:
    os.symlink(tmp_path / "nowhere.jpg", tmp_path / "photo.jpg")
    os.symlink(tmp_path / "nowhere.txt", tmp_path / "notes.txt")  # not a photo: quiet
    items = list(iter_items([tmp_path]))
    assert _paths(items) == [str(tmp_path / "photo.jpg")]
    assert "dangling symlink" in (items[0].error or "")
    explicit = list(iter_items([tmp_path / "photo.jpg"]))
    assert "dangling symlink" in (explicit[0].error or "")


def test_non_utf8_file_name(tmp_path: Path, jpeg: bytes) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9 \xff.jpg"
    with open(raw, "wb") as fh:
        fh.write(jpeg)
    (item,) = list(iter_items([tmp_path]))
    assert item.error is None and item.fs_path is not None
    assert os.fsencode(item.path) == raw
    assert decode(item.fs_path).width > 0  # the path still opens the file
    shown = printable(item.path)
    shown.encode("utf-8")  # printable everywhere
    assert shown.endswith("caf\\xe9 \\xff.jpg")


def test_very_long_path(tmp_path: Path, jpeg: bytes) -> None:
    folder = tmp_path
    for i in range(14):
        folder = folder / (f"{i:02d}" + "x" * 200)
    folder.mkdir(parents=True)
    (folder / "photo.jpg").write_bytes(jpeg)
    (item,) = list(iter_items([tmp_path]))
    assert len(item.path) > 2800 and item.error is None
    assert decode(item.fs_path).width > 0


def test_deep_tree_does_not_hit_recursion_limits(tmp_path: Path, jpeg: bytes) -> None:
    folder = tmp_path
    for _ in range(1100):  # deeper than Python's recursion limit
        folder = folder / "d"
        folder.mkdir()
    (folder / "p.jpg").write_bytes(jpeg)
    try:
        (item,) = list(iter_items([tmp_path]))
        assert item.path.endswith("/d/p.jpg")
    finally:  # pytest's recursive clean-up cannot remove a tree this deep
        (folder / "p.jpg").unlink()
        while folder != tmp_path:
            folder.rmdir()
            folder = folder.parent


def test_unreadable_file_and_folder(tmp_path: Path, jpeg: bytes) -> None:
    photo = tmp_path / "locked.jpg"
    photo.write_bytes(jpeg)
    folder = tmp_path / "closed"
    folder.mkdir()
    (folder / "inside.jpg").write_bytes(jpeg)
    photo.chmod(0)
    folder.chmod(0)
    try:
        if os.access(photo, os.R_OK):
            pytest.skip("running with privileges that read any file (root)")
        items = list(iter_items([tmp_path]))
    finally:
        photo.chmod(0o600)
        folder.chmod(0o700)
    by_path = {i.path: i.error for i in items}
    assert by_path == {
        str(folder): "cannot list folder: permission denied",
        str(photo): "permission denied",
    }


def test_printable_leaves_normal_text_alone() -> None:
    assert printable("/photos/Été/東京.jpg") == "/photos/Été/東京.jpg"


# ---------------------------------------------------------------------------------------------
# Archives


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tar(path: Path, members: dict[str, bytes], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_600_000_000
            tf.addfile(info, io.BytesIO(data))
    return path


def test_zip_members_are_streamed_with_display_paths(tmp_path: Path, jpeg: bytes) -> None:
    archive = _zip(
        tmp_path / "photos.zip",
        {
            "2020/a.jpg": jpeg,
            "2020/clip.mov": b"\x00\x00\x00\x14ftypqt  " + b"\x00" * 32,
            "2020/readme.txt": b"hello",
            "__MACOSX/2020/._a.jpg": b"resource fork",
            "2020/.hidden.jpg": jpeg,
        },
    )
    found = _with_bytes([tmp_path])
    assert _paths([i for i, _ in found]) == [f"{archive}!/2020/a.jpg", f"{archive}!/2020/clip.mov"]
    (first, data), (clip, _) = found
    assert (first.kind, clip.kind) == ("image", "video")
    assert first.fs_path is None and first.size == len(jpeg) and first.mtime_ns > 0
    assert data == jpeg and decode(data).width > 0
    assert first.facts["source"]["archive"] == str(archive)
    assert first.facts["source"]["member"] == "2020/a.jpg"


@pytest.mark.parametrize(
    ("name", "mode"),
    [("p.tar", "w"), ("p.tar.gz", "w:gz"), ("p.tgz", "w:gz"), ("p.tar.xz", "w:xz")],
)
def test_tar_forms(tmp_path: Path, jpeg: bytes, name: str, mode: str) -> None:
    archive = _tar(tmp_path / name, {"x/a.jpg": jpeg, "x/b.txt": b"no", "x/c.png": jpeg}, mode)
    found = _with_bytes([archive])
    assert [(i.path, data) for i, data in found] == [
        (f"{archive}!/x/a.jpg", jpeg),
        (f"{archive}!/x/c.png", jpeg),
    ]
    assert found[0][0].mtime_ns == 1_600_000_000 * 10**9


def test_archives_are_recognised_by_their_bytes(tmp_path: Path, jpeg: bytes) -> None:
    _zip(tmp_path / "backup", {"a.jpg": jpeg})  # no extension
    _tar(tmp_path / "odd.zip", {"b.jpg": jpeg})  # a tar named .zip
    data = _zip(tmp_path / "x.bin", {"c.jpg": jpeg})  # explicit, unknown extension
    found = _with_bytes([tmp_path / "backup", tmp_path / "odd.zip", data])
    assert [(i.path, d) for i, d in found] == [
        (f"{tmp_path}/backup!/a.jpg", jpeg),
        (f"{tmp_path}/odd.zip!/b.jpg", jpeg),
        (f"{data}!/c.jpg", jpeg),
    ]
    (tmp_path / "fake.zip").write_text("not an archive")
    (bad,) = list(iter_items([tmp_path / "fake.zip"]))
    assert bad.error == "not a zip or tar archive"


def test_members_are_read_only_on_demand(tmp_path: Path, jpeg: bytes) -> None:
    path = _zip(tmp_path / "p.zip", {"a.jpg": jpeg, "b.jpg": jpeg}, zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    data[data.index(jpeg[:64]) + 40] ^= 0xFF  # damage a's bytes: only reading can tell
    path.write_bytes(bytes(data))
    items = iter_items([path])
    first = next(items)
    assert first.error is None and first.read is not None
    with pytest.raises(FileError, match="bad CRC-32"):
        first.read()
    second = next(items)
    assert second.error is None and second.read is not None and second.read() == jpeg


def test_nested_archives_one_level(tmp_path: Path, jpeg: bytes) -> None:
    inner_zip = _zip(tmp_path / "inner.zip", {"in/x.jpg": jpeg}).read_bytes()
    inner_tar = _tar(tmp_path / "inner.tgz", {"y.jpg": jpeg}, "w:gz").read_bytes()
    deepest = _zip(tmp_path / "deep.zip", {"inner.zip": inner_zip}).read_bytes()
    scan = tmp_path / "scan"
    scan.mkdir()
    outer = _zip(
        scan / "outer.zip",
        {"a/inner.zip": inner_zip, "b/inner.tgz": inner_tar, "c/deep.zip": deepest},
    )
    found = _with_bytes([scan])
    items = [i for i, _ in found]
    assert _paths(items) == [
        f"{outer}!/a/inner.zip!/in/x.jpg",
        f"{outer}!/b/inner.tgz!/y.jpg",
        f"{outer}!/c/deep.zip!/inner.zip",
    ]
    assert [d for _, d in found] == [jpeg, jpeg, None]
    assert items[0].facts["source"]["archive"] == f"{outer}!/a/inner.zip"
    assert items[0].facts["source"]["member"] == "in/x.jpg"
    assert items[2].error is not None and items[2].error.startswith("nested archive too deep")
    outer_tar = _tar(scan / "outer.tar", {"z/inner.zip": inner_zip})
    assert [(i.path, d) for i, d in _with_bytes([outer_tar])] == [
        (f"{outer_tar}!/z/inner.zip!/in/x.jpg", jpeg)
    ]


# ---------------------------------------------------------------------------------------------
# Hostile archives: an error item with a reason, never a crash, never a file written


@pytest.fixture
def nothing_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run in an empty working folder and check that neither it nor tmp_path changes."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    state: dict[str, set[str]] = {}

    def snapshot() -> None:
        state["before"] = _tree(tmp_path)

    yield snapshot
    assert _tree(tmp_path) == state["before"]
    assert not any(cwd.iterdir())


def _errors(paths: list[Path]) -> dict[str, str | None]:
    found = {}
    for item in iter_items(paths):
        error = item.error
        if error is None and item.read is not None:
            try:
                item.read()
            except FileError as exc:
                error = "read: " + exc.reason
        found[item.path.rsplit("!/", 1)[-1]] = error
    return found


def test_hostile_zip_names(tmp_path: Path, jpeg: bytes, nothing_written) -> None:
    archive = _zip(
        tmp_path / "evil.zip",
        {"../up.jpg": jpeg, "/etc/abs.jpg": jpeg, "a/../../x.txt": b"x", "ok.jpg": jpeg},
    )
    nothing_written()
    assert _errors([archive]) == {
        "../up.jpg": "unsafe member name (path traversal): ../up.jpg",
        "/etc/abs.jpg": "unsafe member name (absolute path): /etc/abs.jpg",
        "a/../../x.txt": "unsafe member name (path traversal): a/../../x.txt",
        "ok.jpg": None,
    }


def test_hostile_tar_members(tmp_path: Path, jpeg: bytes, nothing_written) -> None:
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tf:
        for name, kind, target in (
            ("link.jpg", tarfile.SYMTYPE, "/etc/passwd"),
            ("hard.jpg", tarfile.LNKTYPE, "ok.jpg"),
            ("dev.jpg", tarfile.CHRTYPE, ""),
            ("fifo", tarfile.FIFOTYPE, ""),
        ):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            tf.addfile(info)
        for name in ("../../up.jpg", "/abs.jpg", "ok.jpg"):
            info = tarfile.TarInfo(name)
            info.size = len(jpeg)
            tf.addfile(info, io.BytesIO(jpeg))
    nothing_written()
    assert _errors([archive]) == {
        "link.jpg": "symbolic link member (not followed): link.jpg -> /etc/passwd",
        "hard.jpg": "hard link member (not followed): hard.jpg -> ok.jpg",
        "dev.jpg": "device or special file member: dev.jpg",
        "fifo": "device or special file member: fifo",
        "../../up.jpg": "unsafe member name (path traversal): ../../up.jpg",
        "/abs.jpg": "unsafe member name (absolute path): /abs.jpg",
        "ok.jpg": None,
    }


def test_zip_bomb_by_ratio(tmp_path: Path, jpeg: bytes, nothing_written) -> None:
    archive = _zip(tmp_path / "bomb.zip", {"zeros.jpg": b"\x00" * (8 << 20), "ok.jpg": jpeg})
    assert archive.stat().st_size < 100_000
    nothing_written()
    errors = _errors([archive])
    assert errors["ok.jpg"] is None
    assert errors["zeros.jpg"] is not None and "possible zip bomb" in errors["zeros.jpg"]
    assert errors["zeros.jpg"].startswith("compression ratio")


def test_member_size_cap(
    tmp_path: Path, jpeg: bytes, nothing_written, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(members, "MAX_IMAGE_MEMBER", len(jpeg) - 1)
    archive = _zip(tmp_path / "big.zip", {"big.jpg": jpeg}, zipfile.ZIP_STORED)
    tarred = _tar(tmp_path / "big.tar", {"big.jpg": jpeg})
    nothing_written()
    for found in (_errors([archive]), _errors([tarred])):
        assert "over the" in (found["big.jpg"] or "") and "limit" in (found["big.jpg"] or "")


def test_archive_total_is_enforced_while_reading(
    tmp_path: Path, jpeg: bytes, nothing_written, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(members, "MIN_BUDGET", int(len(jpeg) * 1.5))
    monkeypatch.setattr(members, "BUDGET_FACTOR", 1)
    archive = _zip(tmp_path / "many.zip", {"a.jpg": jpeg, "b.jpg": jpeg})
    tarred = _tar(tmp_path / "many.tgz", {"a.jpg": jpeg, "b.jpg": jpeg}, "w:gz")
    nothing_written()
    for found in (_errors([archive]), _errors([tarred])):
        assert found["a.jpg"] is None
        assert "read: archive expands to more than" in (found["b.jpg"] or "")


def test_encrypted_member(tmp_path: Path, jpeg: bytes, nothing_written) -> None:
    path = _zip(tmp_path / "secret.zip", {"a.jpg": jpeg}, zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    data[6] |= 1  # local header: general purpose flag bit 0 = encrypted
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 1
    path.write_bytes(bytes(data))
    nothing_written()
    assert _errors([path]) == {
        "a.jpg": "encrypted member: selfscan cannot read password-protected archives"
    }


def test_overlapping_members(tmp_path: Path, jpeg: bytes, nothing_written) -> None:
    path = _zip(tmp_path / "overlap.zip", {"a.jpg": jpeg})
    data = path.read_bytes()
    end = data.rindex(b"PK\x05\x06")
    size, offset = struct.unpack("<II", data[end + 12 : end + 20])
    entry = data[offset : offset + size]
    twin = entry.replace(b"a.jpg", b"b.jpg")
    tail = bytearray(data[end:])
    struct.pack_into("<HHI", tail, 8, 2, 2, 2 * size)
    path.write_bytes(data[:offset] + entry + twin + bytes(tail))
    nothing_written()
    errors = _errors([path])
    assert set(errors) == {"a.jpg", "b.jpg"}
    assert all("overlaps another member" in (e or "") for e in errors.values())


def test_truncated_archives(tmp_path: Path, jpeg: bytes, nothing_written) -> None:
    path = _zip(tmp_path / "cut.zip", {"a.jpg": jpeg, "b.jpg": jpeg})
    path.write_bytes(path.read_bytes()[: len(jpeg)])
    tgz = _tar(tmp_path / "cut.tgz", {"a.jpg": jpeg, "b.jpg": os.urandom(30_000)}, "w:gz")
    tgz.write_bytes(tgz.read_bytes()[:-2000])
    nothing_written()
    (item,) = list(iter_items([path]))
    assert item.path == str(path)
    assert (item.error or "").startswith("corrupt or truncated zip archive")
    found = _errors([tgz])
    assert found["a.jpg"] is None
    assert any((e or "").startswith("corrupt or truncated") for e in found.values())


def test_an_unreadable_tar_is_one_line(tmp_path: Path) -> None:
    """tarfile says what each compression it tried made of the file, over several lines."""
    bad = tmp_path / "backup.tgz"
    bad.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 200)
    (item,) = iter_items([bad])
    assert item.error is not None and item.error.startswith("corrupt or unreadable tar archive")
    assert "\n" not in item.error and "ReadError(" not in item.error


@pytest.mark.parametrize("suffix", [".zip", ".tgz"])
def test_a_member_without_an_extension_is_read_by_its_first_bytes(
    samples: dict[str, Path], tmp_path: Path, suffix: str
) -> None:
    """As a file on disk is: a photo named ``IMG_2006`` in an archive was skipped silently."""
    photo = samples["yaoming"].read_bytes()
    archive = tmp_path / f"export{suffix}"
    entries = {"IMG_2006": photo, "notes": b"plain text", "IMG_2007.jpg": photo}
    write_archive(archive, entries)
    found = {}
    for item in iter_items([archive]):  # an item's bytes are read before the next
        assert item.error is None and item.read is not None
        found[item.path.rpartition("!/")[2]] = (item.kind, item.read())
    assert found == {"IMG_2006": ("image", photo), "IMG_2007.jpg": ("image", photo)}


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_system_folders_are_not_walked(tmp_path: Path, jpeg: bytes) -> None:
    """A link to / in a library walked the whole machine, /proc included, where a read of
    /proc/kmsg waits for ever (and takes the kernel's log away); /proc given on the command
    line hung the scan before it showed anything. They are skipped, or refused when named."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "a.jpg").write_bytes(jpeg)
    (lib / "proc").symlink_to("/proc")
    (lib / "sys").symlink_to("/sys")
    (lib / "kmsg.jpg").symlink_to("/proc/kmsg")  # a file there, linked: named like a photo
    found: dict[str, list[Item]] = {}

    def walk() -> None:  # in a thread: a regression would hang, and must fail instead
        found["lib"] = list(iter_items([lib]))
        found["proc"] = list(iter_items([Path("/proc"), Path("/proc/kmsg")]))

    thread = threading.Thread(target=walk, daemon=True)
    thread.start()
    thread.join(timeout=120)
    assert [(Path(i.path).name, i.error) for i in found["lib"]] == [
        ("a.jpg", None),
        ("kmsg.jpg", SYSTEM_FOLDER),
    ]
    assert [(i.path, i.error) for i in found["proc"]] == [
        ("/proc", SYSTEM_FOLDER),
        ("/proc/kmsg", SYSTEM_FOLDER),
    ]


def test_a_file_turned_into_a_pipe_or_a_device_is_refused_not_read(tmp_path: Path) -> None:
    """A photo swapped for a named pipe during a scan blocked the scan in open() for ever, and
    one swapped for a link to /dev/zero was read for ever (an endless fingerprint)."""
    pipe, zero = tmp_path / "p.jpg", tmp_path / "z.jpg"
    os.mkfifo(pipe)
    zero.symlink_to("/dev/zero")
    done: dict[str, str] = {}

    def attempt(path: Path) -> None:
        try:
            fingerprint_file(str(path), 5000)
        except FileError as exc:
            done[path.name] = exc.reason

    threads = [threading.Thread(target=attempt, args=(p,), daemon=True) for p in (pipe, zero)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert done == dict.fromkeys(
        ("p.jpg", "z.jpg"), "file changed while it was being scanned: it is no longer a file"
    )


def test_a_folder_past_the_systems_path_limit_is_an_error_not_silence(
    samples: dict[str, Path], tmp_path: Path
) -> None:
    """Folders nested until their path is over 4096 bytes: the photos below were left out of
    the scan without a word (the folder could not even be looked at)."""
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for i in range(18):  # 18 x 241 bytes: the last folders are out of reach by path
            name = f"{i:02d}" + "d" * 239
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
            with open(os.open("p.jpg", os.O_WRONLY | os.O_CREAT, dir_fd=fd), "wb") as fh:
                fh.write(samples["gdp"].read_bytes())
    finally:
        os.close(fd)
    items = list(iter_items([tmp_path]))
    found = [i for i in items if i.error is None]
    errors = [i for i in items if i.error is not None]
    assert 14 <= len(found) < 18
    assert len(errors) == 1 and errors[0].error.startswith("path too long for the system")
