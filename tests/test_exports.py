"""Export metadata: Takeout sidecar naming and parsing, Facebook and Instagram JSON."""

from __future__ import annotations

import io
import json
import tarfile
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selfscan import exports
from selfscan.exports import (
    fix_mojibake,
    parse_social,
    parse_takeout_album,
    parse_takeout_sidecar,
    sidecar_names,
    social_kind,
    unedited_name,
)
from selfscan.exposure import exposure_facts
from selfscan.names import split_export
from selfscan.sources import iter_items
from selfscan.types import FileResult
from tests.exportgen import (
    TAKEOUT_ZIPS,
    Export,
    build_facebook,
    build_instagram,
    build_takeout,
    mismatches,
    mojibake,
)


@pytest.fixture
def photos(samples: dict[str, Path]) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in samples.items()}


# ---------------------------------------------------------------------------------------------
# Takeout sidecar names


@pytest.mark.parametrize(
    ("photo", "sidecar"),
    [
        ("IMG_1.jpg", "IMG_1.jpg.json"),
        ("IMG_1.jpg", "IMG_1.jpg.supplemental-metadata.json"),
        ("IMG_1.jpg", "IMG_1.jpg.supplemental-metadat.json"),
        ("IMG_1.jpg", "IMG_1.jpg.supplemental-me.json"),
        ("IMG_1.jpg", "IMG_1.jpg.suppl.json"),
        ("IMG_1.jpg", "IMG_1.jpg.s.json"),
        ("IMG_1.jpg", "IMG_1.jpg..json"),
        ("image(1).jpg", "image.jpg(1).json"),
        ("image(1).jpg", "image.jpg.supplemental-metadata(1).json"),
        ("IMG_2710(1).HEIC", "IMG_2710.HEIC(1).json"),
        ("DSC_0101(1).JPG", "DSC_0101(1).JPG.json"),
        # Whole "NAME.ext.suffix" cut to 46 characters before ".json".
        (
            "Screenshot_20190704-101112_Some Very Long App Name.jpg",
            "Screenshot_20190704-101112_Some Very Long App .json",
        ),
        (
            "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINA.jpg",
            "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGIN.json",
        ),
        (
            "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jpg",
            "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jp.json",
        ),
        (
            "13039_327707840323_537645323_9470255_27214_n(1).jpg",
            "13039_327707840323_537645323_9470255_27214_n.j(1).json",
        ),
        (
            "PXL_20190704_101112345.PORTRAIT.COVER.jpg",
            "PXL_20190704_101112345.PORTRAIT.COVER.jpg.supp.json",
        ),
        # Edited copies share the original's sidecar, in any language.
        ("IMG_5-edited.jpg", "IMG_5.jpg.json"),
        ("IMG_5-EDITED.JPG", "IMG_5.JPG.supplemental-metadata.json"),
        ("IMG_5-bearbeitet.jpg", "IMG_5.jpg.json"),
        ("IMG_5-modifié.jpg", "IMG_5.jpg.json"),
        (unicodedata.normalize("NFD", "IMG_5-modifié.jpg"), "IMG_5.jpg.json"),
        ("IMG_5-editado.jpg", "IMG_5.jpg.json"),
        ("IMG_5-modificato.jpg", "IMG_5.jpg.json"),
        ("IMG_5-bewerkt.jpg", "IMG_5.jpg.json"),
        ("IMG_5-edytowane.jpg", "IMG_5.jpg.json"),
        ("IMG_5-redigert.jpg", "IMG_5.jpg.json"),
        ("IMG_5-muokattu.jpg", "IMG_5.jpg.json"),
        ("IMG_5-upraveno.jpg", "IMG_5.jpg.json"),
        ("IMG_5-編集済み.jpg", "IMG_5.jpg.json"),
        ("IMG_5-编辑.jpg", "IMG_5.jpg.json"),
        ("IMG_5(1)-edited.jpg", "IMG_5.jpg(1).json"),
    ],
)
def test_sidecar_names_cover_takeout_quirks(photo: str, sidecar: str) -> None:
    assert sidecar.lower() in [n.lower() for n in sidecar_names(photo)]


@pytest.mark.parametrize(
    ("photo", "not_its_sidecar"),
    [
        ("DSC_0104(1).JPG", "DSC_0104.JPG.json"),  # the original's, not the duplicate's
        ("DSC_0103.JPG", "DSC_0103.JPG(1).json"),
        ("DSC_0102(1).JPG", "DSC_0102.JPG(2).json"),
        ("IMG_0001.jpg", "IMG_0002.jpg.json"),
        ("IMG_5-edited.jpg", "IMG_5-edited.jpg(1).json"),
    ],
)
def test_sidecar_names_do_not_cross_files(photo: str, not_its_sidecar: str) -> None:
    assert not_its_sidecar not in sidecar_names(photo)


def test_sidecar_names_prefer_the_exact_forms() -> None:
    assert sidecar_names("a.jpg")[:2] == ["a.jpg.supplemental-metadata.json", "a.jpg.json"]
    assert unedited_name("a-edited.jpg") == "a.jpg"
    assert unedited_name("a.jpg") is None
    assert unedited_name("-edited.jpg") is None


# ---------------------------------------------------------------------------------------------
# Takeout sidecar contents


def _sidecar(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def test_parse_takeout_sidecar_reads_every_field() -> None:
    facts = parse_takeout_sidecar(
        _sidecar(
            title="IMG_1.jpg",
            description="  At the lake  ",
            photoTakenTime={"timestamp": "1561234567", "formatted": "22 Jun 2019"},
            creationTime={"timestamp": "1700000000"},
            geoData={"latitude": 46.2, "longitude": 6.1, "altitude": 372.5},
            geoDataExif={"latitude": 1.0, "longitude": 2.0, "altitude": 3.0},
            people=[{"name": "Yao Ming"}, {"name": ""}, {"nom": "x"}, "bad"],
            url="https://photos.google.com/photo/AF1Qip",
            googlePhotosOrigin={"mobileUpload": {"deviceFolder": {}, "deviceType": "IOS_PHONE"}},
        )
    )
    assert facts == {
        "title": "IMG_1.jpg",
        "description": "At the lake",
        "taken_time": 1561234567,
        "geo": {"latitude": 46.2, "longitude": 6.1, "altitude": 372.5},
        "people": ["Yao Ming"],
        "url": "https://photos.google.com/photo/AF1Qip",
        "origin": "mobileUpload:IOS_PHONE",
    }


def test_parse_takeout_sidecar_geo_zero_means_unknown() -> None:
    zero = {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0}
    exif = {"latitude": -33.86, "longitude": 151.21, "altitude": 5}
    only_exif = parse_takeout_sidecar(_sidecar(geoData=zero, geoDataExif=exif))
    assert only_exif["geo"] == {"latitude": -33.86, "longitude": 151.21, "altitude": 5.0}
    assert parse_takeout_sidecar(_sidecar(geoData=zero, geoDataExif=zero))["geo"] is None
    out_of_range = {"latitude": 123.0, "longitude": 4.0}
    assert parse_takeout_sidecar(_sidecar(geoData=out_of_range))["geo"] is None


def test_parse_takeout_sidecar_tolerates_odd_values() -> None:
    facts = parse_takeout_sidecar(
        _sidecar(
            title=5,
            photoTakenTime={"timestamp": "soon"},
            people={"name": "x"},
            googlePhotosOrigin={"fromSharedAlbum": {}},
        )
    )
    assert facts["title"] is None and facts["taken_time"] is None and facts["people"] == []
    assert facts["origin"] == "fromSharedAlbum"
    assert "sidecar_error" not in facts


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"title": "IMG_1.jpg", "photoTakenTime": {', "malformed JSON"),
        (b"", "malformed JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[1, 2, 3]", "not a JSON object"),
        (b"[" * 100_000, "malformed JSON"),
    ],
)
def test_parse_takeout_sidecar_reports_malformed_json(data: bytes, reason: str) -> None:
    facts = parse_takeout_sidecar(data)
    assert reason in facts["sidecar_error"]


