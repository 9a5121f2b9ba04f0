"""Organising matches: safe unique copies and hard links, originals untouched, XMP face regions
that land on his face whatever the EXIF orientation; reading archive members back."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from selfscan import locate, ops
from selfscan.destnames import safe_name
from selfscan.errors import FileError
from selfscan.fingerprints import fingerprint_file
from selfscan.names import GATHERED_MARKER
from selfscan.organise import organise
from selfscan.reports.xmp import NS
from selfscan.types import FaceHit, FileResult
from tests import imagegen

OLD = 1_500_000_000  # a fixed past time, to see that times are carried over


def _match(path: Path | str) -> FileResult:
    return FileResult(str(path), "match", 0.7, width=10, height=10)


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture
def originals(tmp_path: Path, samples: dict[str, Path]) -> Path:
    src = tmp_path / "photos"
    for sub in ("a", "b"):
        (src / sub).mkdir(parents=True)
    # the same picture under the same name in two folders, stored differently
    shutil.copyfile(samples["players"], src / "a" / "players.jpg")
    imagegen.recompressed(samples["players"], src / "b" / "players.jpg", 80)
    for sub in ("a", "b"):
        os.utime(src / sub / "players.jpg", (OLD, OLD))
    return src


def test_copies_unique_names_times_and_untouched_originals(originals: Path, tmp_path: Path) -> None:
    before = _snapshot(originals)
    dest = tmp_path / "out"
    results = [_match(originals / "a/players.jpg"), _match(originals / "b/players.jpg")]
    results.append(FileResult(str(originals / "a/players.jpg"), "possible", 0.35))
    placed = organise(results, dest, "copy", xmp=False, person="me")
    assert [p.dest.name for p in placed] == ["players.jpg", "players (2).jpg"]
    assert not any(p.linked for p in placed)
    for p in placed:
        assert p.dest.parent == dest and p.error is None
        assert p.dest.read_bytes() == Path(p.source).read_bytes()
        assert p.dest.stat().st_mtime == OLD
        assert p.dest.stat().st_ino != os.stat(p.source).st_ino
    assert _snapshot(originals) == before


def test_running_again_adds_only_new_matches(
    originals: Path, tmp_path: Path, samples: dict[str, Path]
) -> None:
    """What is already in the destination, byte for byte under its name or a numbered variant,
    is left alone; a different file of the same name still gets a name of its own."""
    dest = tmp_path / "out"
    a, b = _match(originals / "a/players.jpg"), _match(originals / "b/players.jpg")
    first = organise([a, b], dest, "copy", xmp=True, person="me")
    assert [(p.dest.name, p.existing) for p in first] == [
        ("players.jpg", False),
        ("players (2).jpg", False),
    ]
    listing = {p.name: p.stat().st_mtime_ns for p in dest.iterdir()}
    twin = tmp_path / "elsewhere" / "players.jpg"  # the same bytes from another folder
    twin.parent.mkdir()
    shutil.copyfile(originals / "b/players.jpg", twin)
    again = organise([b, a, _match(twin)], dest, "copy", xmp=True, person="me")
    assert [(p.dest.name, p.existing, p.error) for p in again] == [
        ("players (2).jpg", True, None),
        ("players.jpg", True, None),
        ("players (2).jpg", True, None),
    ]
    assert {p.name: p.stat().st_mtime_ns for p in dest.iterdir()} == listing
    (dest / "players.jpg").write_bytes(samples["gdp"].read_bytes())  # replaced by the user
    third = organise([a], dest, "copy", xmp=False, person="me")
    assert (third[0].dest.name, third[0].existing) == ("players (3).jpg", False)
    linked = organise([a], tmp_path / "links", "link", xmp=False, person="me")
    relinked = organise([a], tmp_path / "links", "link", xmp=False, person="me")
    assert linked[0].linked and relinked[0].existing and relinked[0].linked
    assert relinked[0].dest == linked[0].dest


@pytest.mark.parametrize("mode", ["copy", "link"])
def test_a_renamed_photo_or_an_identical_copy_is_there_already(
    originals: Path, tmp_path: Path, mode: str
) -> None:
    """A photo renamed or moved since it was gathered, and a second identical copy of one in
    the same run, are found in the destination under whatever name they have there (each run
    used to add them again: three files of one photo after a rename)."""
    dest = tmp_path / "out"
    team = originals / "a/players.jpg"
    twin = originals / "b/team-copy.jpg"
    shutil.copyfile(team, twin)
    first = organise([_match(team), _match(twin)], dest, mode, xmp=False, person="me")  # type: ignore[arg-type]
    assert [(p.dest.name, p.existing, p.twin) for p in first] == [
        ("players.jpg", False, False),
        ("players.jpg", True, True),  # placed by this run, as the first
    ]
    renamed = originals / "b" / "renamed.jpg"
    team.rename(renamed)
    again = organise([_match(renamed), _match(twin)], dest, mode, xmp=False, person="me")  # type: ignore[arg-type]
    assert [(p.dest.name, p.existing, p.twin) for p in again] == [
        ("players.jpg", True, False),
        ("players.jpg", True, False),
    ]
    assert sorted(p.name for p in dest.iterdir()) == [GATHERED_MARKER, "players.jpg"]
    # A different photo of the same size is not taken for it.
    other = originals / "b" / "other.jpg"
    data = bytearray(renamed.read_bytes())
    data[-3] ^= 0xFF
    other.write_bytes(bytes(data))
    (placed,) = organise([_match(other)], dest, mode, xmp=False, person="me")  # type: ignore[arg-type]
    assert (placed.dest.name, placed.existing) == ("other.jpg", False)


def test_bytes_kept_under_a_numbered_name_are_found(originals: Path, tmp_path: Path) -> None:
    """The user's own file took ``players.jpg``, so the match went to ``players (2).jpg``;
    once that file is moved away, a new run finds the match under its numbered name instead
    of copying it a second time."""
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "players.jpg").write_bytes(b"the user's own file")
    a = _match(originals / "a/players.jpg")
    assert organise([a], dest, "copy", xmp=False, person="me")[0].dest.name == "players (2).jpg"
    (dest / "players.jpg").unlink()
    again = organise([a], dest, "copy", xmp=False, person="me")
    assert (again[0].dest.name, again[0].existing) == ("players (2).jpg", True)
    assert sorted(p.name for p in dest.iterdir()) == ["players (2).jpg"]


def test_hard_link_on_same_file_system(originals: Path, tmp_path: Path) -> None:
    before = _snapshot(originals)
    placed = organise([_match(originals / "a/players.jpg")], tmp_path / "out", "link", False, "me")
    assert placed[0].linked
    assert placed[0].dest.stat().st_ino == (originals / "a/players.jpg").stat().st_ino
    assert _snapshot(originals) == before


def test_link_falls_back_to_copy(
    originals: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: str, dst: str) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", refuse)
    placed = organise([_match(originals / "a/players.jpg")], tmp_path / "out", "link", False, "me")
    assert not placed[0].linked and placed[0].dest.is_file()
    assert placed[0].dest.stat().st_mtime == OLD


def test_archive_member_extracted_safely(samples: dict[str, Path], tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("../../evil.jpg", date_time=(2019, 5, 17, 12, 30, 0))
        zf.writestr(info, samples["players"].read_bytes())
        zf.writestr("album/..\x07weird\\name.jpg", samples["gdp"].read_bytes())
    dest = tmp_path / "deep" / "out"
    outside_before = {p for p in tmp_path.rglob("*")}
    results = [
        _match(f"{archive}!/../../evil.jpg"),
        _match(f"{archive}!/album/..\x07weird\\name.jpg"),
    ]
    placed = organise(results, dest, "link", xmp=False, person="me")
    assert [p.dest.name for p in placed] == ["evil.jpg", "name.jpg"]
    assert placed[0].dest == dest / "evil.jpg" and not placed[0].linked
    assert placed[0].dest.read_bytes() == samples["players"].read_bytes()
    assert time.gmtime(placed[0].dest.stat().st_mtime)[:6] == (2019, 5, 17, 12, 30, 0)
    created = {p for p in tmp_path.rglob("*")} - outside_before
    marker = dest / GATHERED_MARKER  # a folder it made: marked as holding gathered matches
    assert created == {dest.parent, dest, marker, dest / "evil.jpg", dest / "name.jpg"}


def _names(dest: Path) -> list[str]:
    """What is in ``dest``, less the marker of a folder of gathered matches."""
    return sorted(p.name for p in dest.iterdir() if p.name != GATHERED_MARKER)


def test_only_a_folder_of_nothing_else_is_marked_as_gathered(
    originals: Path, tmp_path: Path
) -> None:
    """A later scan of a folder above leaves a marked folder out: one that already held the
    user's own photos must never be marked."""
    fresh, used, unused = tmp_path / "fresh", tmp_path / "used", tmp_path / "unused"
    used.mkdir()
    (used / "mine.jpg").write_bytes(b"my own photo")
    for dest in (fresh, used):
        organise([_match(originals / "a/players.jpg")], dest, "copy", False, "me")
    assert (fresh / GATHERED_MARKER).is_file() and not (used / GATHERED_MARKER).exists()
    # Nothing placed (no match): not marked, or photos put there later would be left out.
    organise([], unused, "copy", False, "me")
    assert unused.is_dir() and not (unused / GATHERED_MARKER).exists()


