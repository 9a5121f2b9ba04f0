"""Exposure facts, duplicate grouping, the machine-readable records that carry them, and the
orientation arithmetic behind XMP regions."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from selfscan.exports import empty_source
from selfscan.exposure import exposure_facts, iso_time
from selfscan.geometry import stored_point, stored_size
from selfscan.grouping import group_duplicates
from selfscan.images import _ORIENT_OPS
from selfscan.reports import writer_for
from selfscan.reports.records import CSV_COLUMNS, record
from selfscan.thumbs import hamming, perceptual_hash
from selfscan.types import FaceHit, FileResult, ScanSummary
from tests import imagegen


def _faces(*sims: float | None) -> tuple[FaceHit, ...]:
    return tuple(FaceHit((10.0 * i, 0.0, 10.0 * i + 8, 8.0), 0.9, s) for i, s in enumerate(sims))


def _photo(**kw: object) -> dict[str, object]:
    facts: dict[str, object] = dict.fromkeys(("captured_at", "gps", "camera", "file_size"))
    facts.update(kw)
    return facts


def _result(photo: dict | None = None, source: dict | None = None, **kw: object) -> FileResult:
    facts: dict[str, object] = {"source": {**empty_source(), **(source or {})}}
    if photo is not None:
        facts["photo"] = photo
    base: dict[str, object] = {
        "status": "match",
        "score": 0.7,
        "faces": _faces(0.7, 0.1, None),
        "width": 4032,
        "height": 3024,
    }
    base.update(kw)
    return FileResult("/p/IMG_1.jpg", facts=facts, **base)  # type: ignore[arg-type]


def test_exif_wins_over_export() -> None:
    r = _result(
        _photo(
            captured_at="2021-07-04T10:00:00+02:00",
            gps={"latitude": 48.85, "longitude": 2.29, "altitude": None},
            camera={"make": "Apple", "model": "iPhone 12"},
            file_size=2_500_000,
        ),
        {"taken_time": 1_600_000_000, "geo": {"latitude": 1.0, "longitude": 2.0}},
    )
    f = exposure_facts(r)
    assert (f["taken"], f["taken_source"]) == ("2021-07-04T10:00:00+02:00", "exif")
    assert (f["has_location"], f["latitude"], f["longitude"]) == (True, 48.85, 2.29)
    assert f["location_source"] == "exif"
    assert f["camera"] == "Apple iPhone 12"
    assert (f["matching_faces"], f["other_faces"]) == (1, 2)
    assert (f["file_size"], f["width"], f["height"]) == (2_500_000, 4032, 3024)


def test_export_fills_in() -> None:
    source = {
        "export": "google_takeout",
        "archive": "/t/takeout-001.zip",
        "member": "Takeout/Google Photos/Trip/IMG_1.jpg",
        "album": "Trip",
        "taken_time": 1_600_000_000,
        "geo": {"latitude": -33.86, "longitude": 151.21, "altitude": 3.0},
        "people": ["Ann"],
    }
    f = exposure_facts(_result(_photo(gps={"latitude": 0.0, "longitude": 0.0}), source))
    assert (f["taken"], f["taken_source"]) == ("2020-09-13T12:26:40Z", "export")
    assert (f["latitude"], f["longitude"], f["location_source"]) == (-33.86, 151.21, "export")
    assert (f["export"], f["album"], f["people"]) == ("google_takeout", "Trip", ["Ann"])
    assert f["archive"] == "/t/takeout-001.zip" and f["member"].endswith("IMG_1.jpg")


def test_nothing_known() -> None:
    source = {"geo": {"latitude": 0.0, "longitude": 0.0}, "taken_time": None}
    f = exposure_facts(_result(None, source, faces=_faces(0.7)))
    assert f["taken"] is None and f["taken_source"] is None
    assert f["has_location"] is False and f["latitude"] is None
    assert f["camera"] is None and f["other_faces"] == 0 and f["kind"] == "photo"


def test_threshold_counts_every_matching_face() -> None:
    r = _result(faces=_faces(0.7, 0.5, 0.2, None))
    assert exposure_facts(r)["other_faces"] == 3
    assert exposure_facts(r, threshold=0.4)["other_faces"] == 2


def test_video_facts() -> None:
    r = FileResult(
        "/v/clip.mp4",
        "match",
        0.6,
        _faces(0.6, 0.55, 0.1),
        width=1920,
        height=1080,
        facts={"video": {"duration": 12.5}, "appearances": [1.0, 2.0], "best_time": 1.0},
    )
    f = exposure_facts(r)
    assert f["kind"] == "video" and f["appearances"] == [1.0, 2.0] and f["duration"] == 12.5
    assert f["other_faces"] is None


def test_a_video_counts_a_face_once_not_once_per_frame() -> None:
    """The same two people seen in three sampled frames are two faces, one of them you."""
    frames = [(0.0, 0.62, 0.1), (1.0, 0.6, 0.12), (2.0, 0.58, None), (3.0, 0.2, None)]
    faces = tuple(
        FaceHit((10.0 * i, 0.0, 10.0 * i + 8, 8.0), 0.9, s, time=t)
        for t, *sims in frames
        for i, s in enumerate(sims)
    )
    r = FileResult("/v/clip.mp4", "match", 0.62, faces, facts={"video": {"duration": 4.0}})
    assert r.face_count == 2
    assert exposure_facts(r, threshold=0.5)["matching_faces"] == 1
    assert _result(faces=_faces(0.7, 0.1, None)).face_count == 3
    assert FileResult("/p/none.jpg", "no_face").face_count == 0


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2019:06:01 12:34:56", "2019-06-01T12:34:56"),
        ("2019-06-01T12:34:56+01:00", "2019-06-01T12:34:56+01:00"),
        (0, "1970-01-01T00:00:00Z"),
        ("0000:00:00 00:00:00", None),
        ("yesterday", None),
        (float("nan"), None),
        (True, None),
    ],
)
def test_iso_time(value: object, iso: str | None) -> None:
    assert iso_time(value) == iso


def test_group_duplicates_by_hash() -> None:
    a, b, c, d, e = (_result() for _ in range(5))
    same = "f0f0f0f0f0f0f0f0"
    near = f"{int(same, 16) ^ 0b10101010101:016x}"  # 6 bits differ
    far = f"{int(same, 16) ^ (0b1111111 << 40):016x}"  # 7 bits differ (13 from near)
    groups = group_duplicates([(a, same), (b, far), (c, None), (d, near), (e, same)])
    assert [[id(r) for r in g] for g in groups] == [
        [id(a), id(d), id(e)],
        [id(b)],
        [id(c)],
    ]


def test_group_needs_the_same_shape() -> None:
    wide, tall = _result(), _result(width=3024, height=4032)
    assert len(group_duplicates([(wide, "00ff00ff00ff00ff"), (tall, "00ff00ff00ff00ff")])) == 2


def test_a_burst_is_not_one_photo_but_its_copies_are() -> None:
    """Shots of a burst hash alike and show you in nearly the same place, but each has its own
    capture time; a copy keeps the original's (perhaps without its zone) or has none."""
    shots = [_result(_photo(captured_at=f"2023-09-10T15:20:0{i}+02:00")) for i in range(3)]
    kept = _result(_photo(captured_at="2023-09-10T15:20:00"))
    stripped = _result()
    same = "00ff00ff00ff00ff"
    groups = group_duplicates([(r, same) for r in (*shots, kept, stripped)])
    assert [[id(r) for r in g] for g in groups] == [
        [id(shots[0]), id(kept), id(stripped)],
        [id(shots[1])],
        [id(shots[2])],
    ]
    # A phone's burst: several frames a second, told apart by their fraction of one; a copy
    # that lost the fraction is still a copy.
    at = "2023-09-10T15:20:00"
    frames = [_result(_photo(captured_at=at, captured_subsec=sub)) for sub in ("100", "430")]
    lost = _result(_photo(captured_at=at))
    groups = group_duplicates([(r, same) for r in (*frames, lost)])
    assert [[id(r) for r in g] for g in groups] == [[id(frames[0]), id(lost)], [id(frames[1])]]
    # The copy without a fraction first: the frames, each with its own, do not all join it.
    groups = group_duplicates([(r, same) for r in (lost, *frames)])
    assert [[id(r) for r in g] for g in groups] == [[id(lost), id(frames[0])], [id(frames[1])]]
    # A re-share without EXIF leads: two shots a second apart that both look like it must
    # not both join it (one photo of you vanished from the count).
    groups = group_duplicates([(r, same) for r in (stripped, *shots[:2], kept)])
    assert [[id(r) for r in g] for g in groups] == [
        [id(stripped), id(shots[0]), id(kept)],
        [id(shots[1])],
    ]
    # "5" and "500" are both half a second.
    half = [_result(_photo(captured_at=at, captured_subsec=sub)) for sub in ("5", "500")]
    assert len(group_duplicates([(r, same) for r in half])) == 1


