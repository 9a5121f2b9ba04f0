"""Profiles: one person per profile, carried across model packs, listed photo by photo and
erased photo by photo; a damaged profile file is said, never used nor silently replaced."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfscan import lock
from selfscan.index import index_path
from selfscan.references import unlike
from selfscan.types import Profile, Reference
from tests.child import command
from tests.test_cli import run


def _stranger(samples: dict[str, Path], dest: Path, box: tuple[int, int, int, int]) -> Path:
    """One face of the group photo t1.jpg (someone else), cropped to a photo of its own."""
    Image.open(samples["t1"]).crop(box).save(dest, quality=95)
    return dest


@pytest.fixture
def stranger(samples: dict[str, Path], tmp_path: Path) -> Path:
    return _stranger(samples, tmp_path / "stranger.jpg", (385, 186, 654, 490))


@pytest.fixture
def mirror(samples: dict[str, Path], tmp_path: Path) -> Path:
    """A second photo of him: yaoming.jpg mirrored."""
    dest = tmp_path / "mirror.jpg"
    Image.open(samples["yaoming"]).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(dest)
    return dest


def _profile_file(home: Path, name: str = "me") -> Path:
    return home / "profiles" / f"{name}.json"


def _as_if_made_by_another_model(home: Path) -> Path:
    """Mark the stored profile as made by another model pack (buffalo_l); returns its file."""
    path = _profile_file(home)
    doc = json.loads(path.read_text())
    doc["model_id"] = "buffalo_l:0123456789ab"
    path.write_text(json.dumps(doc))
    return path


def _as_saved_before_fingerprints(path: Path) -> None:
    """Drop the photos' fingerprints, as in a profile saved before they were kept."""
    doc = json.loads(path.read_text())
    for ref in doc["references"]:
        ref.pop("fingerprint", None)
    path.write_text(json.dumps(doc))


def _said(*texts: str) -> str:
    return " ".join(" ".join(texts).split())


def test_enroll_refuses_someone_else(
    samples: dict[str, Path], stranger: Path, mirror: Path, home: Path
) -> None:
    """A photo of another person among yours is named and nothing is stored; added later to a
    profile, it is refused and the profile stays as it was; --allow-unlike adds it, saying so."""
    code, out, err = run("enroll", str(samples["yaoming"]), str(mirror), str(stranger))
    said = _said(out, err)
    assert code == 1, said
    assert "stranger.jpg does not look like the same person as yaoming.jpg, mirror.jpg" in said
    assert "--allow-unlike" in said
    assert not _profile_file(home).exists()

    assert run("enroll", str(samples["yaoming"]))[0] == 0
    before = _profile_file(home).read_bytes()
    code, out, err = run("enroll", str(stranger))
    assert code == 1 and "stranger.jpg does not look like" in _said(out, err)
    assert _profile_file(home).read_bytes() == before

    code, out, err = run("enroll", "--allow-unlike", str(stranger))
    assert code == 0 and "now has 2 reference photos" in _said(out)
    assert "note: stranger.jpg does not look like the same person" in _said(err)
    # Enrolling again a photo already in the profile renews it: neither is judged again.
    for photo in (samples["yaoming"], stranger):
        code, out, err = run("enroll", str(photo))
        assert code == 0 and "now has 2 reference photos" in _said(out), _said(out, err)


def test_a_photo_replaced_under_its_name_is_judged_again(
    samples: dict[str, Path], stranger: Path, mirror: Path, home: Path
) -> None:
    """Renewing skips the one-person check only for the same picture: ``b.jpg`` enrolled, then
    replaced by a photo of someone else and enrolled again, slipped a stranger into the profile."""
    assert run("enroll", str(samples["yaoming"]), str(mirror))[0] == 0
    before = _profile_file(home).read_bytes()
    shutil.copyfile(stranger, mirror)
    code, out, err = run("enroll", str(mirror))
    assert code == 1 and "mirror.jpg does not look like the same person" in _said(out, err)
    assert _profile_file(home).read_bytes() == before
    # A profile of that one photo: judged against the picture it replaced.
    assert run("forget", "--profile", "me")[0] == 0
    shutil.copyfile(samples["yaoming"], mirror)
    assert run("enroll", str(mirror))[0] == 0
    shutil.copyfile(stranger, mirror)
    code, out, err = run("enroll", str(mirror))
    said = _said(out, err)
    assert code == 1 and "mirror.jpg does not look like the same person as mirror.jpg (as" in said