def test_never_follows_a_link_in_dest(originals: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (dest / "players.jpg").symlink_to(victim)
    placed = organise([_match(originals / "a/players.jpg")], dest, "copy", False, "me")
    assert placed[0].dest.name == "players (2).jpg"
    assert victim.read_text() == "keep"
    other = tmp_path / "other"
    other.mkdir()
    (other / "players.jpg").symlink_to(originals / "a/players.jpg")  # the same bytes, via a link
    placed = organise([_match(originals / "a/players.jpg")], other, "copy", False, "me")
    assert placed[0].dest.name == "players (2).jpg" and not placed[0].existing


def test_missing_file_is_reported_others_placed(originals: Path, tmp_path: Path) -> None:
    results = [_match(originals / "gone.jpg"), _match(originals / "a/players.jpg")]
    placed = organise(results, tmp_path / "out", "copy", False, "me")
    assert placed[0].error and not (tmp_path / "out" / "gone.jpg").exists()
    assert placed[1].error is None and placed[1].dest.is_file()


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/x/../..", "photo"),
        ("/x/a.zip!/a/b\\c.jpg", "c.jpg"),
        ("/x/a.zip!/a/c.jpg#2", "c.jpg"),  # the archive's second member named a/c.jpg
        ("/x/c.jpg#2", "c.jpg#2"),  # a file on disk keeps its name
        ("/x/.hidden.jpg", "hidden.jpg"),
        ("/x/con.jpg", "_con.jpg"),
        ("/x/tab\tnew\nline.jpg", "tab_new_line.jpg"),
        ("/x/ .jpg", "photo.jpg"),
        ("/x/.jpg", "photo.jpg"),
        ("/x/Beach 2019\\me.jpg", "Beach 2019_me.jpg"),  # one name on Linux
        ("/x/holiday_\u202egnp.jpg", "holiday__gnp.jpg"),  # not shown reversed
        ("/x/a\u200fb\x85.jpg", "a_b_.jpg"),
        ("/x/" + "é" * 300 + ".jpg", "é" * 98 + ".jpg"),
    ],
)
def test_safe_name(path: str, name: str) -> None:
    assert safe_name(path) == name