def test_a_live_photo_joins_its_still_wherever_the_still_went() -> None:
    """A Live Photo's video (no hash) joins the group of its still of the same name and folder,
    also when the still joined an earlier copy of it; another folder's, another name's, or a
    name written otherwise does not."""
    same = "00ff00ff00ff00ff"
    backup = FileResult("/bak/IMG_0008.JPG", "match", 0.7)
    still = FileResult("/dcim/IMG_0008.JPG", "match", 0.7)

    def video(path: str) -> FileResult:
        return FileResult(path, "match", 0.8, facts={"video": {"duration": 2.0}})

    live, other, case, elsewhere = map(
        video,
        ("/dcim/IMG_0008.MOV", "/dcim/IMG_0009.MOV", "/dcim/img_0008.mov", "/Dcim/IMG_0008.MOV"),
    )
    groups = group_duplicates(
        [
            (backup, same),
            (live, None),
            (still, same),
            (other, None),
            (case, None),
            (elsewhere, None),
        ]
    )
    assert [[r.path for r in g] for g in groups] == [
        ["/bak/IMG_0008.JPG", "/dcim/IMG_0008.MOV", "/dcim/IMG_0008.JPG"],
        ["/dcim/IMG_0009.MOV"],
        ["/dcim/img_0008.mov"],
        ["/Dcim/IMG_0008.MOV"],
    ]