def test_photos_of_one_person_are_accepted(
    samples: dict[str, Path], mirror: Path, home: Path
) -> None:
    code, out, err = run("enroll", str(samples["yaoming"]), str(mirror))
    assert code == 0 and "does not look like" not in out + err


def test_unlike_groups_photos_through_those_between() -> None:
    """You at 20 and at 50 score low together but each high with you at 35: one person. Two
    photos of someone else form a group of their own, smaller than yours, and are named."""

    def ref(name: str, vector: list[float]) -> Reference:
        v = np.array(vector + [0.0] * 509, np.float32)
        return Reference(name, (0, 0, 1, 1), 0.9, v / np.linalg.norm(v))

    young, middle, old = ref("20", [1, 0, 0]), ref("35", [1, 1, 0]), ref("50", [0, 1, 0])
    chain = Profile("me", "m", (young, middle, old))  # 20~35 0.71, 35~50 0.71, 20~50 0
    assert unlike(chain, {"20", "35", "50"}, 0.4) == []
    other1, other2 = ref("x1", [0, 0, 1]), ref("x2", [0, 0.1, 1])
    mixed = Profile("me", "m", (young, middle, old, other1, other2))
    odd = unlike(mixed, {"x1", "x2"}, 0.4)
    assert [u.source for u in odd] == ["x1", "x2"]
    assert odd[0].others == ("20", "35", "50") and odd[0].best < 0.1  # to the owner's photos
    assert unlike(mixed, {"20"}, 0.4) == []  # only new photos are named
    # Two photos, two people: the first (the older reference) is taken as the owner.
    assert [u.source for u in unlike(Profile("me", "m", (young, old)), {"50"}, 0.4)] == ["50"]
    # Earlier photos win, however many new photos of someone else come; the similarity said
    # is to the owner's photos (x1 and x2 are alike, but nothing like "20").
    crowd = Profile("me", "m", (young, other1, other2))
    odd = unlike(crowd, {"x1", "x2"}, 0.4)
    assert [u.source for u in odd] == ["x1", "x2"] and all(u.best < 0.1 for u in odd)


def test_a_photo_let_in_with_allow_unlike_never_takes_the_profile_over() -> None:
    """You, then a photo of you as a child let in with --allow-unlike, then another childhood
    photo: each later photo like any photo in the profile is accepted; the childhood group,
    now the larger, does not push your own photos out."""

    def ref(name: str, vector: list[float]) -> Reference:
        v = np.array(vector + [0.0] * 510, np.float32)
        return Reference(name, (0, 0, 1, 1), 0.9, v / np.linalg.norm(v))

    adult, adult2 = ref("adult", [1, 0]), ref("adult2", [1, 0.1])
    child, child2 = ref("child", [0, 1]), ref("child2", [0.1, 1])
    assert unlike(Profile("me", "m", (adult, child, child2)), {"child2"}, 0.4) == []
    grown = Profile("me", "m", (adult, child, child2, adult2))
    assert unlike(grown, {"adult2"}, 0.4) == []
    # Someone else is still refused, named against every photo of the profile.
    stranger = ref("x", [-1, -1])
    odd = unlike(Profile("me", "m", (*grown.references, stranger)), {"x"}, 0.4)
    assert [u.source for u in odd] == ["x"]
    assert odd[0].others == ("adult", "child", "child2", "adult2")


def test_find_me_with_two_people_says_so(
    samples: dict[str, Path], stranger: Path, library: Path
) -> None:
    code, _, err = run(
        "find", "--me", str(samples["yaoming"]), "--me", str(stranger), str(library),
        "--no-store", "--workers", "1", "-f", "jsonl",
    )  # fmt: skip
    assert code == 0
    assert "note: stranger.jpg does not look like the same person as yaoming.jpg" in _said(err)