def test_parse_takeout_album_both_layouts() -> None:
    assert parse_takeout_album(b'{"title": "Summer", "description": ""}') == "Summer"
    assert parse_takeout_album(b'{"albumData": {"title": "Old layout"}}') == "Old layout"
    assert parse_takeout_album(b'{"title": ""}') is None
    assert parse_takeout_album(b"{oops") is None


# ---------------------------------------------------------------------------------------------
# Facebook and Instagram parsing


def test_fix_mojibake() -> None:
    for text in ("Été à Zürich", "Señor ☕ 🎨 東京", "New York ❤️"):
        assert fix_mojibake(mojibake(text)) == text
    for clean in ("plain ascii", "café", "東京", "Ã alone"):
        assert fix_mojibake(clean) == clean


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("your_activity_across_facebook/posts/album/0.json", ("facebook", "album")),
        ("photos_and_videos/album/12.json", ("facebook", "album")),
        ("posts/your_uncategorized_photos.json", ("facebook", "uncategorized_photos")),
        ("posts/your_posts__check_ins__photos_and_videos_1.json", ("facebook", "post")),
        ("your_facebook_activity/posts/your_posts_1.json", ("facebook", "post")),
        ("groups/group_posts_and_comments.json", ("facebook", "group_post")),
        ("your_facebook_activity/groups/your_posts_in_groups.json", ("facebook", "post")),
        (
            "posts/other_people's_posts_to_your_timeline.json",
            ("facebook", "timeline_post"),
        ),
        ("comments_and_reactions/comments.json", ("facebook", "comment")),
        ("some/comments.json", None),
        ("messages/inbox/jane_1/message_1.json", ("messages", "message")),
        ("your_instagram_activity/content/posts_1.json", ("instagram", "post")),
        ("content/stories.json", ("instagram", "story")),
        ("archived_posts.json", ("instagram", "archived_post")),
        ("personal_information/personal_information.json", ("instagram", "profile_photo")),
        ("Takeout/Google Photos/x/IMG.jpg.json", None),
        ("Takeout/Google Photos/x/metadata.json", None),
        ("message_1.json", None),
    ],
)
def test_social_kind(path: str, kind: tuple[str, str] | None) -> None:
    assert social_kind(path) == kind


def test_parse_social_facebook_album() -> None:
    album = {
        "name": mojibake("Été"),
        "photos": [
            {
                "uri": "posts/media/Ete/1.jpg",
                "creation_timestamp": 1_560_000_000,
                "title": mojibake("Été"),
                "description": mojibake("Crème brûlée"),
                "media_metadata": {
                    "photo_metadata": {
                        "exif_data": [{"taken_timestamp": 1_559_000_000, "latitude": 1.5}]
                    }
                },
                "place": {"coordinate": {"latitude": 45.0, "longitude": 7.0}},
            },
            {"uri": "https://example.com/not-a-file.jpg"},
        ],
    }
    found, error = parse_social(json.dumps(album).encode(), "album")
    assert error is None
    assert found == [
        (
            "posts/media/Ete/1.jpg",
            {
                "album": "Été",
                "title": "Été",
                "description": "Crème brûlée",
                "taken_time": 1_559_000_000,
                "posted_time": 1_560_000_000,
                "taken_local": None,
                "upload_ip": None,
                "camera": None,
                "geo": {"latitude": 45.0, "longitude": 7.0, "altitude": None},
                "place": None,
                "post": None,
                "thread": None,
                "sender": None,
                "people": [],
                "captured": True,
            },
        )
    ]


def test_parse_social_older_facebook_metadata_and_place_names() -> None:
    """Older Facebook exports put latitude and longitude right in ``photo_metadata``; a post's
    place has a name as well as coordinates: both reach the photo."""
    album = {
        "name": "Trip",
        "photos": [
            {
                "uri": "photos_and_videos/Trip/1.jpg",
                "media_metadata": {"photo_metadata": {"latitude": 48.85, "longitude": 2.29}},
            }
        ],
    }
    found, _ = parse_social(json.dumps(album).encode(), "album")
    assert found[0][1]["geo"] == {"latitude": 48.85, "longitude": 2.29, "altitude": None}
    posts = [
        {
            "timestamp": 1_560_000_000,
            "data": [{"post": "At the lake"}],
            "attachments": [
                {"data": [{"media": {"uri": "posts/media/2.jpg"}}]},
                {"data": [{"place": {"name": "Lake Geneva", "coordinate": {"latitude": 46.4}}}]},
            ],
        }
    ]
    found, _ = parse_social(json.dumps(posts).encode(), "post")
    assert found[0][0] == "posts/media/2.jpg"
    assert (found[0][1]["place"], found[0][1]["geo"], found[0][1]["post"]) == (
        "Lake Geneva",
        None,
        "At the lake",
    )


def test_parse_social_malformed() -> None:
    assert parse_social(b'{"photos": [{"uri": ', "album") == (
        [],
        "malformed JSON: Expecting value: line 1 column 21 (char 20)",
    )
    assert parse_social(b'"just a string"', "post") == ([], None)


# ---------------------------------------------------------------------------------------------
# Whole exports through sources.iter_items