def test_an_iphone_edit_goes_with_the_photo_it_edits() -> None:
    """An iPhone keeps an edit beside its photo as IMG_E0001.HEIC (its Live Photo video as
    IMG_E0001.MOV): a cropped edit hashes otherwise, but it is the same photo of you. Only that
    name pattern, in that folder, is an edit; two photos of one name otherwise stay apart."""

    def shot(path: str, video: bool = False) -> FileResult:
        facts = {"video": {"duration": 2.0}} if video else {}
        return FileResult(path, "match", 0.7, facts=facts)

    entries = [
        (shot("/d/IMG_0001.HEIC"), "00ff00ff00ff00ff"),
        (shot("/d/IMG_E0001.HEIC"), "ff00ff00ff00ff00"),  # cropped: another hash
        (shot("/d/IMG_E0001.MOV", video=True), None),
        (shot("/e/IMG_E0001.HEIC"), "0f0f0f0f0f0f0f0f"),  # another folder
        (shot("/d/IMG_0002.PNG"), "f0f0f0f0f0f0f0f0"),
        (shot("/d/IMG_0002.JPG"), "3c3c3c3c3c3c3c3c"),  # one name, but no edit's
    ]
    groups = group_duplicates(entries)
    assert [[r.path for r in g] for g in groups] == [
        ["/d/IMG_0001.HEIC", "/d/IMG_E0001.HEIC", "/d/IMG_E0001.MOV"],
        ["/e/IMG_E0001.HEIC"],
        ["/d/IMG_0002.PNG"],
        ["/d/IMG_0002.JPG"],
    ]


def test_a_live_photo_in_an_iphone_backup_pairs_by_its_name_on_the_phone() -> None:
    """An iPhone backup stores IMG_0008.HEIC and IMG_0008.MOV under unrelated hashes: the
    names and folder its manifest gives pair them; another folder's IMG_0008.MOV does not."""

    def stored(
        file_id: str, phone_path: str, video: bool = False, backup: str = "/Backup/A"
    ) -> FileResult:
        source = {"export": "iphone_backup", "origin": "CameraRollDomain", "phone_path": phone_path}
        facts: dict = {"source": source, **({"video": {"duration": 2.0}} if video else {})}
        return FileResult(f"{backup}/{file_id[:2]}/{file_id}", "match", 0.7, facts=facts)

    still = stored("ab" + "1" * 38, "Media/DCIM/100APPLE/IMG_0008.HEIC")
    live = stored("cd" + "2" * 38, "Media/DCIM/100APPLE/IMG_0008.MOV", video=True)
    other = stored("ef" + "3" * 38, "Media/DCIM/101APPLE/IMG_0008.MOV", video=True)
    another = stored("cd" + "2" * 38, "Media/DCIM/100APPLE/IMG_0008.MOV", True, "/Backup/B")
    groups = group_duplicates([(still, "00ff00ff00ff00ff"), (live, None), (other, None),
                               (another, None)])  # fmt: skip
    assert [[r.path for r in g] for g in groups] == [
        [still.path, live.path],
        [other.path],
        [another.path],
    ]