def test_every_unusable_photo_is_named(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    tiny = tmp_path / "tiny.jpg"
    Image.open(samples["yaoming"]).resize((60, 60)).save(tiny)
    blank = tmp_path / "blank.jpg"
    Image.new("RGB", (400, 400), "grey").save(blank)
    code, out, err = run("enroll", str(samples["yaoming"]), str(tiny), str(blank))
    said = _said(out, err)
    assert code == 1
    assert "2 of 3 photos cannot be used, nothing was stored" in said
    assert "tiny.jpg" in said and "no face found in blank.jpg" in said
    assert not _profile_file(home).exists()


def test_enroll_after_a_model_change_keeps_the_earlier_photos(
    samples: dict[str, Path], mirror: Path, tmp_path: Path, home: Path
) -> None:
    """A profile made by another pack is re-embedded from its photos, not dropped; when its
    photos are gone, enroll refuses instead of replacing it."""
    me = tmp_path / "me.jpg"
    me.write_bytes(samples["yaoming"].read_bytes())
    assert run("enroll", str(me))[0] == 0
    path = _as_if_made_by_another_model(home)
    code, out, err = run("enroll", str(mirror))
    assert code == 0, err
    assert "now has 2 reference photos" in _said(out)
    assert "re-embedded its 1 earlier photo with buffalo_s" in _said(err)
    assert json.loads(path.read_text())["model_id"].startswith("buffalo_s:")

    _as_if_made_by_another_model(home)
    me.unlink()
    before = path.read_bytes()
    code, out, err = run("enroll", str(samples["yaoming"]))
    said = _said(err)
    assert code == 1 and f"its photo {me} is gone" in said
    assert f"'selfscan forget --profile me --photo {me}'" in said
    assert path.read_bytes() == before


def test_a_photo_replaced_since_it_was_enrolled_is_not_re_embedded(
    samples: dict[str, Path], stranger: Path, tmp_path: Path, home: Path, library: Path
) -> None:
    """After a change of model pack, the profile was rebuilt from whatever picture was at each
    photo's path: a file replaced since silently made the profile someone else's."""
    me = tmp_path / "me.jpg"
    me.write_bytes(samples["yaoming"].read_bytes())
    assert run("enroll", str(me))[0] == 0
    path = _as_if_made_by_another_model(home)
    _as_saved_before_fingerprints(path)  # the face box tells, then
    before = path.read_bytes()
    moved = Image.new("RGB", (900, 900), "grey")  # someone else, under the same name
    moved.paste(Image.open(stranger), (450, 420))
    moved.save(me)
    code, out, err = run("find", str(library), "--workers", "1")
    said = _said(out, err)
    assert code == 1 and f"its photo {me} no longer shows the face enrolled from it" in said
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "damage, why",
    [
        (
            lambda d: d["references"][0].update(embedding="AAAAAAAAAAA="),
            "its embeddings are damaged",
        ),
        (lambda d: d.update(references=[]), "it holds no reference photo"),
        (lambda d: d["references"][0].update(source=None), "a reference has no photo path"),
        (lambda d: d["references"][0].update(box=["a", "b"]), "a reference's face box is damaged"),
        (lambda d: d.update(model_id=None), "its name or model is damaged"),
    ],
    ids=["short embedding", "no reference", "no source", "bad box", "no model"],
)
def test_a_damaged_profile_is_said_and_kept(
    samples: dict[str, Path], library: Path, home: Path, damage: object, why: str
) -> None:
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    path = _profile_file(home)
    doc = json.loads(path.read_text())
    damage(doc)  # type: ignore[operator]
    path.write_text(json.dumps(doc))
    before = path.read_bytes()
    code, _, err = run("find", str(library), "--workers", "1", "-f", "jsonl")
    assert code == 1 and f"profile 'me' is unreadable ({why})" in _said(err), err
    assert "internal error" not in err
    code, _, err = run("enroll", str(samples["yaoming"]))
    assert code == 1 and "unreadable" in _said(err)
    assert path.read_bytes() == before