# --- reading result paths back -----------------------------------------------------------------


def test_read_bytes_plain_zip_tar_and_nested(samples: dict[str, Path], tmp_path: Path) -> None:
    data = samples["players"].read_bytes()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("x/inner.jpg", data)
    outer = tmp_path / "outer.tar.gz"
    with tarfile.open(outer, "w:gz") as tf:
        for name, payload in (("a/p.jpg", data), ("b/inner.zip", inner.getvalue())):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload))
    assert locate.read_bytes(str(samples["players"])) == data
    assert locate.read_bytes(f"{outer}!/a/p.jpg") == data
    assert locate.read_bytes(f"{outer}!/b/inner.zip!/x/inner.jpg") == data
    with pytest.raises(FileError):
        locate.read_bytes(f"{outer}!/missing.jpg")
    with pytest.raises(FileError):
        locate.read_bytes(str(tmp_path / "gone.jpg"))


def test_members_of_one_archive_read_in_one_pass(
    samples: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "takeout.tgz"
    with tarfile.open(archive, "w:gz") as tf:
        for key in ("players", "gdp", "t1"):
            tf.add(samples[key], f"Takeout/{key}.jpg")
    opened: list[object] = []
    real_open = tarfile.open

    def counting_open(*args: object, **kw: object) -> tarfile.TarFile:
        opened.append(args)
        return real_open(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(tarfile, "open", counting_open)
    results = [_match(f"{archive}!/Takeout/{k}.jpg") for k in ("t1", "players", "gdp")]
    results.append(_match(f"{archive}!/Takeout/missing.jpg"))
    placed = organise(results, tmp_path / "out", "copy", False, "me")
    assert len(opened) == 1
    assert [p.dest.name for p in placed[:3]] == ["t1.jpg", "players.jpg", "gdp.jpg"]
    assert placed[1].dest.read_bytes() == samples["players"].read_bytes()
    assert placed[3].error == "member not found in the archive"


def test_read_bytes_is_capped(
    samples: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("p.jpg", samples["players"].read_bytes())
    monkeypatch.setattr(locate, "MAX_IMAGE_MEMBER", 1000)
    with pytest.raises(FileError, match="limit"):
        locate.read_bytes(f"{archive}!/p.jpg")
    with pytest.raises(FileError, match="limit"):
        locate.read_bytes(str(samples["players"]))


# --- XMP face regions ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rotated(
    tmp_path_factory: pytest.TempPathFactory, samples: dict[str, Path]
) -> tuple[dict[int, FileResult], tuple[float, float, float, float]]:
    """Scan results for players.jpg stored with orientations 3, 6 and 8, and his upright box
    in the untouched photo."""
    lib = tmp_path_factory.mktemp("rotated")
    shutil.copyfile(samples["players"], lib / "rot1.jpg")
    for o in (3, 6, 8):
        imagegen.save_with_orientation(samples["players"], lib / f"rot{o}.jpg", o)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SELFSCAN_HOME", str(lib.parent / "home"))
        session = ops.prepare_find(
            ops.FindRequest(paths=[lib], me=[samples["yaoming"]], workers=1, store=False)
        )
        try:
            found = {int(Path(r.path).stem[3:]): r for r in session.results()}
        finally:
            session.close()
    plain = found.pop(1)
    return found, next(f.box for f in plain.faces if f.similarity == plain.score)


def _upright_box(copy: Path, area: tuple[float, float, float, float]) -> tuple[float, ...]:
    """Paint the normalised centre-based ``area`` on the stored image, let Pillow apply the EXIF
    orientation, and measure where the paint lands."""
    stored = Image.open(copy)
    w, h = stored.size
    cx, cy, aw, ah = area
    mask = Image.new("L", (w, h), 0)
    mask.paste(
        255,
        (
            round((cx - aw / 2) * w),
            round((cy - ah / 2) * h),
            round((cx + aw / 2) * w),
            round((cy + ah / 2) * h),
        ),
    )
    mask.getexif()[0x0112] = stored.getexif().get(0x0112, 1)
    upright = ImageOps.exif_transpose(mask)
    box = upright.getbbox()
    assert box is not None
    return tuple(float(v) for v in box)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_xmp_region_lands_on_his_face(
    rotated: tuple[dict[int, FileResult], tuple[float, float, float, float]],
    tmp_path: Path,
    orientation: int,
) -> None:
    results, his_box = rotated
    result = results[orientation]
    assert result.status == "match" and result.orientation == orientation
    placed = organise([result], tmp_path / "out", "copy", xmp=True, person="Yao <Ming>")[0]
    assert placed.xmp == tmp_path / "out" / f"rot{orientation}.jpg.xmp"
    root = ET.parse(placed.xmp).getroot()
    dims = root.find(f".//{{{NS['mwg-rs']}}}AppliedToDimensions")
    assert dims is not None
    stored = Image.open(placed.dest).size
    assert (
        int(dims.get(f"{{{NS['stDim']}}}w", 0)),
        int(dims.get(f"{{{NS['stDim']}}}h", 0)),
    ) == stored
    assert dims.get(f"{{{NS['stDim']}}}unit") == "pixel"
    regions = root.findall(f".//{{{NS['mwg-rs']}}}RegionList//{{{NS['rdf']}}}li")
    assert len(regions) >= 1
    names = [r.findtext(f"{{{NS['mwg-rs']}}}Name") for r in regions]
    assert set(names) == {"Yao <Ming>"}
    assert all(r.findtext(f"{{{NS['mwg-rs']}}}Type") == "Face" for r in regions)
    width, height = result.width or 1, result.height or 1
    best = None
    for region in regions:
        area = region.find(f"{{{NS['mwg-rs']}}}Area")
        assert area is not None and area.get(f"{{{NS['stArea']}}}unit") == "normalized"
        values = tuple(float(area.get(f"{{{NS['stArea']}}}{k}", "nan")) for k in "xywh")
        box = _upright_box(placed.dest, values)  # type: ignore[arg-type]
        error = max(
            abs(a - b) / (width if i % 2 == 0 else height)
            for i, (a, b) in enumerate(zip(box, his_box, strict=True))
        )
        best = error if best is None else min(best, error)
    assert best is not None and best < 0.01
    rect = root.find(f".//{{{NS['MPRI']}}}Regions//{{{NS['MPReg']}}}Rectangle")
    assert rect is not None and rect.text is not None
    left, top, rw, rh = (float(v) for v in rect.text.split(","))
    first = regions[0].find(f"{{{NS['mwg-rs']}}}Area")
    assert first is not None
    assert abs(left + rw / 2 - float(first.get(f"{{{NS['stArea']}}}x", 0))) < 1e-5
    assert abs(top + rh / 2 - float(first.get(f"{{{NS['stArea']}}}y", 0))) < 1e-5
    person = root.find(f".//{{{NS['MPReg']}}}PersonDisplayName")
    assert person is not None and person.text == "Yao <Ming>"


def test_a_video_sidecar_has_one_region_and_no_region_is_repeated() -> None:
    """A video matched in three sampled frames gets one region (where the person was seen
    best), not three copies; a photo's identical regions are written once."""
    from selfscan.reports.xmp import sidecar
    from selfscan.types import FaceHit

    def regions(result: FileResult) -> list[ET.Element]:
        text = sidecar(result, "me", threshold=0.4)
        assert text is not None
        root = ET.fromstring(text.split("?>", 1)[1].rsplit("<?xpacket", 1)[0])
        return root.findall(f".//{{{NS['mwg-rs']}}}RegionList//{{{NS['rdf']}}}li")

    box = (100.0, 100.0, 200.0, 220.0)
    frames = tuple(FaceHit(box, 0.9, s) for s in (0.61, 0.65, 0.63))
    video = FileResult(
        "clip.mp4", "match", 0.65, frames, width=640, height=480, facts={"video": {"fps": 30}}
    )
    assert len(regions(video)) == 1
    photo = FileResult("p.jpg", "match", 0.65, frames[:2], width=640, height=480)
    assert len(regions(photo)) == 1
    other = FaceHit((300.0, 100.0, 380.0, 200.0), 0.9, 0.5)
    both = FileResult("p.jpg", "match", 0.65, (*frames, other), width=640, height=480)
    assert len(regions(both)) == 2


def test_a_photo_replaced_since_it_was_scanned_is_not_placed(
    samples: dict[str, Path], tmp_path: Path
) -> None:
    """A long scan, and meanwhile a matched photo replaced by a photo of strangers: --copy-to
    (and --link-to, and the XMP naming you) placed the stranger among your photos."""
    lib = tmp_path / "lib"
    lib.mkdir()
    photo = lib / "00.jpg"
    shutil.copyfile(samples["players"], photo)
    scanned = FileResult(
        str(photo), "match", 0.7, width=10, height=10,
        fingerprint=fingerprint_file(str(photo), photo.stat().st_size),
    )  # fmt: skip
    shutil.copyfile(samples["t1"], photo)  # replaced after it was analysed
    for mode in ("copy", "link"):
        placed = organise([scanned], tmp_path / mode, mode, True, "me")  # type: ignore[arg-type]
        assert placed[0].error == "changed since it was scanned (scan again to include it)"
        assert _names(tmp_path / mode) == []
    shutil.copyfile(samples["players"], photo)  # the same content again: placed
    assert organise([scanned], tmp_path / "again")[0].error is None


def test_a_copy_cut_short_by_ctrl_c_leaves_no_part_file(
    samples: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during a large copy left a truncated file under the photo's own name, and later
    runs put the whole copy beside it as "(2)"."""

    def interrupted(src: object, dst: io.BufferedWriter, length: int = 0) -> None:
        dst.write(b"\xff\xd8 part of a photo")
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "copyfileobj", interrupted)
    with pytest.raises(KeyboardInterrupt):
        organise([_match(samples["players"])], tmp_path / "me")
    assert _names(tmp_path / "me") == []


def test_a_symlinked_photo_is_linked_to_the_photo_not_to_its_symlink(
    originals: Path, tmp_path: Path
) -> None:
    """``os.link`` of a symlink links the symlink itself on Linux: a relative one was broken
    in DIR, counted against the user's symlink, and added again on every run."""
    album = tmp_path / "album"
    album.mkdir()
    (album / "fav.jpg").symlink_to("../photos/a/players.jpg")
    dest = tmp_path / "out"
    for run in range(2):
        [placed] = organise([_match(album / "fav.jpg")], dest, "link", xmp=False, person="me")
        assert placed.existing == (run == 1) and placed.error is None
    assert _names(dest) == ["fav.jpg"]
    assert not (dest / "fav.jpg").is_symlink()
    assert (dest / "fav.jpg").stat().st_ino == (originals / "a/players.jpg").stat().st_ino
    assert os.lstat(album / "fav.jpg").st_nlink == 1


def test_a_name_numbered_already_is_found_again(originals: Path, tmp_path: Path) -> None:
    """``photo (1).jpg`` (a browser's download) was copied again on the second run as
    ``photo (1) (2).jpg``: its copies were filed under one name and looked for under another."""
    shutil.copyfile(originals / "a/players.jpg", originals / "a/photo (1).jpg")
    dest = tmp_path / "out"
    for run in range(3):
        placed = organise([_match(originals / "a/photo (1).jpg")], dest, "copy", False, "me")
        assert placed[0].existing == (run > 0)
    assert _names(dest) == ["photo (1).jpg"]


def test_a_sidecar_that_cannot_be_written_is_said_and_leaves_nothing(
    originals: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while writing a sidecar ended the run with an internal error and left an
    empty sidecar, which every later run kept as if it were one."""
    from selfscan import organise as organise_module

    real = os.fdopen

    def full(fd: int, *args: object, **kwargs: object) -> object:
        fh = real(fd, *args, **kwargs)  # type: ignore[call-overload]
        if "w" in str(args[0] if args else kwargs.get("mode", "")) and "b" not in str(args[0]):

            def write(_text: str) -> int:
                raise OSError(28, "No space left on device")

            fh.write = write
        return fh

    match = FileResult(
        str(originals / "a/players.jpg"), "match", 0.7,
        (FaceHit((10.0, 10.0, 60.0, 70.0), 0.9, 0.7),), width=1237, height=800,
    )  # fmt: skip
    dest = tmp_path / "out"
    monkeypatch.setattr(organise_module.os, "fdopen", full)
    [placed] = organise([match], dest, "copy", xmp=True, person="me")
    assert placed.xmp is None and placed.xmp_error == (
        "cannot write players.jpg.xmp: No space left on device"
    )
    assert not (dest / "players.jpg.xmp").exists() and placed.dest.exists()
    monkeypatch.undo()
    (dest / "players.jpg.xmp").write_bytes(b"")  # as an older version left it
    [again] = organise([match], dest, "copy", xmp=True, person="me")
    assert again.xmp is not None and again.xmp.stat().st_size > 0