def test_a_live_photo_in_a_photos_library_pairs_by_the_name_it_was_imported_under() -> None:
    """A Photos library stores IMG_0008.HEIC and its video by the photo's UUID: the names its
    database gives pair them; another photo's video of the same name in another folder does
    not."""

    def stored(path: str, title: str, video: bool = False) -> FileResult:
        source = {"export": "photos_library", "origin": "original", "title": title}
        facts: dict = {"source": source, **({"video": {"duration": 2.0}} if video else {})}
        return FileResult(f"/P.photoslibrary/originals/{path}", "match", 0.7, facts=facts)

    uuid = "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"
    still = stored(f"0/{uuid}.heic", "IMG_0008.HEIC")
    live = stored(f"0/{uuid}_3.mov", "IMG_0008.mov", video=True)
    other = stored(f"7/7{uuid[1:]}_3.mov", "IMG_0008.mov", video=True)
    groups = group_duplicates([(still, "00ff00ff00ff00ff"), (live, None), (other, None)])
    assert [[r.path for r in g] for g in groups] == [[still.path, live.path], [other.path]]


def _at(path: str, when: str | None = None, **photo: object) -> FileResult:
    facts = {"photo": {"captured_at": when, **photo}} if when or photo else {}
    return FileResult(path, "match", 0.7, _faces(0.7), width=4000, height=3000, facts=facts)


def test_grouping_goes_by_the_moment_not_the_order_met() -> None:
    """Found by testing the report: the count of photos of you changed with the order the
    files were met, or with a copy's zone, its save time or its stored turn."""
    same, near = "00ff00ff00ff00ff", "00ff00ff00ff00fe"

    def paths(groups: list[list[FileResult]]) -> list[list[str]]:
        return [[r.path for r in g] for g in groups]

    video = {"video": {"duration": 2.0}}
    live = [
        (FileResult("/a/IMG_0001.MOV", "match", 0.8, facts=video, fingerprint="v"), None),
        (FileResult("/b/IMG_0001.MOV", "match", 0.8, facts=video, fingerprint="v"), None),
        (_at("/b/IMG_0001.JPG"), same),
    ]  # the video joined its copy in /a first: the group still joins the still
    assert len(group_duplicates(live)) == 1
    edit_first = [(_at("/z/IMG_E0001.JPG"), near), (_at("/z/IMG_0001.JPG"), "ffffffff00000000")]
    assert len(group_duplicates(edit_first)) == 1
    via_share = [(_at("/a/shared.jpg"), same), (_at("/b/IMG_E0001.JPG"), same)]
    via_share.append((_at("/b/IMG_0001.JPG"), "ffffffff00000000"))
    assert len(group_duplicates(via_share)) == 1
    # One moment written in two zones is one photo; the same clock in two zones is two.
    zones = [
        (_at("/p/a.jpg", "2023-07-15T14:32:10+02:00"), same),
        (_at("/p/b.jpg", "2023-07-15T12:32:10+00:00"), same),
        (_at("/p/c.jpg", "2023-07-15T14:32:10+00:00"), same),
    ]
    assert paths(group_duplicates(zones)) == [["/p/a.jpg", "/p/b.jpg"], ["/p/c.jpg"]]
    # A copy whose only time is when an editor saved it (EXIF DateTime) is still a copy.
    saved = [
        (_at("/p/a.jpg", "2023-07-15T14:32:10"), same),
        (_at("/p/a-edit.jpg", "2024-01-02T09:00:00", captured_saved=True), same),
    ]
    assert len(group_duplicates(saved)) == 1
    # A re-share without EXIF joins the shot it copies most nearly, not the first near one.
    frames = [
        (_at("/d/1.jpg", "2023-07-15T14:32:10"), "00ff00ff00ff00ff"),
        (_at("/d/3.jpg", "2023-07-15T14:32:12"), "00ff00ff00ff003f"),
        (_at("/w/IMG-20230715-WA0003.jpg"), "00ff00ff00ff003f"),
    ]
    assert paths(group_duplicates(frames)) == [
        ["/d/1.jpg"],
        ["/d/3.jpg", "/w/IMG-20230715-WA0003.jpg"],
    ]
    # A photo stored on its side without a tag, shown turned, is its tagged copy: its face at
    # (x, y) as stored is at (1480 - y, x) as shown.
    tagged = FileResult(
        "/s/tagged.jpg", "match", 0.7, (FaceHit((100.0, 50.0, 300.0, 300.0), 0.9, 0.7),),
        width=1480, height=832,
    )  # fmt: skip
    untagged = FileResult(
        "/s/untagged.jpg", "match", 0.7, (FaceHit((50.0, 1180.0, 300.0, 1380.0), 0.9, 0.7),),
        width=832, height=1480, facts={"photo": {"turned": 90}},
    )  # fmt: skip
    assert len(group_duplicates([(tagged, same), (untagged, same)])) == 1