def test_data_lists_photos_and_forget_removes_one(
    samples: dict[str, Path], mirror: Path, home: Path
) -> None:
    assert run("enroll", str(samples["yaoming"]), str(mirror))[0] == 0
    code, out, _ = run("data", "--json")
    photos = json.loads(out)["profiles"][0]["photos"]
    assert photos == [str(samples["yaoming"].resolve()), str(mirror.resolve())]
    assert "mirror.jpg" in run("data")[1]

    code, out, _ = run("forget", "--photo", "mirror.jpg")
    assert code == 0 and f"forgot 1 reference photo of profile me: {mirror.resolve()}" in _said(out)
    kept = json.loads(_profile_file(home).read_text())["references"]
    assert [r["source"] for r in kept] == [str(samples["yaoming"].resolve())]

    code, out, _ = run("forget", "--photo", "mirror.jpg")  # gone already: nothing to forget
    assert code == 0 and "nothing to forget: profile 'me' holds no reference photo" in _said(out)
    assert "'selfscan data' lists its photos" in _said(out)
    # in another profile: which one is said
    assert run("enroll", str(mirror), "--profile", "yao")[0] == 0
    code, out, _ = run("forget", "--photo", "mirror.jpg")
    assert code == 0 and "profile 'yao' does: add --profile yao" in _said(out), out
    assert run("forget", "--photo", "mirror.jpg", "--profile", "yao")[0] == 0
    code, out, _ = run("forget", "--photo", str(samples["yaoming"]))
    assert code == 0 and "profile me (no reference photo left)" in _said(out)
    assert not _profile_file(home).exists()


def test_data_names_photos_that_share_a_name_by_path_and_says_which_are_gone(
    samples: dict[str, Path], mirror: Path, tmp_path: Path
) -> None:
    """Two reference photos both named ``me.jpg`` read the same in ``data`` (and ``forget
    --photo me.jpg`` then asks for a path, which ``data`` did not show); a reference photo
    moved away was listed as if it were there."""
    for n, folder in enumerate(("2019", "2021")):
        (tmp_path / folder).mkdir()
        src = mirror if n else samples["yaoming"]
        shutil.copyfile(src, tmp_path / folder / "me.jpg")
    moved = tmp_path / "old.jpg"
    Image.open(samples["yaoming"]).resize((400, 520)).save(moved)
    photos = [tmp_path / "2019/me.jpg", tmp_path / "2021/me.jpg", moved]
    code, _, err = run("enroll", *map(str, photos), "--allow-unlike")
    assert code == 0, err
    moved.rename(tmp_path / "new.jpg")
    code, out, _ = run("data")
    # The table folds long paths over lines: read its "contents" column back whole.
    contents = [line.split("│")[2] for line in out.splitlines() if line.count("│") >= 4]
    said = "".join("".join(contents).split())
    assert code == 0
    for folder in ("2019", "2021"):
        assert "".join(str((tmp_path / folder / "me.jpg").resolve()).split()) in said
    assert "old.jpg(nolongerthere:movedordeleted" in said
    listed = json.loads(run("data", "--json")[1])["profiles"][0]
    assert listed["missing_photos"] == [str(moved.resolve())]


def test_more_photos_of_someone_else_do_not_take_the_profile_over(
    samples: dict[str, Path], home: Path, tmp_path: Path
) -> None:
    """Two photos of a stranger added to a profile of one photo of him: they were "the largest
    group", so the profile quietly became theirs too. The earlier photos win."""
    strangers = [
        _stranger(samples, tmp_path / f"s{i}.jpg", box)
        for i, box in enumerate([(385, 186, 654, 490), (380, 180, 660, 496)])
    ]
    with Image.open(strangers[1]) as im:  # not the same photo twice, which is added once
        im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(strangers[1])
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    code, out, err = run("enroll", *map(str, strangers))
    said = _said(out, err)
    assert code == 1 and "s0.jpg does not look like the same person as yaoming.jpg" in said
    assert "s1.jpg does not look like" in said
    best = [float(x) for x in re.findall(r"similarity at most (-?[\d.]+)", said)]
    assert best and max(best) < 0.3, said  # to his photo, not to each other