def _by_member(
    export: Export, paths: list[Path], left_out: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """facts["source"] of each media item, keyed by its path inside the export; the export files
    reported as left out are added to ``left_out``."""
    found: dict[str, dict[str, Any]] = {}
    for item in iter_items(paths):
        if item.error is not None and item.error.startswith(exports.PROBLEM):
            assert left_out is not None, (item.path, item.error)
            left_out.append(item.path)
            continue
        assert item.error is None, (item.path, item.error)
        source = item.facts["source"]
        if source["member"] is not None:
            key = source["member"]
        else:
            key = str(Path(item.path).relative_to(paths[0] if paths[0].is_dir() else "/"))
        found[key] = source
    return found


def _check(export: Export, found: dict[str, dict[str, Any]]) -> None:
    assert set(found) == set(export.expected)
    problems = {m: p for m, e in export.expected.items() if (p := mismatches(found[m], e))}
    assert problems == {}


def _as_tgz(zip_path: Path) -> Path:
    target = zip_path.with_name(zip_path.name.replace(".zip", ".tgz"))
    with zipfile.ZipFile(zip_path) as zf, tarfile.open(target, "w:gz") as tf:
        for info in zf.infolist():
            data = zf.read(info)
            tar_info = tarfile.TarInfo(info.filename)
            tar_info.size = len(data)
            tf.addfile(tar_info, io.BytesIO(data))
    return target


def test_takeout_folder(tmp_path: Path, photos: dict[str, bytes]) -> None:
    export = build_takeout(tmp_path, photos)
    _check(export, _by_member(export, [export.folder]))


def test_photos_named_one_by_one_find_their_sidecars(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    export = build_takeout(tmp_path, photos)
    year = "Takeout/Google Photos/Photos from 2019/"
    named = [year + "IMG_0002.jpg", year + "IMG_0005-edited.jpg", year + "image(1).jpg"]
    items = list(iter_items([Path(export.path_in_folder(m)) for m in named]))
    assert [i.path for i in items] == [export.path_in_folder(m) for m in named]
    for member, item in zip(named, items, strict=True):
        assert mismatches(item.facts["source"], export.expected[member]) == []


def test_an_album_file_named_in_another_language_is_read(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    """Takeout names an album's metadata file in the account's language (Bulgarian
    ``метаданни.json``, not in the list of names): told by what it holds, the album keeps its
    name. Elsewhere than in a Takeout export, a JSON with a title names no album."""
    album = tmp_path / "Takeout" / "Google Снимки" / "Море 2023"
    album.mkdir(parents=True)
    (album / "IMG_1.jpg").write_bytes(photos["players"])
    sidecar = {"title": "IMG_1.jpg", "photoTakenTime": {"timestamp": "1689424330"}}
    (album / "IMG_1.jpg.supplemental-metadata.json").write_text(json.dumps(sidecar))
    (album / "метаданни.json").write_text(json.dumps({"title": "Море 2023 🌊"}))
    other = tmp_path / "mine"
    other.mkdir()
    (other / "IMG_2.jpg").write_bytes(photos["gdp"])
    (other / "settings.json").write_text(json.dumps({"title": "not an album"}))
    items = {Path(i.path).name: i.facts["source"] for i in iter_items([tmp_path])}
    assert items["IMG_1.jpg"]["album"] == "Море 2023 🌊"
    assert items["IMG_1.jpg"]["taken_time"] == 1689424330
    assert items["IMG_2.jpg"]["album"] is None


def test_takeout_split_zips_share_sidecars(tmp_path: Path, photos: dict[str, bytes]) -> None:
    export = build_takeout(tmp_path, photos)
    assert [p.name for p in export.archives] == list(TAKEOUT_ZIPS)
    found = _by_member(export, export.archives)
    _check(export, found)
    crossed = [
        m for m, s in found.items() if s["sidecar"] and s["sidecar"].split("!/")[0] != s["archive"]
    ]
    assert len(crossed) >= 5  # these sidecars sit in the other part


def test_takeout_part_renamed_by_a_browser_still_joins_the_set(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    """A part downloaded again is saved as ``…-002 (1).zip`` (or ``…-002(1).zip``): it still
    shares its sidecars with the other parts instead of leaving their photos without facts."""
    export = build_takeout(tmp_path, photos)
    first, second = export.archives
    renamed = second.with_name(second.name.replace(".zip", " (1).zip"))
    second.rename(renamed)
    found = _by_member(export, [first, renamed])
    year = "Takeout/Google Photos/Photos from 2019/"
    assert found[year + "IMG_0001.jpg"]["sidecar"] is not None  # its sidecar is in part 2
    renamed.rename(second.with_name(second.name.replace(".zip", "(1).zip")))
    found = _by_member(export, [first, second.with_name(second.name.replace(".zip", "(1).zip"))])
    assert found[year + "IMG_0001.jpg"]["sidecar"] is not None


def test_items_without_facts_are_the_same_items(tmp_path: Path, photos: dict[str, bytes]) -> None:
    export = build_takeout(tmp_path, photos)
    for paths in ([export.folder], export.archives, [_as_tgz(p) for p in export.archives]):
        full = list(iter_items(paths))
        bare = list(iter_items(paths, with_facts=False))
        assert [i.path for i in bare] == [i.path for i in full]
        assert all(i.facts["source"]["sidecar"] is None for i in bare)
        assert all(i.facts["source"]["sidecar"] is not None for i in full[:5])


def test_takeout_one_part_alone_lacks_the_other_parts_sidecars(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    export = build_takeout(tmp_path, photos)
    found = _by_member(export, export.archives[:1])
    year = "Takeout/Google Photos/Photos from 2019/"
    assert found[year + "IMG_0003.jpg"]["sidecar"] is not None  # both in part 1
    assert found[year + "IMG_0001.jpg"]["sidecar"] is None  # its sidecar is in part 2
    assert found[year + "IMG_0001.jpg"]["export"] == "google_takeout"


def test_takeout_split_tgz(tmp_path: Path, photos: dict[str, bytes]) -> None:
    export = build_takeout(tmp_path, photos)
    parts = [_as_tgz(p) for p in export.archives]
    _check(export, _by_member(export, parts))


def test_takeout_parts_extracted_side_by_side(tmp_path: Path, photos: dict[str, bytes]) -> None:
    export = build_takeout(tmp_path, photos)
    scan = tmp_path / "extracted"
    for part in export.archives:
        with zipfile.ZipFile(part) as zf:
            zf.extractall(scan / part.stem)
    found = {key.split("/", 1)[1]: source for key, source in _by_member(export, [scan]).items()}
    _check(export, found)


def test_facebook_folder_and_zip(tmp_path: Path, photos: dict[str, bytes]) -> None:
    """Every photo gets its facts; the one malformed album file is reported, once per export."""
    export = build_facebook(tmp_path, photos)
    for paths in ([export.folder], export.archives):
        left_out: list[str] = []
        _check(export, _by_member(export, paths, left_out))
        assert len(left_out) == 1 and left_out[0].endswith("/posts/album/1.json"), left_out


def test_instagram_folder_and_zip(tmp_path: Path, photos: dict[str, bytes]) -> None:
    export = build_instagram(tmp_path, photos)
    _check(export, _by_member(export, [export.folder]))
    _check(export, _by_member(export, export.archives))


def test_exports_hold_the_real_photos(tmp_path: Path, photos: dict[str, bytes]) -> None:
    export = build_takeout(tmp_path, photos)
    for member, name in export.photos.items():
        assert Path(export.path_in_folder(member)).read_bytes() == photos[name]


def test_index_reports_unreadable_social_json() -> None:
    files = {
        "posts/album/0.json": b'{"name": "A", "photos": [{"uri": "posts/media/a.jpg"}]}',
        "posts/album/1.json": b'{"name": ',
        "posts/media/a.jpg": b"",
    }

    def load(name: str) -> bytes:
        return files[name]

    index = exports.ExportIndex(files, load, lambda n: "x.zip!/" + n)
    assert index.facts("posts/media/a.jpg")["album"] == "A"
    assert [where for where, _ in index.problems] == ["x.zip!/posts/album/1.json"]
    [item] = index.problem_items()
    assert item.path == "x.zip!/posts/album/1.json" and "left out" in (item.error or "")


def test_large_takeout_zip_is_listed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """20,000 members: the archive's directory is read once, each sidecar opened once."""
    path = tmp_path / "takeout-20240101T000000Z-001.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(10_000):
            folder = f"Takeout/Google Photos/Photos from {2000 + i % 20}/"
            zf.writestr(f"{folder}IMG_{i:05d}.jpg", b"\xff\xd8\xff")
            sidecar = {"photoTakenTime": {"timestamp": str(1_500_000_000 + i)}}
            zf.writestr(f"{folder}IMG_{i:05d}.jpg.json", json.dumps(sidecar))
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def counting_open(self: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    taken = [i.facts["source"]["taken_time"] for i in iter_items([path])]
    assert taken == [1_500_000_000 + i for i in range(10_000)]
    assert len(opened) == 10_000 and all(n.endswith(".json") for n in opened)


# ---------------------------------------------------------------------------------------------
# Fuzzing: the parsers never raise

_KEYS = st.sampled_from(
    [
        "uri",
        "title",
        "name",
        "description",
        "photos",
        "media",
        "data",
        "attachments",
        "place",
        "coordinate",
        "latitude",
        "longitude",
        "altitude",
        "timestamp",
        "timestamp_ms",
        "creation_timestamp",
        "taken_timestamp",
        "media_metadata",
        "photo_metadata",
        "exif_data",
        "content",
        "post",
        "people",
        "photoTakenTime",
        "geoData",
        "geoDataExif",
        "googlePhotosOrigin",
        "albumData",
        "url",
    ]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_KEYS | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


def _dump(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_JSON, origin=st.sampled_from(["album", "post", "message", "story"]))
def test_fuzz_structured_json_never_raises(value: Any, origin: str) -> None:
    data = _dump(value)
    facts = parse_takeout_sidecar(data)
    assert isinstance(facts, dict)
    if isinstance(value, dict):
        assert "sidecar_error" not in facts
    parse_takeout_album(data)
    found, error = parse_social(data, origin)
    assert error is None and all(isinstance(uri, str) for uri, _ in found)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzz_raw_bytes_never_raise(data: bytes) -> None:
    assert isinstance(parse_takeout_sidecar(data), dict)
    parse_takeout_album(data)
    parse_social(data, "album")


@settings(max_examples=200, deadline=None)
@given(name=st.text(max_size=80))
def test_fuzz_names_never_raise(name: str) -> None:
    names = sidecar_names(name)
    assert all(n.endswith(".json") for n in names)
    unedited_name(name)
    fix_mojibake(name)
    social_kind(name)


_NAME_PARTS = st.sampled_from(
    [
        "Takeout",
        "Google Photos",
        "album",
        "posts",
        "messages",
        "inbox",
        "media",
        "your_instagram_activity",
        "a(1).jpg",
        "a.jpg",
        "a-edited.jpg",
        "a.jpg.json",
        "a.jpg(1).json",
        "metadata.json",
        "message_1.json",
        "posts_1.json",
        "0.json",
        "",
        "..",
    ]
)
_NAMES = st.lists(_NAME_PARTS | st.text(max_size=6), min_size=1, max_size=4).map("/".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.dictionaries(_NAMES, _JSON.map(_dump) | st.binary(max_size=40), max_size=8))
def test_fuzz_export_index_never_raises(files: dict[str, bytes]) -> None:
    index = exports.ExportIndex(files, files.__getitem__, str, "takeout")
    for name in files:
        source = index.facts(name)
        assert set(source) == set(exports.SOURCE_KEYS)
        assert isinstance(source["people"], list)


def _found(item: Any) -> FileResult:
    return FileResult(item.path, "match", 0.7, facts=item.facts)


def test_instagram_export_from_before_2020(tmp_path: Path, photos: dict[str, bytes]) -> None:
    """Instagram's older export lists its media in one ``media.json`` at the root, with the
    caption, an ISO time and a place's name: all reach the photo's facts, as a folder and as a
    zip. A ``media.json`` of some other program is not an export and is not reported."""
    root = tmp_path / "olduser_20190105"
    (root / "photos" / "201812").mkdir(parents=True)
    (root / "photos" / "201812" / "3e02b2be.jpg").write_bytes(photos["players"])
    (root / "stories" / "201811").mkdir(parents=True)
    (root / "stories" / "201811" / "9a1.jpg").write_bytes(photos["gdp"])
    media = {
        "photos": [
            {
                "caption": "Team photo \u00f0\u009f\u008f\u0080",  # mojibake of 🏀
                "taken_at": "2018-12-31T08:05:13",
                "location": "West End, Vancouver",
                "path": "photos/201812/3e02b2be.jpg",
            }
        ],
        "stories": [{"taken_at": "2018-11-02T10:00:00+01:00", "path": "stories/201811/9a1.jpg"}],
        "direct": [{"taken_at": "2018-10-01T09:00:00+00:00", "path": "direct/201810/d1.jpg"}],
    }
    (root / "direct" / "201810").mkdir(parents=True)
    (root / "direct" / "201810" / "d1.jpg").write_bytes(photos["gdp"])
    (root / "media.json").write_text(json.dumps(media))
    other = tmp_path / "other-app"
    other.mkdir()
    (other / "media.json").write_text("{not json")
    (other / "t1.jpg").write_bytes(photos["t1"])
    archive = tmp_path / "olduser_20190105.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in root.rglob("*"):
            if path.is_file():
                zf.write(path, path.relative_to(tmp_path).as_posix())
    for where in ([root, other], [archive]):
        items = {Path(i.path).name: i for i in iter_items(where)}
        assert all(i.error is None for i in items.values()), items
        post = items["3e02b2be.jpg"].facts["source"]
        assert post["export"] == "instagram" and post["origin"] == "post"
        assert post["post"] == "Team photo 🏀" and post["place"] == "West End, Vancouver"
        assert post["taken_time"] == 1546243513  # 2018-12-31 08:05:13 UTC
        # "taken_at" is when Instagram received it: said to be only when it was posted
        assert post["posted_time"] == 1546243513
        assert exposure_facts(_found(items["3e02b2be.jpg"]))["taken_source"] == "posted"
        story = items["9a1.jpg"].facts["source"]
        assert story["origin"] == "story" and story["taken_time"] == 1541149200
        sent = items["d1.jpg"].facts["source"]  # a photo sent in a direct message
        assert sent["origin"] == "message" and sent["posted_time"] == 1538384400
    assert {Path(i.path).name for i in iter_items([other])} == {"t1.jpg"}


def test_an_old_instagram_export_in_parts_is_one_export(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    """Instagram sent a large export in parts (``user_20190105_part_1.zip``, ``_part_2.zip``):
    ``media.json`` in the first part names photos in the second, which get its facts."""
    media = {"photos": [{"caption": "At the game", "taken_at": "2018-12-31T08:05:13",
                         "path": "photos/201812/3e02b2be.jpg"}]}  # fmt: skip
    parts = [tmp_path / f"olduser_20190105_part_{n}.zip" for n in (1, 2)]
    with zipfile.ZipFile(parts[0], "w") as zf:
        zf.writestr("media.json", json.dumps(media))
    with zipfile.ZipFile(parts[1], "w") as zf:
        zf.writestr("photos/201812/3e02b2be.jpg", photos["players"])
    items = {Path(i.path).name: i for i in iter_items([tmp_path])}
    post = items["3e02b2be.jpg"].facts["source"]
    assert post["export"] == "instagram" and post["post"] == "At the game"
    assert split_export(str(parts[1])) == (str(tmp_path / "olduser_20190105").lower(), ".zip")
    assert split_export("/x/takeout-20240101T000000Z-002 (1).zip") == (
        "/x/takeout-20240101t000000z", ".zip",
    )  # fmt: skip
    assert split_export("/x/holiday_part_one.zip") is None
    assert split_export("/x/photos-2019.zip") is None


# ---------------------------------------------------------------------------------------------
# Which sidecar, which export: found by exploratory use of real-looking exports


def _sidecar_json(description: str, timestamp: int, lat: float) -> bytes:
    return json.dumps(
        {
            "title": "IMG_0001.jpg",
            "description": description,
            "photoTakenTime": {"timestamp": str(timestamp)},
            "geoData": {"latitude": lat, "longitude": 2.0},
        }
    ).encode()


def _folder_facts(roots: list[Path]) -> dict[str, dict[str, Any]]:
    return {
        str(Path(i.path).relative_to(roots[0].parent)): i.facts["source"]
        for i in iter_items(roots)
        if i.error is None
    }


def test_two_takeouts_scanned_together_keep_their_own_sidecars(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    """Last year's and this year's Takeout (or a partner's) under one folder: IMG_0001.jpg in
    each gets its own sidecar, and one without a sidecar gets none (it took the other's date and
    place). The parts of one split export still share theirs: unzipped side by side
    (``takeout-…-001/Takeout``, ``-002``) or by macOS (``Takeout``, ``Takeout 2``)."""
    album = "Takeout/Google Photos/Photos from 2019"
    for export, description in (("a", "A"), ("b", "B"), ("c", None)):
        folder = tmp_path / "lib" / export / album
        folder.mkdir(parents=True)
        (folder / "IMG_0001.jpg").write_bytes(photos["players"])
        if description:
            (folder / "IMG_0001.jpg.json").write_bytes(_sidecar_json(description, 1559390400, 48))
    found = _folder_facts([tmp_path / "lib"])
    assert found[f"lib/a/{album}/IMG_0001.jpg"]["description"] == "A"
    assert found[f"lib/b/{album}/IMG_0001.jpg"]["description"] == "B"
    assert found[f"lib/c/{album}/IMG_0001.jpg"]["sidecar"] is None
    mac = tmp_path / "mac"  # two parts of one export, each with a photo of that name
    for part, description in (("Takeout", "first"), ("Takeout 2", "second")):
        folder = mac / part / "Google Photos/Album"
        folder.mkdir(parents=True)
        (folder / "IMG_M.jpg").write_bytes(photos["players"])
        (folder / "IMG_M.jpg.json").write_bytes(_sidecar_json(description, 1559390400, 48))
    found = _folder_facts([mac])
    assert found["mac/Takeout/Google Photos/Album/IMG_M.jpg"]["description"] == "first"
    assert found["mac/Takeout 2/Google Photos/Album/IMG_M.jpg"]["description"] == "second"
    for first, second in (
        ("takeout-20240101T000000Z-001/Takeout", "takeout-20240101T000000Z-002/Takeout"),
        ("Takeout", "Takeout 2"),
    ):
        root = tmp_path / first.replace("/", "_")
        photo = root / first / "Google Photos/Trip/IMG_0002.jpg"
        sidecar = root / second / "Google Photos/Trip/IMG_0002.jpg.json"
        for path in (photo, sidecar):
            path.parent.mkdir(parents=True)
        photo.write_bytes(photos["gdp"])
        sidecar.write_bytes(_sidecar_json("split", 1262304000, 40))
        (source,) = (s for k, s in _folder_facts([root]).items() if k.endswith("IMG_0002.jpg"))
        assert source["description"] == "split" and source["export"] == "google_takeout", first


def test_newer_takeout_sidecars_live_photos_and_edits(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    """Recent exports name a sidecar after the photo without its extension
    (``Peanut Butter Balls.supplemental-metadata.json``); a Live Photo's video has no sidecar
    and is described by its still's."""
    folder = tmp_path / "Takeout/Google Photos/Photos from 2016"
    folder.mkdir(parents=True)
    (folder / "Peanut Butter Balls.jpg").write_bytes(photos["players"])
    (folder / "Peanut Butter Balls.supplemental-metadata.json").write_bytes(
        _sidecar_json("balls", 1451606400, 52)
    )
    (folder / "IMG_0020.HEIC").write_bytes(photos["gdp"])
    (folder / "IMG_0020.HEIC.supplemental-metadata.json").write_bytes(
        _sidecar_json("live", 1589932800, 37)
    )
    (folder / "IMG_0020.MP4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    found = {Path(k).name: s for k, s in _folder_facts([tmp_path / "Takeout"]).items()}
    assert found["Peanut Butter Balls.jpg"]["description"] == "balls"
    assert found["IMG_0020.MP4"]["description"] == "live"
    assert found["IMG_0020.MP4"]["sidecar"].endswith("IMG_0020.HEIC.supplemental-metadata.json")
    assert "IMG_1.json" not in sidecar_names("IMG_1.jpg")  # "NAME.json" may be anything


def test_facebook_is_not_taken_for_instagram(tmp_path: Path, photos: dict[str, bytes]) -> None:
    """Facebook's export has ``personal_information/profile_information/`` too: its Messenger
    photos are Facebook's; Instagram's is ``personal_information/personal_information/``."""
    for service, marker in (
        ("facebook", "personal_information/profile_information/profile_information.json"),
        ("instagram", "personal_information/personal_information/personal_information.json"),
    ):
        root = tmp_path / f"export-{service}"
        thread = root / "your_activity/messages/inbox/john_1"
        (thread / "photos").mkdir(parents=True)
        (thread / "photos/1_n.jpg").write_bytes(photos["players"])
        uri = "your_activity/messages/inbox/john_1/photos/1_n.jpg"
        message = {"sender_name": "John", "timestamp_ms": 1559900000000, "photos": [{"uri": uri}]}
        (thread / "message_1.json").write_text(json.dumps({"title": "John", "messages": [message]}))
        (root / marker).parent.mkdir(parents=True)
        (root / marker).write_text('{"profile_v2": {}}')
        (source,) = (s for k, s in _folder_facts([root]).items() if k.endswith("1_n.jpg"))
        assert source["export"] == service and source["thread"] == "John"
        assert source["sender"] == "John"  # who sent it, in a thread of several people


def test_instagram_gives_the_time_taken_and_mojibake_names_resolve(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    """Instagram copies the photo's EXIF time: that is when it was taken (not posted, nine days
    later). A Facebook ``uri`` written as mojibake names the file by its real name."""
    from selfscan.exposure import exposure_facts
    from selfscan.types import FileResult

    root = tmp_path / "instagram-jane"
    (root / "media/posts/201906").mkdir(parents=True)
    (root / "media/posts/201906/1001.jpg").write_bytes(photos["players"])
    (root / "media/posts/201906/café.jpg").write_bytes(photos["gdp"])
    exif = [{"latitude": 40.71, "longitude": -74.0, "date_time_original": "2019:05:30 08:15:00"}]
    posts = [
        {
            "media": [
                {
                    "uri": "media/posts/201906/1001.jpg",
                    "creation_timestamp": 1560000000,
                    "media_metadata": {"photo_metadata": {"exif_data": exif}},
                },
                {"uri": mojibake("media/posts/201906/café.jpg"), "creation_timestamp": 1560000000},
            ],
            "title": "brunch",
        }
    ]
    (root / "your_instagram_activity/media").mkdir(parents=True)
    (root / "your_instagram_activity/media/posts_1.json").write_text(json.dumps(posts))
    items = {Path(i.path).name: i for i in iter_items([root])}
    source = items["1001.jpg"].facts["source"]
    assert source["taken_local"] == "2019-05-30T08:15:00" and source["taken_time"] == 1560000000
    facts = exposure_facts(FileResult(items["1001.jpg"].path, "match", facts={"source": source}))
    assert (facts["taken"], facts["taken_source"]) == ("2019-05-30T08:15:00", "export")
    assert items["café.jpg"].facts["source"]["export"] == "instagram"


def test_an_export_in_html_format_says_its_metadata_is_not_read(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    root = tmp_path / "instagram-jane-html"
    (root / "media/posts/201906").mkdir(parents=True)
    (root / "media/posts/201906/1001.jpg").write_bytes(photos["players"])
    (root / "your_instagram_activity/media").mkdir(parents=True)
    (root / "your_instagram_activity/media/posts_1.html").write_text("<html></html>")
    archive = tmp_path / "instagram-jane-html.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in root.rglob("*"):
            if path.is_file():
                zf.write(path, path.relative_to(root).as_posix())
    for where in ([root], [archive]):
        items = list(iter_items(where))
        photo = [i for i in items if i.path.endswith("1001.jpg")]
        notes = [i for i in items if i.error is not None]
        assert len(photo) == 1 and photo[0].error is None
        assert len(notes) == 1 and "HTML format" in notes[0].error
        assert notes[0].path.endswith("posts_1.html")


def test_an_html_export_beside_a_json_export_is_still_said(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    """The notice went missing as soon as any JSON export was in the same scan: each export
    root gets its own."""
    html = tmp_path / "dl" / "facebook-html"
    (html / "posts/media").mkdir(parents=True)
    (html / "posts/your_posts_1.html").write_text("<html></html>")
    (html / "posts/media/1.jpg").write_bytes(photos["players"])
    json_export = tmp_path / "dl" / "instagram-json"
    (json_export / "content").mkdir(parents=True)
    (json_export / "media/posts").mkdir(parents=True)
    (json_export / "media/posts/2.jpg").write_bytes(photos["gdp"])
    posts = [{"media": [{"uri": "media/posts/2.jpg", "creation_timestamp": 1575000000}]}]
    (json_export / "content/posts_1.json").write_text(json.dumps(posts))
    items = list(iter_items([tmp_path / "dl"]))
    notes = [i for i in items if i.error is not None]
    assert len(notes) == 1 and notes[0].path.endswith("facebook-html/posts/your_posts_1.html")
    (shared,) = [i for i in items if i.path.endswith("2.jpg")]
    assert shared.facts["source"]["export"] == "instagram"


def _message_thread(root: Path, thread: str, title: str, sent_ms: int, photo: bytes) -> None:
    """A conversation in an export at ``root`` (``messages/inbox/THREAD``), one photo sent."""
    folder = root / "messages/inbox" / thread
    (folder / "photos").mkdir(parents=True)
    (folder / "photos/1.jpg").write_bytes(photo)
    uri = f"messages/inbox/{thread}/photos/1.jpg"
    message = {"sender_name": "me", "timestamp_ms": sent_ms, "photos": [{"uri": uri}]}
    (folder / "message_1.json").write_text(json.dumps({"title": title, "messages": [message]}))


def test_instagram_messages_are_instagram_by_the_export_s_own_files(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    """Instagram's messages look like Facebook's; an export with ``content/posts_1.json`` is
    Instagram's, even unzipped into a folder whose name does not say so."""
    root = tmp_path / "export"
    _message_thread(root, "friend_42", "f", 1600000000000, photos["players"])
    (root / "content").mkdir()
    (root / "content/posts_1.json").write_text("[]")
    (source,) = (s for k, s in _folder_facts([root]).items() if k.endswith("1.jpg"))
    assert source["export"] == "instagram"


def test_facebook_says_where_a_photo_was_uploaded_from_and_with_what(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    """An upload's IP address locates the person who uploaded it: part of what a photo gives
    away, in the facts and on the report's card (with the camera the export names)."""
    from selfscan.exposure import exposure_facts
    from selfscan.reports import writer_for
    from selfscan.types import FileResult, ScanSummary

    root = tmp_path / "facebook-jane"
    (root / "posts/media/Trip").mkdir(parents=True)
    (root / "posts/media/Trip/1.jpg").write_bytes(photos["players"])
    exif = {"upload_ip": "203.0.113.7", "camera_make": "Apple", "camera_model": "iPhone 12"}
    album = {
        "name": "Trip",
        "photos": [
            {
                "uri": "posts/media/Trip/1.jpg",
                "creation_timestamp": 1560000000,
                "media_metadata": {"photo_metadata": {"exif_data": [exif]}},
            }
        ],
    }
    (root / "posts/album").mkdir(parents=True)
    (root / "posts/album/0.json").write_text(json.dumps(album))
    (item,) = iter_items([root])
    source = item.facts["source"]
    assert (source["upload_ip"], source["camera"]) == ("203.0.113.7", "Apple iPhone 12")
    result = FileResult(item.path, "match", score=0.9, facts=item.facts)
    facts = exposure_facts(result)
    assert (facts["upload_ip"], facts["camera"]) == ("203.0.113.7", "Apple iPhone 12")
    buf = io.StringIO()
    writer = writer_for("html", buf)
    writer.add(result)
    writer.close(ScanSummary(total=1, counts={"match": 1}))
    assert "Uploaded from" in buf.getvalue() and "203.0.113.7" in buf.getvalue()


def test_a_time_that_is_only_when_it_was_posted_says_so() -> None:
    """Without a capture time in the export, Facebook's time is when the photo was posted (or
    sent): the report said "taken" for it."""
    from selfscan.exposure import exposure_facts
    from selfscan.reports.cardtext import when_text as _when
    from selfscan.types import FileResult

    posts = [{"media": [{"uri": "media/posts/1.jpg", "creation_timestamp": 1560000000}]}]
    found, error = parse_social(json.dumps(posts), "post")
    assert error is None
    ((_, facts),) = found
    assert facts["taken_time"] == facts["posted_time"] == 1560000000
    source = {**exports.empty_source(), **facts}
    exposure = exposure_facts(FileResult("/x/1.jpg", "match", facts={"source": source}))
    assert exposure["taken_source"] == "posted"
    assert "when it was posted" in _when(exposure)
    source["taken_time"] = 1559000000  # a capture time given by the export
    exposure = exposure_facts(FileResult("/x/1.jpg", "match", facts={"source": source}))
    assert exposure["taken_source"] == "export"


def test_photos_whose_names_share_the_cut_get_their_own_sidecars() -> None:
    """Two photos whose names share their first 46 characters: Takeout cuts both sidecars' names
    to the same 46 and numbers the second (``NAME(1).json``). The second photo took the first's
    date, place and title; each sidecar's ``title`` now says whose it is."""
    folder = "Takeout/Google Photos/Photos from 2019"
    long = "PXL_20190101_123456789_long_camera_name_xxxxxxxxxx"
    cut = long[:46]

    def sidecar(title: str, when: int) -> bytes:
        return json.dumps({"title": title, "photoTakenTime": {"timestamp": str(when)}}).encode()

    files = {
        f"{folder}/{long}_A.jpg": b"",
        f"{folder}/{long}_B.jpg": b"",
        f"{folder}/{cut}.json": sidecar(f"{long}_A.jpg", 1_000_000_000),
        f"{folder}/{cut}(1).json": sidecar(f"{long}_B.jpg", 1_500_000_000),
        f"{folder}/IMG_1.jpg": b"",
        f"{folder}/IMG_1-edited.jpg": b"",  # an edit shares its original's sidecar, title and all
        f"{folder}/IMG_1.jpg.json": sidecar("IMG_1.jpg", 1_200_000_000),
    }
    index = exports.ExportIndex(files, files.__getitem__, str)
    taken = {n.rsplit("/", 1)[1]: index.facts(n)["taken_time"] for n in files if n.endswith("jpg")}
    assert taken == {
        f"{long}_A.jpg": 1_000_000_000,
        f"{long}_B.jpg": 1_500_000_000,
        "IMG_1.jpg": 1_200_000_000,
        "IMG_1-edited.jpg": 1_200_000_000,
    }


def test_facebook_photos_in_groups_timelines_and_comments(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    """A photo posted in a group, one a friend posted on your timeline, one attached to a
    comment: their files were not read, so the photos had no facts at all, not even which
    export they came from."""
    root = tmp_path / "facebook-jdoe-2023-02-01-XyZ"
    media = root / "your_facebook_activity/posts/media/Group_1"
    media.mkdir(parents=True)
    for name, photo in (("g.jpg", "players"), ("t.jpg", "gdp"), ("c.jpg", "t1")):
        (media / name).write_bytes(photos[photo])
    uri = "your_facebook_activity/posts/media/Group_1/"

    def attached(name: str, text: str, when: int) -> dict[str, Any]:
        exif = {"upload_ip": "198.51.100.7", "taken_timestamp": when - 3600}
        meta = {"photo_metadata": {"exif_data": [exif]}}
        return {
            "timestamp": when,
            "data": [{"post": text}],
            "attachments": [{"data": [{"media": {"uri": uri + name, "media_metadata": meta}}]}],
        }

    docs = {
        "your_facebook_activity/groups/group_posts_and_comments.json": {
            "group_posts_v2": [attached("g.jpg", "Club night", 1_600_000_000)]
        },
        "your_facebook_activity/posts/other_people's_posts_to_your_timeline.json": {
            "wall_posts_sent_to_you_v2": [attached("t.jpg", "Happy birthday!", 1_610_000_000)]
        },
        "your_facebook_activity/comments_and_reactions/comments.json": {
            "comments_v2": [attached("c.jpg", "Look at this", 1_620_000_000)]
        },
    }
    for name, doc in docs.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(json.dumps(doc))
    items = {Path(i.path).name: i.facts["source"] for i in iter_items([root])}
    for name, text, when in (
        ("g.jpg", "Club night", 1_600_000_000),
        ("t.jpg", "Happy birthday!", 1_610_000_000),
        ("c.jpg", "Look at this", 1_620_000_000),
    ):
        source = items[name]
        assert source["export"] == "facebook", (name, source)
        assert source["upload_ip"] == "198.51.100.7" and source["taken_time"] == when - 3600
        assert source["post"] == text and source["posted_time"] == when


def test_facebook_facts_from_every_file_that_lists_a_photo(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    """One photo in an album and in a post: the album's posting time hid the post's capture
    time; the post's check-in name was paired with the photo's own coordinates; tagged people
    were dropped; a uri in another case, and archived stories, were not read; a file named like
    a missing one, outside the export, took its facts; an Instagram export of messages alone
    was called Facebook's as a folder (Instagram's as a zip)."""
    root = tmp_path / "facebook-me"
    media = root / "photos_and_videos/MobileUploads_1"
    media.mkdir(parents=True)
    (media / "1.jpg").write_bytes(photos["players"])
    (media / "2.jpg").write_bytes(photos["gdp"])
    (media / "3.jpg").write_bytes(photos["t1"])
    (media / "unlisted.jpg").write_bytes(photos["t1"])
    uri = "photos_and_videos/MobileUploads_1/1.jpg"
    exif = {"taken_timestamp": 1_400_000_000, "latitude": 43.29, "longitude": 5.37}
    metadata = {"photo_metadata": {"exif_data": [exif]}}
    album = {
        "name": "Mobile Uploads",
        "photos": [
            {"uri": uri, "creation_timestamp": 1_561_000_000},
            {"uri": "photos_and_videos/MobileUploads_1/gone.jpg", "creation_timestamp": 1},
        ],
    }
    checkin = {"name": "Cafe de Flore", "coordinate": {"latitude": 48.854, "longitude": 2.33}}
    post = {
        "timestamp": 1_561_000_000,
        "tags": [{"name": mojibake("Zoë Dupont")}],
        "data": [{"post": "At the cafe"}],
        "attachments": [
            {"data": [{"media": {"uri": uri, "media_metadata": metadata}}]},
            {"data": [{"place": checkin}]},
            {"data": [{"media": {"uri": "Photos_And_Videos/MobileUploads_1/2.JPG"}}]},
        ],
    }  # fmt: skip
    stories = {
        "archived_stories_v2": [
            {
                "uri": "photos_and_videos/MobileUploads_1/3.jpg",
                "creation_timestamp": 1_562_000_000,
                "media_metadata": {"photo_metadata": {"exif_data": [{"upload_ip": "203.0.113.9"}]}},
            }
        ]
    }
    for name, doc in (
        ("photos_and_videos/album/0.json", album),
        ("posts/your_posts_1.json", [post]),
        ("your_activity_across_facebook/stories/archived_stories.json", stories),
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(json.dumps(doc))
    beside = tmp_path / "photos_and_videos/MobileUploads_1"  # outside the export
    beside.mkdir(parents=True)
    (beside / "gone.jpg").write_bytes(photos["gdp"])
    facts = _folder_facts([root, tmp_path / "photos_and_videos"])
    first = facts["facebook-me/photos_and_videos/MobileUploads_1/1.jpg"]
    assert first["taken_time"] == 1_400_000_000 and first["posted_time"] == 1_561_000_000
    assert first["geo"]["latitude"] == 43.29 and first["place"] is None  # not the cafe's name
    assert first["people"] == ["Zoë Dupont"] and first["album"] == "Mobile Uploads"
    assert facts["facebook-me/photos_and_videos/MobileUploads_1/2.jpg"]["post"] == "At the cafe"
    story = facts["facebook-me/photos_and_videos/MobileUploads_1/3.jpg"]
    assert story["upload_ip"] == "203.0.113.9" and story["origin"] == "story"
    assert facts["photos_and_videos/MobileUploads_1/gone.jpg"]["export"] is None
    # a photo inside the export that none of its files lists still came from it
    unlisted = facts["facebook-me/photos_and_videos/MobileUploads_1/unlisted.jpg"]
    assert unlisted["export"] == "facebook" and unlisted["origin"] is None

    _message_thread(
        tmp_path / "instagram-me-20220501", "zoe_1", "zoe", 1_571_000_000_000, photos["players"]
    )
    (source,) = _folder_facts([tmp_path / "instagram-me-20220501"]).values()
    assert source["export"] == "instagram" and source["thread"] == "zoe"


def _secure_download(root: Path, photos: dict[str, bytes]) -> None:
    """Messenger's "download secure storage data": a JSON file per end-to-end encrypted
    conversation beside a ``media`` folder, its uris in the forms seen in the wild."""
    (root / "media").mkdir(parents=True)
    for name, sample in (("a.jpg", "players"), ("b.jpg", "gdp"), ("c.jpg", "t1"), ("d.jpg", "t1")):
        (root / "media" / name).write_bytes(photos[sample])

    def message(sender: str, text: str, sent_ms: int, uri: str) -> dict[str, Any]:
        return {
            "isUnsent": False,
            "media": [{"uri": uri}],
            "reactions": [],
            "senderName": sender,
            "text": text,
            "timestamp": sent_ms,
            "type": "media",
        }

    conversation = {
        "participants": ["Jane Smïth", "Alex Doe"],
        "threadName": "Jane Smïth",
        "messages": [
            message("Jane Smïth", "at the beach", 1717000000000, "media/a.jpg"),
            message("Alex Doe", "", 1717000100000, "b.jpg"),
            message("Jane Smïth", "", 1717000200000, "/storage/emulated/0/Messenger/c.jpg"),
            message("Jane Smïth", "", 1717000300000, "Failed to download media"),
        ],
    }
    (root / "Jane Smïth_8812.json").write_text(json.dumps(conversation), encoding="utf-8")
    (root / "notes.json").write_text('{"participants": 3}')  # not a conversation
    (root / "broken.json").write_text('{"threadName": ')


@pytest.mark.parametrize("packed", [False, True])
def test_messenger_secure_storage_download_gives_thread_sender_and_time(
    tmp_path: Path, photos: dict[str, bytes], packed: bool
) -> None:
    """Messenger's end-to-end encrypted chats (every personal chat since 2024) come in a
    download of their own, whose JSON files have names of no fixed form: told by what they hold,
    they give each photo its conversation, sender, message and time. Other JSON files beside the
    media folder are not conversations, and are neither read as ones nor reported."""
    root = tmp_path / "secure_storage"
    _secure_download(root, photos)
    target = root
    if packed:
        target = tmp_path / "messenger_secure_storage.zip"
        with zipfile.ZipFile(target, "w") as zf:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(root).as_posix())
    items = list(iter_items([target]))
    assert all(i.error is None for i in items), [(i.path, i.error) for i in items if i.error]
    found = {i.path.rpartition("/")[2]: i.facts["source"] for i in items}
    assert set(found) == {"a.jpg", "b.jpg", "c.jpg", "d.jpg"}
    a, b, c, d = (found[n] for n in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"))
    assert a["export"] == "facebook" and a["origin"] == "message"
    assert a["thread"] == "Jane Smïth" and a["sender"] == "Jane Smïth"
    assert a["post"] == "at the beach"
    assert a["taken_time"] == a["posted_time"] == 1717000000
    assert a["sidecar"].endswith("Jane Smïth_8812.json")
    assert (b["sender"], b["post"], b["posted_time"]) == ("Alex Doe", None, 1717000100)
    assert (c["sender"], c["posted_time"]) == ("Jane Smïth", 1717000200)  # by its file name
    # in the download, though no message lists it
    assert d["export"] == "facebook" and d["sender"] is None and d["sidecar"] is None


def test_a_json_beside_a_media_folder_is_not_taken_for_a_conversation(
    tmp_path: Path, photos: dict[str, bytes]
) -> None:
    """A folder of one's own with a ``media`` folder and JSON files of other kinds: nothing is
    read into its photos."""
    root = tmp_path / "project"
    (root / "media").mkdir(parents=True)
    (root / "media/a.jpg").write_bytes(photos["players"])
    (root / "data.json").write_text(json.dumps({"messages": [{"uri": "media/a.jpg"}]}))
    (root / "chat.json").write_text(json.dumps({"participants": [], "messages": []}))
    (item,) = list(iter_items([root]))
    assert item.error is None and item.facts["source"] == exports.empty_source()