def test_grouping_does_not_depend_on_the_order_or_on_names_alone() -> None:
    """Found by testing again: names pair only an iPhone's files, and only when their times
    agree; a re-share, or a copy without a zone, goes where it belongs whatever comes first."""
    same, other = "00ff00ff00ff00ff", "ffffffff00000000"

    def paths(groups: list[list[FileResult]]) -> list[list[str]]:
        return sorted(sorted(r.path for r in g) for g in groups)

    # An "edit" of another moment, and a different video of a photo's name, stay apart.
    collide = [
        (_at("/c/IMG_0001.JPG", "2019-03-02T10:00:00"), same),
        (_at("/c/IMG_E0001.JPG", "2023-07-15T14:32:10"), other),
    ]
    assert len(group_duplicates(collide)) == 2
    video = {"video": {"duration": 2.0}}
    stem = [
        (_at("/h/holiday.jpg"), same),
        (FileResult("/h/holiday.mp4", "match", 0.8, facts=video), None),
    ]
    assert len(group_duplicates(stem)) == 2
    # A lower-cased export's names pair too; names differing in case do not.
    lower = [(_at("/l/img_0001.jpg"), same), (_at("/l/img_e0001.jpg"), other)]
    assert len(group_duplicates(lower)) == 1
    # Shot 2 re-shared without EXIF joins shot 2, whichever folder is met first.
    shots = [
        (_at("/d/IMG_0001.jpg", "2023-07-15T14:32:10"), "00ff00ff00ff00ff"),
        (_at("/d/IMG_0002.jpg", "2023-07-15T14:32:11"), "00ff00ff00ff001f"),
    ]
    share = (_at("/w/IMG-20230715-WA0002.jpg"), "00ff00ff00ff001f")
    for entries in ([share, *shots], [*shots, share]):
        assert paths(group_duplicates(entries)) == [
            ["/d/IMG_0001.jpg"],
            ["/d/IMG_0002.jpg", "/w/IMG-20230715-WA0002.jpg"],
        ]
    # One moment in three copies (two zones, one without), in any order.
    moment = [
        (_at("/z/a.jpg", "2023-07-15T14:32:10+02:00"), same),
        (_at("/z/b.jpg", "2023-07-15T12:32:10+00:00"), same),
        (_at("/z/c.jpg", "2023-07-15T14:32:10"), same),
    ]
    for order in ((0, 1, 2), (2, 1, 0), (1, 2, 0)):
        assert len(group_duplicates([moment[k] for k in order])) == 1, order

    # A Takeout export's Live Photo split over two parts of the export.
    def takeout(part: int, name: str, **facts: object) -> FileResult:
        member = f"Takeout/Google Photos/Photos from 2023/{name}"
        source = {"export": "google_takeout", "member": member}
        return FileResult(
            f"/t/takeout-00{part}.zip!/{member}", "match", 0.7, facts={"source": source, **facts}
        )

    split = [(takeout(1, "IMG_0001.JPG"), same), (takeout(2, "IMG_0001.MP4", **video), None)]
    assert len(group_duplicates(split)) == 1