def test_save_profile_of_two_people_is_refused(
    samples: dict[str, Path], stranger: Path, library: Path, home: Path
) -> None:
    code, _, err = run(
        "find", "--me", str(samples["yaoming"]), "--me", str(stranger), "--save-profile",
        str(library), "--workers", "1",
    )  # fmt: skip
    assert code == 1 and "not saved" in _said(err)
    assert not _profile_file(home).exists()


def test_forget_a_photo_by_an_ambiguous_name(
    samples: dict[str, Path], mirror: Path, tmp_path: Path, home: Path
) -> None:
    (tmp_path / "b").mkdir()
    twin = tmp_path / "b" / "mirror.jpg"
    twin.write_bytes(mirror.read_bytes())
    Image.open(twin).rotate(3).save(twin)  # a second photo of him named the same
    assert run("enroll", str(samples["yaoming"]), str(mirror), str(twin))[0] == 0
    code, _, err = run("forget", "--photo", "mirror.jpg")
    assert code == 1 and "holds 2 photos named 'mirror.jpg'" in _said(err)
    assert len(json.loads(_profile_file(home).read_text())["references"]) == 3
    assert run("forget", "--photo", str(twin))[0] == 0


def test_an_earlier_photo_that_no_longer_works_is_named(
    samples: dict[str, Path], mirror: Path, tmp_path: Path, home: Path
) -> None:
    """Re-embedding for another model found no face in an earlier photo (since replaced): the
    error named it as if the user had just given it; now it says it is the profile's."""
    first = tmp_path / "first.jpg"
    first.write_bytes(samples["yaoming"].read_bytes())
    assert run("enroll", str(first))[0] == 0
    _as_saved_before_fingerprints(_as_if_made_by_another_model(home))
    Image.new("RGB", (400, 400), "grey").save(first)
    code, _, err = run("enroll", str(mirror))
    said = _said(err)
    assert code == 1 and "one of its earlier photos cannot be re-embedded" in said
    assert "no face found in first.jpg" in said and "--photo PHOTO" in said


def test_save_profile_does_not_replace_you_with_someone_else(
    samples: dict[str, Path], stranger: Path, mirror: Path, library: Path, home: Path
) -> None:
    """``--save-profile`` replaces the profile; with photos of another person it wiped the
    user's own (``--profile`` defaults to ``me``). Photos of the same person still replace it."""
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    before = _profile_file(home).read_bytes()
    code, _, err = run(
        "find", "--me", str(stranger), "--save-profile", str(library), "--workers", "1"
    )
    assert code == 1 and "do not look like the person in profile 'me'" in _said(err)
    assert _profile_file(home).read_bytes() == before
    code, _, err = run(
        "find", "--me", str(mirror), "--save-profile", str(library), "--workers", "1"
    )
    assert code == 0 and "profile 'me' replaced" in _said(err)


def test_profile_changes_wait_for_one_another(
    samples: dict[str, Path], mirror: Path, home: Path
) -> None:
    """A forget while an enroll was between reading the profile and writing it back was undone
    (the erased photos came back); two enrolls at once kept one's photos. Profile changes now
    take turns: a forget started while another change holds the profiles waits for it."""
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    env = {**os.environ, "SELFSCAN_HOME": str(home)}
    with lock.profiles_held(home):  # as an enroll under way holds them
        proc = subprocess.Popen(command("forget", "--all"), env=env, stdout=subprocess.PIPE)
        time.sleep(3)
        assert proc.poll() is None  # waiting
        assert _profile_file(home).exists()
    assert proc.wait(timeout=120) == 0
    assert not _profile_file(home).exists()