def test_names_pair_only_what_was_taken_at_one_moment() -> None:
    """A video of an iPhone name beside a photo of that name, recorded years apart (numbers
    wrap after 9999; a folder may hold two phones' files), or two Takeout exports' files of
    one name, are two moments."""
    same = "00ff00ff00ff00ff"

    def mov(path: str, recorded: str | None) -> FileResult:
        return FileResult(path, "match", 0.8, facts={"video": {"creation_time": recorded}})

    photo = _at("/p/IMG_0001.JPG", "2023-07-15T14:32:10+02:00")
    assert (
        len(
            group_duplicates(
                [(photo, same), (mov("/p/IMG_0001.MOV", "2019-03-02T10:00:00Z"), None)]
            )
        )
        == 2
    )
    live = mov("/p/IMG_0001.MOV", "2023-07-15T12:32:08.000000Z")  # 1.5 s before the still
    assert len(group_duplicates([(photo, same), (live, None)])) == 1
    zoneless = _at("/p/IMG_0001.JPG", "2023-07-15T14:32:10")  # in some zone, 2 h from UTC
    assert len(group_duplicates([(zoneless, same), (live, None)])) == 1
    odd = mov("/p/IMG_0001.MOV", "2023-07-15T12:51:40Z")  # no zone is 19 min 30 s off
    assert len(group_duplicates([(zoneless, same), (odd, None)])) == 2

    def takeout(archive: str, name: str) -> FileResult:
        member = f"Takeout/Google Photos/Photos from 2023/{name}"
        source = {"export": "google_takeout", "member": member}
        facts: dict[str, object] = {"source": source}
        if name.endswith(".MP4"):
            facts["video"] = {"duration": 2.0}
        return FileResult(f"/t/{archive}!/{member}", "match", 0.7, facts=facts)

    accounts = [
        (takeout("takeout-20240101T000000Z-001.zip", "IMG_0001.JPG"), same),
        (takeout("takeout-20240505T000000Z-001.zip", "IMG_0001.MP4"), None),
    ]
    assert len(group_duplicates(accounts)) == 2
    parts = [
        (takeout("takeout-20240101T000000Z-001.zip", "IMG_0001.JPG"), same),
        (takeout("takeout-20240101T000000Z-002.zip", "IMG_0001.MP4"), None),
    ]
    assert len(group_duplicates(parts)) == 1


def test_near_copies_group_the_same_in_any_order() -> None:
    """Three crops of one photo whose hashes form a chain (5, 5 and 10 bits apart), and a copy
    of a burst's third frame that lost its fraction of a second: grouped alike whatever order
    they are met in."""
    from itertools import permutations

    chain = [
        (_at("/c/a.jpg"), "0000000000000000"),
        (_at("/c/b.jpg"), "000000000000001f"),
        (_at("/c/c.jpg"), "00000000000003ff"),
    ]
    shapes = {
        tuple(sorted(tuple(sorted(r.path for r in g)) for g in group_duplicates(list(p))))
        for p in permutations(chain)
    }
    assert len(shapes) == 1
    at = "2023-07-15T14:32:10"
    frames = [
        (_at(f"/b/{n}.jpg", at, captured_subsec=sub), h)
        for n, sub, h in (("1", "1", "00ff00ff00ff00ff"), ("3", "3", "00ff00ff00ff000f"))
    ]
    copy = (_at("/b/0copy.jpg", at), "00ff00ff00ff000f")
    for p in permutations([*frames, copy]):
        groups = {tuple(sorted(r.path for r in g)) for g in group_duplicates(list(p))}
        assert ("/b/0copy.jpg", "/b/3.jpg") in groups, groups


def test_two_phones_photos_of_one_name_each_keep_their_own_video() -> None:
    """Two iPhones' IMG_0001 in one folder, taken years apart: the video recorded with the
    second goes with it, whichever file is met first."""
    from itertools import permutations

    older = _at("/p/IMG_0001.HEIC", "2019-03-02T10:00:00+00:00")
    newer = _at("/p/IMG_0001.JPG", "2023-07-15T14:32:10+02:00")
    mov = FileResult(
        "/p/IMG_0001.MOV", "match", 0.8, facts={"video": {"creation_time": "2023-07-15T12:32:10Z"}}
    )
    hashes = {older.path: "00ff00ff00ff00ff", newer.path: "ffffffff00000000", mov.path: None}
    for p in permutations([older, newer, mov]):
        groups = group_duplicates([(r, hashes[r.path]) for r in p])
        assert sorted(sorted(r.path for r in g) for g in groups) == [
            ["/p/IMG_0001.HEIC"],
            ["/p/IMG_0001.JPG", "/p/IMG_0001.MOV"],
        ]


def test_a_zoned_copy_that_lost_its_fraction_joins_the_frame_it_copies() -> None:
    from itertools import permutations

    at = "2023-07-15T14:32:10"
    frames = [
        (_at(f"/b/{n}.jpg", at, captured_subsec=sub), h)
        for n, sub, h in (("1", "1", "00ff00ff00ff00ff"), ("2", "4", "00ff00ff00ff000f"))
    ]
    copy = (_at("/b/0copy.jpg", at + "+02:00"), "00ff00ff00ff00ff")
    for p in permutations([*frames, copy]):
        groups = {tuple(sorted(r.path for r in g)) for g in group_duplicates(list(p))}
        assert ("/b/0copy.jpg", "/b/1.jpg") in groups, groups


def test_a_time_an_editor_saved_is_no_capture_time() -> None:
    saved = _result(_photo(captured_at="2024-01-02T09:00:00", captured_saved=True))
    facts = exposure_facts(saved)
    assert (facts["taken"], facts["taken_source"]) == ("2024-01-02T09:00:00", "saved")
    named = FileResult(
        "/p/IMG_20230715_143210.jpg", "match", 0.7, _faces(0.7),
        facts={"photo": _photo(captured_at="2024-01-02T09:00:00", captured_saved=True)},
    )  # fmt: skip
    facts = exposure_facts(named)
    assert (facts["taken"], facts["taken_source"]) == ("2023-07-15T14:32:10", "file_name")
    # in an iPhone backup, by its name on the phone (a WhatsApp photo), not its hash
    phone = "Message/Media/IMG-20220301-WA0007.jpg"
    source = {"export": "iphone_backup", "phone_path": phone}
    stored = FileResult("/Backup/A/12/12" + "0" * 38, "match", 0.7, _faces(0.7),
                        facts={"source": source})  # fmt: skip
    assert (exposure_facts(stored)["taken"], exposure_facts(stored)["taken_source"]) == (
        "2022-03-01",
        "file_name",
    )


def test_perceptual_hash_of_real_copies(samples: dict[str, Path], tmp_path: Path) -> None:
    shutil.copyfile(samples["players"], tmp_path / "copy.jpg")
    imagegen.rescaled(samples["players"], tmp_path / "small.jpg", 0.5)
    imagegen.recompressed(samples["players"], tmp_path / "q30.jpg", 30)
    imagegen.save_with_orientation(samples["players"], tmp_path / "rot8.jpg", 8)
    base = perceptual_hash(str(samples["players"]))
    assert base is not None
    for name in ("copy.jpg", "small.jpg", "q30.jpg", "rot8.jpg"):
        other = perceptual_hash(str(tmp_path / name))
        assert other is not None and hamming(base, other) <= 6, name
    for key in ("gdp", "t1", "yaoming"):
        other = perceptual_hash(str(samples[key]))
        assert other is not None and hamming(base, other) > 12, key
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    assert perceptual_hash(str(tmp_path / "bad.jpg")) is None


def test_records_carry_exposure() -> None:
    match = _result(_photo(captured_at="2021-07-04T10:00:00", camera={"model": "Pixel 7"}))
    other = FileResult("/p/x.jpg", "no_match", 0.1, _faces(0.1))
    rec = record(match)
    assert list(rec)[:5] == ["path", "status", "score", "faces", "error"]
    assert rec["exposure"]["taken"] == "2021-07-04T10:00:00"
    assert "exposure" not in record(other)
    buf = io.StringIO()
    writer = writer_for("jsonl", buf)
    writer.add(match)
    writer.add(other)
    writer.close(ScanSummary())
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert lines[0]["exposure"]["camera"] == "Pixel 7" and "exposure" not in lines[1]