def test_one_person_is_the_calibrated_threshold_whatever_threshold_is_given(
    samples: dict[str, Path], mirror: Path, stranger: Path, library: Path, home: Path
) -> None:
    """--threshold is for matches: at 0.99 two photos of him were "two people" (and the note
    said the same person scores from 0.99), at 0.05 a profile of two people was saved."""
    code, out, err = run(
        "find", "--me", str(samples["yaoming"]), "--me", str(mirror), "--save-profile",
        "--threshold", "0.99", str(library), "--workers", "1",
    )  # fmt: skip
    assert code == 0 and "does not look like" not in _said(out, err), _said(out, err)
    code, _, err = run(
        "find", "--me", str(samples["yaoming"]), "--me", str(stranger), "--save-profile",
        "--threshold", "0.05", str(library), "--workers", "1",
    )  # fmt: skip
    assert code == 1 and "not saved" in _said(err)
    assert len(json.loads(_profile_file(home).read_text())["references"]) == 2  # his two


def test_save_profile_refused_by_a_running_scan_changes_nothing(
    samples: dict[str, Path], mirror: Path, library: Path, home: Path
) -> None:
    """--save-profile saved the --me photos over the profile, then the scan was refused because
    another one was running."""
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    before = _profile_file(home).read_bytes()
    held = lock.acquire(index_path())  # a scan under way
    try:
        code, _, err = run("find", "--me", str(mirror), "--save-profile", str(library))
    finally:
        lock.release(held)
    assert code == 1 and "another selfscan" in _said(err)
    assert _profile_file(home).read_bytes() == before


@pytest.mark.parametrize("turn", [Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_90])
def test_a_photo_stored_upside_down_is_enrolled_the_right_way_up(
    samples: dict[str, Path], library: Path, home: Path, tmp_path: Path, turn: Image.Transpose
) -> None:
    """A reference photo stored upside down without an EXIF orientation was accepted, and the
    profile then matched no photo of him (about 0) and refused every right one as "unlike". It
    is read the right way up; its face box stays in the photo as stored."""
    turned = tmp_path / "turned.jpg"
    with Image.open(samples["yaoming"]) as im:
        im.transpose(turn).save(turned, quality=95)
        stored_w, stored_h = im.transpose(turn).size
    assert run("enroll", str(turned))[0] == 0
    doc = json.loads(_profile_file(home).read_text())
    x1, y1, x2, y2 = doc["references"][0]["box"]
    assert 0 <= x1 < x2 <= stored_w and 0 <= y1 < y2 <= stored_h
    code, out, _ = run("find", str(library), "--workers", "1")
    assert code == 0 and "1 match" in _said(out), _said(out)
    assert run("enroll", str(samples["yaoming"]))[0] == 0  # not "unlike" the first