def test_csv_columns() -> None:
    assert CSV_COLUMNS[:8] == [
        "path",
        "status",
        "score",
        "faces",
        "best_box",
        "error",
        "width",
        "height",
    ]
    assert CSV_COLUMNS[8:] == [
        "taken",
        "latitude",
        "longitude",
        "camera",
        "other_faces",
        "source",
        "place",
        "upload_ip",
        "album",
        "title",
        "taken_source",
        "location_source",
        "thread",
        "sender",
        "phone_path",
    ]
    buf = io.StringIO()
    writer = writer_for("csv", buf)
    source = {"export": "facebook", "upload_ip": "203.0.113.7", "album": "Trip", "title": "Beach"}
    source |= {"thread": "Jane", "sender": "Jane Smith"}
    writer.add(_result(_photo(gps={"latitude": 1.5, "longitude": -2.5})))
    writer.add(_result(_photo(), source))
    writer.add(FileResult("/p/x.jpg", "no_face"))
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert (rows[0]["latitude"], rows[0]["longitude"], rows[0]["source"]) == (
        "1.5",
        "-2.5",
        "folder",
    )
    assert rows[0]["other_faces"] == "2" and rows[0]["upload_ip"] == ""
    assert (rows[0]["taken_source"], rows[0]["location_source"]) == ("", "exif")
    assert (rows[1]["source"], rows[1]["upload_ip"], rows[1]["album"], rows[1]["title"]) == (
        "facebook",
        "203.0.113.7",
        "Trip",
        "Beach",
    )
    assert (rows[1]["thread"], rows[1]["sender"], rows[1]["phone_path"]) == (
        "Jane",
        "Jane Smith",
        "",
    )
    assert rows[2]["latitude"] == "" and rows[2]["source"] == "" and rows[2]["title"] == ""


@pytest.mark.parametrize("orientation", range(1, 9))
def test_stored_point_inverts_every_orientation(orientation: int) -> None:
    """Mark a pixel in a stored image, turn it upright as decoders do, map it back."""
    stored = Image.new("L", (40, 30), 0)
    stored.putpixel((7, 3), 255)
    upright = stored.transpose(_ORIENT_OPS[orientation]) if orientation in _ORIENT_OPS else stored
    w, h = upright.size
    assert stored_size(w, h, orientation) == (40, 30)
    u, v = next((x, y) for y in range(h) for x in range(w) if upright.getpixel((x, y)) == 255)
    assert stored_point(u + 0.5, v + 0.5, w, h, orientation) == (7.5, 3.5)


def test_undecodable_names_and_formulas_are_written_safely() -> None:
    name = "/p/caf\udce9.jpg"  # a file name whose bytes are not UTF-8, as os.scandir gives it
    r = _result(_photo(camera={"model": "=HYPERLINK(1)"}))
    r = FileResult(name, r.status, r.score, r.faces, width=r.width, height=r.height, facts=r.facts)
    for fmt in ("jsonl", "json", "csv"):
        buf = io.StringIO()
        writer = writer_for(fmt, buf)
        writer.add(r)
        writer.close(ScanSummary())
        text = buf.getvalue()
        text.encode("utf-8")  # what a UTF-8 file or terminal needs
        if fmt == "jsonl":
            assert json.loads(text)["path"] == name  # the same name, bytes recoverable
        if fmt == "csv":
            row = next(csv.DictReader(io.StringIO(text)))
            assert row["path"] == "/p/caf\\xe9.jpg" and row["camera"] == "'=HYPERLINK(1)"


@pytest.mark.parametrize(
    ("make", "model", "shown"),
    [
        ("Apple", "iPhone 12", "Apple iPhone 12"),
        ("Canon", "Canon EOS 5D", "Canon EOS 5D"),
        ("NIKON CORPORATION", "NIKON D750", "NIKON D750"),
        ("OLYMPUS IMAGING CORP.", "E-M10", "OLYMPUS IMAGING CORP. E-M10"),
    ],
)
def test_camera_names_do_not_repeat_the_make(make: str, model: str, shown: str) -> None:
    f = exposure_facts(_result(_photo(camera={"make": make, "model": model})))
    assert f["camera"] == shown


def test_a_place_name_is_a_location() -> None:
    """An export that names the place (old Instagram) but gives no coordinates still tells
    where the photo was taken: it counts as a location and the report shows the name."""
    import io

    from selfscan.reports import writer_for
    from selfscan.types import ScanSummary

    r = _result(_photo(), {"export": "instagram", "place": "West End, Vancouver"})
    f = exposure_facts(r)
    assert (f["has_location"], f["latitude"], f["place"]) == (True, None, "West End, Vancouver")
    assert f["location_source"] == "export"
    assert not exposure_facts(_result(_photo()))["has_location"]
    buf = io.StringIO()
    writer = writer_for("html", buf, threshold=0.4)
    writer.add(r)
    writer.close(ScanSummary(total=1, counts={"match": 1}))
    assert "West End, Vancouver (from the export)" in buf.getvalue()