def test_the_one_photo_of_a_profile_replaced_is_not_re_embedded(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """A profile of one photo, the photo replaced since (the same face box, another person):
    nothing else could tell, and the profile became the other person's."""
    me = tmp_path / "me.jpg"
    me.write_bytes(samples["yaoming"].read_bytes())
    assert run("enroll", str(me))[0] == 0
    path = _as_if_made_by_another_model(home)
    before = path.read_bytes()
    Image.open(samples["yaoming"]).convert("L").save(me)  # any change to the file
    code, out, err = run("find", str(samples["players"]), "--workers", "1")
    said = _said(out, err)
    assert code == 1 and f"its photo {me} is no longer the file enrolled" in said, said
    assert path.read_bytes() == before


def test_a_photo_replaced_by_someone_else_at_the_same_place_is_not_re_embedded(
    samples: dict[str, Path], stranger: Path, mirror: Path, tmp_path: Path, home: Path
) -> None:
    """Another person's face where his was (a portrait replaced by another): the boxes agree,
    but the photos, one person when enrolled, are two now."""
    me = tmp_path / "me.jpg"
    me.write_bytes(samples["yaoming"].read_bytes())
    assert run("enroll", str(me), str(mirror))[0] == 0
    path = _as_if_made_by_another_model(home)
    _as_saved_before_fingerprints(path)  # the other photo tells, then
    before = path.read_bytes()
    box = json.loads(before)["references"][0]["box"]
    x1, y1, x2, y2 = (round(v) for v in box)
    pad = round(0.35 * (y2 - y1))
    swapped = Image.open(me).convert("RGB")
    face = Image.open(stranger).convert("RGB").resize((x2 - x1 + 2 * pad, y2 - y1 + 2 * pad))
    swapped.paste(face, (x1 - pad, y1 - pad))
    swapped.save(me, quality=95)
    code, out, err = run("find", str(samples["players"]), "--workers", "1")
    said = _said(out, err)
    assert code == 1 and "no longer look like one person, as they did" in said, said
    assert path.read_bytes() == before


def test_an_upside_down_photo_is_not_turned_only_onto_its_side(
    shared_faces: tuple[Path, dict], home: Path, tmp_path: Path
) -> None:
    """Turned 90 degrees, an upside-down face lies on its side and can read as clearly as
    upright: that turn won, and the face was measured across (57 px, "too small")."""
    folder, _ = shared_faces
    down = tmp_path / "down.jpg"
    with Image.open(folder / "fr_obama2.jpg") as im:
        rgb, s = im.convert("RGB"), 85 / 412
        small = rgb.resize((int(rgb.width * s), int(rgb.height * s)), Image.Resampling.LANCZOS)
    small.rotate(180, expand=True).save(down, quality=92)
    code, out, err = run("enroll", str(down))
    assert code == 0, _said(out, err)


def test_a_sideways_photo_is_measured_the_right_way_up(
    samples: dict[str, Path], home: Path, tmp_path: Path
) -> None:
    """A face 93 px tall, stored on its side: its box as stored is 66 px tall, and the photo
    was refused as too small before it was turned."""
    upright, turned = tmp_path / "upright.jpg", tmp_path / "turned.jpg"
    with Image.open(samples["yaoming"]) as im:
        small = im.convert("RGB").resize((151, 187), Image.Resampling.LANCZOS)
    small.save(upright, quality=95)
    small.transpose(Image.Transpose.ROTATE_270).save(turned, quality=95)
    code, out, err = run("enroll", "--profile", "a", str(upright))
    assert code == 0, _said(out, err)
    code, out, err = run("enroll", "--profile", "b", str(turned))
    assert code == 0, _said(out, err)


@pytest.mark.parametrize("name", ["me\n", "../me", ".me", "", "a" * 65, "mé", "me/x", "me\x00"])
def test_profile_names_that_cannot_name_a_file_safely_are_refused(name: str) -> None:
    """A name ending in a newline was let through (``$`` matches before a final one) and made
    ``me\\n.json`` beside ``me.json``."""
    from selfscan.errors import ProfileError
    from selfscan.profiles import check_name

    with pytest.raises(ProfileError, match="invalid profile name"):
        check_name(name)
    assert check_name("Me.2024_x-1") == "Me.2024_x-1"


def test_names_that_differ_only_in_case_are_one_profile(
    samples: dict[str, Path], mirror: Path, home: Path
) -> None:
    """On macOS's and Windows's file systems ``Me.json`` is ``me.json``: a profile named in
    another case is the stored one on every system, so a data dir means the same everywhere
    (on Linux, ``--profile Me`` made a second profile beside ``me``)."""
    assert run("enroll", str(samples["yaoming"]))[0] == 0
    code, out, _ = run("enroll", str(mirror), "--profile", "Me")
    assert code == 0 and "profile 'me', which now has 2 reference photos" in _said(out), out
    assert [p.name for p in (home / "profiles").iterdir()] == ["me.json"]
    assert json.loads((home / "profiles/me.json").read_text())["name"] == "me"
    code, out, _ = run("data", "--json")
    assert [p["name"] for p in json.loads(out)["profiles"]] == ["me"]
    code, out, _ = run("forget", "--photo", "mirror.jpg", "--profile", "ME")
    assert code == 0 and "reference photo of profile me" in _said(out), out
    code, out, _ = run("forget", "--profile", "mE")
    assert code == 0 and "profile me" in _said(out), out
    assert not (home / "profiles/me.json").exists()
