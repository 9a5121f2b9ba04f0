"""Build small synthetic data exports from real photos, for tests.

Each ``build_*`` function writes one export twice under ``root``: as a folder
(``root/folder/...``) and as zip archive(s) (``root/zips/...``), laid out and named the way
Google Takeout, Facebook and Instagram deliver them. It returns an ``Export`` that says where
both forms are, which sample photo each media file holds, and which ``facts["source"]`` values
each one must get. Pass the photo bytes in (e.g. ``{name: path.read_bytes()}`` from the
``samples`` fixture); files cycle through them in sorted name order.
"""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TAKEOUT_ZIPS = ("takeout-20240101T000000Z-001.zip", "takeout-20240101T000000Z-002.zip")
FACEBOOK_ROOT = "facebook-jdoe-2024-01-01-AbCdEf"
INSTAGRAM_ROOT = "instagram-jdoe-2024-01-01-GhIjKl"


@dataclass
class Export:
    """One generated export.

    ``expected`` maps a media file's path inside the export (``Takeout/Google Photos/…``) to the
    ``facts["source"]`` values it must get; ``sidecar`` is given as the JSON file's base name
    and ``sidecar_error`` as a bool (whether there must be one). ``photos`` maps the same paths
    to the sample photo each file holds.
    """

    kind: str
    folder: Path
    archives: list[Path]
    expected: dict[str, dict[str, Any]] = field(default_factory=dict)
    photos: dict[str, str] = field(default_factory=dict)

    def path_in_folder(self, member: str) -> str:
        """The display path of ``member`` in the folder form."""
        return str(self.folder / member)


def mismatches(source: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """How ``source`` (an item's ``facts["source"]``) differs from ``expected``."""
    problems = []
    for key, want in expected.items():
        got = source.get(key)
        if key == "sidecar":
            got = got.rpartition("/")[2] if got else None
        elif key == "sidecar_error":
            got = bool(got)
        if got != want:
            problems.append(f"{key}: got {got!r}, want {want!r}")
    return problems


def mojibake(text: str) -> str:
    """``text`` as Facebook and Instagram write it: each UTF-8 byte as its own character."""
    return text.encode("utf-8").decode("latin-1")


class _Writer:
    """Writes files into the folder form and into one of the zip parts at once."""

    def __init__(self, root: Path, photos: dict[str, bytes], zips: tuple[str, ...]) -> None:
        self.folder = root / "folder"
        self.zip_dir = root / "zips"
        self.zip_dir.mkdir(parents=True, exist_ok=True)
        self.photos = photos
        self.names = sorted(photos)
        self.used = 0
        self.parts = [zipfile.ZipFile(self.zip_dir / z, "w") for z in zips]
        self.which: dict[str, str] = {}

    def write(self, member: str, data: bytes, part: int = 0) -> None:
        path = self.folder / member
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.parts[part].writestr(member, data)

    def photo(self, member: str, part: int = 0) -> None:
        name = self.names[self.used % len(self.names)]
        self.used += 1
        self.which[member] = name
        self.write(member, self.photos[name], part)

    def json(self, member: str, obj: Any, part: int = 0) -> None:
        self.write(member, json.dumps(obj).encode(), part)

    def close(self) -> list[Path]:
        for part in self.parts:
            part.close()
        return [Path(p.filename) for p in self.parts if p.filename]


def _sidecar(title: str, taken: int, **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "title": title,
        "description": "",
        "imageViews": "3",
        "creationTime": {"timestamp": str(taken + 86400), "formatted": "..."},
        "photoTakenTime": {"timestamp": str(taken), "formatted": "..."},
        "geoData": {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0},
        "geoDataExif": {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0},
        "url": f"https://photos.google.com/photo/{taken}",
        "googlePhotosOrigin": {"mobileUpload": {"deviceType": "ANDROID_PHONE"}},
    }
    obj.update(extra)
    return obj


def _takeout_expect(obj: dict[str, Any], sidecar: str, album: str | None) -> dict[str, Any]:
    geo = None
    for key in ("geoData", "geoDataExif"):
        g = obj.get(key, {})
        if g.get("latitude") or g.get("longitude"):
            geo = {k: float(g[k]) for k in ("latitude", "longitude", "altitude")}
            break
    return {
        "export": "google_takeout",
        "album": album,
        "title": obj["title"],
        "description": obj["description"] or None,
        "taken_time": int(obj["photoTakenTime"]["timestamp"]),
        "geo": geo,
        "people": [p["name"] for p in obj.get("people", [])],
        "url": obj["url"],
        "origin": "mobileUpload:ANDROID_PHONE",
        "sidecar": sidecar,
        "sidecar_error": False,
    }


def build_takeout(root: Path, photos: dict[str, bytes]) -> Export:
    """A Google Photos Takeout split in two zips, with a sidecar for each naming quirk.

    Several photos have their sidecar in the other zip part; the album ``Summer Trip`` has its
    ``metadata.json`` in part 1 and its photo in part 2.
    """
    w = _Writer(root, photos, TAKEOUT_ZIPS)
    expected: dict[str, dict[str, Any]] = {}
    year = "Takeout/Google Photos/Photos from 2019/"
    long_name = "Screenshot_20190704-101112_Some Very Long App Name.jpg"  # 53 characters
    mid_name = "PXL_20190704_101112345.PORTRAIT.COVER.jpg"  # 41: suffix cut at 46
    cases = [
        # (photo file, sidecar file, photo part, sidecar part, extra sidecar fields)
        ("IMG_0001.jpg", "IMG_0001.jpg.json", 0, 1, {}),
        ("IMG_0002.jpg", "IMG_0002.jpg.supplemental-metadata.json", 1, 0, {}),
        ("IMG_0003.jpg", "IMG_0003.jpg.supplemental-metad.json", 0, 0, {}),
        ("IMG_0004.jpg", "IMG_0004.jpg.suppl.json", 0, 1, {}),
        ("IMG_0011.jpg", "IMG_0011.jpg.s.json", 1, 1, {}),
        (long_name, long_name[:46] + ".json", 0, 1, {}),
        (mid_name, (mid_name + ".supplemental-metadata")[:46] + ".json", 1, 0, {}),
        ("image.jpg", "image.jpg.json", 0, 0, {"description": "the first one"}),
        ("image(1).jpg", "image.jpg(1).json", 1, 0, {"description": "the duplicate"}),
        ("IMG_0008(2).jpg", "IMG_0008.jpg.supplemental-metadata(2).json", 0, 1, {}),
        (
            "IMG_0005.jpg",
            "IMG_0005.jpg.supplemental-metadata.json",
            0,
            1,
            {
                "description": "Yao at the game",
                "people": [{"name": "Yao Ming"}, {"name": "Coach"}],
                "geoData": {"latitude": 29.56, "longitude": 106.55, "altitude": 240.0},
            },
        ),
        (
            "IMG_0006.jpg",
            "IMG_0006.jpg.json",
            1,
            0,
            {"geoDataExif": {"latitude": -33.86, "longitude": 151.21, "altitude": 5.0}},
        ),
    ]
    taken = 1_560_000_000
    for photo, sidecar, photo_part, sidecar_part, extra in cases:
        taken += 3600
        obj = _sidecar(photo, taken, **extra)
        w.photo(year + photo, photo_part)
        w.json(year + sidecar, obj, sidecar_part)
        expected[year + photo] = _takeout_expect(obj, sidecar, None)
    # The sidecar of a photo whose original is not in the export, only its edited copy.
    obj = _sidecar("IMG_0007.jpg", taken + 3600)
    w.json(year + "IMG_0007.jpg.supplemental-metadata.json", obj, 0)
    expected[year + "IMG_0007.jpg"] = _takeout_expect(
        obj, "IMG_0007.jpg.supplemental-metadata.json", None
    )
    # Edited copies share the original's sidecar; IMG_0007's original is not in the export.
    for edited, original in (
        ("IMG_0005-edited.jpg", "IMG_0005.jpg"),
        ("IMG_0006-bearbeitet.jpg", "IMG_0006.jpg"),
        ("IMG_0007-modifié.jpg", "IMG_0007.jpg"),
    ):
        w.photo(year + edited, 1)
        expected[year + edited] = dict(expected[year + original])
    del expected[year + "IMG_0007.jpg"]
    # A photo without sidecar, and one whose sidecar is damaged.
    w.photo(year + "IMG_0010.jpg", 0)
    expected[year + "IMG_0010.jpg"] = {"export": "google_takeout", "sidecar": None}
    w.photo(year + "IMG_0009.jpg", 1)
    w.write(year + "IMG_0009.jpg.json", b'{"title": "IMG_0009.jpg", "photoTakenTime": {', 0)
    expected[year + "IMG_0009.jpg"] = {
        "export": "google_takeout",
        "sidecar": "IMG_0009.jpg.json",
        "sidecar_error": True,
        "taken_time": None,
    }
    # An album: its metadata.json in part 1, the photo and its sidecar in part 2.
    album = "Takeout/Google Photos/Summer Trip/"
    w.json(album + "metadata.json", {"title": "Summer Trip 2019", "description": ""}, 0)
    obj = _sidecar("IMG_0100.jpg", 1_562_000_000, people=[{"name": "Yao Ming"}])
    w.photo(album + "IMG_0100.jpg", 1)
    w.json(album + "IMG_0100.jpg.json", obj, 1)
    expected[album + "IMG_0100.jpg"] = _takeout_expect(obj, "IMG_0100.jpg.json", "Summer Trip 2019")
    archives = w.close()
    return Export("google_takeout", w.folder, archives, expected, w.which)


def build_facebook(root: Path, photos: dict[str, bytes]) -> Export:
    """A Facebook "Download your information" export: an album, an uncategorized photo, a post
    with a place, a Messenger photo, mojibake text everywhere, and one damaged album file."""
    w = _Writer(root, photos, (FACEBOOK_ROOT + ".zip",))
    base = "your_activity_across_facebook/"
    expected: dict[str, dict[str, Any]] = {}

    album_photo = base + "posts/media/EteaZurich_123/10001.jpg"
    w.json(
        base + "posts/album/0.json",
        {
            "name": mojibake("Été à Zürich"),
            "photos": [
                {
                    "uri": album_photo,
                    "creation_timestamp": 1_560_000_000,
                    "media_metadata": {
                        "photo_metadata": {
                            "exif_data": [
                                {
                                    "taken_timestamp": 1_559_000_000,
                                    "latitude": 47.37,
                                    "longitude": 8.54,
                                }
                            ]
                        }
                    },
                    "title": mojibake("Été à Zürich"),
                    "description": mojibake("Café au lait ☕"),
                }
            ],
            "cover_photo": {"uri": album_photo, "creation_timestamp": 1_560_000_000},
            "last_modified_timestamp": 1_560_000_100,
            "description": "",
        },
    )
    w.photo(album_photo)
    expected[album_photo] = {
        "export": "facebook",
        "origin": "album",
        "album": "Été à Zürich",
        "title": "Été à Zürich",
        "description": "Café au lait ☕",
        "taken_time": 1_559_000_000,
        "geo": {"latitude": 47.37, "longitude": 8.54, "altitude": None},
        "sidecar": "0.json",
    }
    loose = base + "posts/media/Uncategorized_1/20001.jpg"
    w.json(
        base + "posts/your_uncategorized_photos.json",
        {
            "other_photos_v2": [
                {
                    "uri": loose,
                    "creation_timestamp": 1_570_000_000,
                    "description": mojibake("Señor Dïaz"),
                }
            ]
        },
    )
    w.photo(loose)
    expected[loose] = {
        "export": "facebook",
        "origin": "uncategorized_photos",
        "album": None,
        "description": "Señor Dïaz",
        "taken_time": 1_570_000_000,
        "geo": None,
        "sidecar": "your_uncategorized_photos.json",
    }
    posted = base + "posts/media/Timeline_1/30001.jpg"
    w.json(
        base + "posts/your_posts__check_ins__photos_and_videos_1.json",
        [
            {
                "timestamp": 1_580_000_000,
                "attachments": [
                    {
                        "data": [
                            {"media": {"uri": posted, "creation_timestamp": 1_580_000_001}},
                            {
                                "place": {
                                    "name": "Louvre",
                                    "coordinate": {"latitude": 48.86, "longitude": 2.33},
                                }
                            },
                        ]
                    }
                ],
                "data": [{"post": mojibake("Visited the Louvre 🎨 — très bien")}],
                "title": "John Doe added a new photo.",
            }
        ],
    )
    w.photo(posted)
    expected[posted] = {
        "export": "facebook",
        "origin": "post",
        "post": "Visited the Louvre 🎨 — très bien",
        "taken_time": 1_580_000_001,
        "geo": {"latitude": 48.86, "longitude": 2.33, "altitude": None},
        "sidecar": "your_posts__check_ins__photos_and_videos_1.json",
    }
    thread = base + "messages/inbox/janesmith_123/"
    sent = thread + "photos/40001.jpg"
    w.json(
        thread + "message_1.json",
        {
            "participants": [{"name": mojibake("Jane Smïth")}, {"name": "John Doe"}],
            "messages": [
                {
                    "sender_name": mojibake("Jane Smïth"),
                    "timestamp_ms": 1_590_000_000_123,
                    "photos": [{"uri": sent, "creation_timestamp": 0}],
                    "content": mojibake("Look at this 😀"),
                },
                {"sender_name": "John Doe", "timestamp_ms": 1_590_000_100_000, "content": "hi"},
            ],
            "title": mojibake("Jane Smïth"),
            "is_still_participant": True,
            "thread_path": "inbox/janesmith_123",
        },
    )
    w.photo(sent)
    expected[sent] = {
        "export": "facebook",
        "origin": "message",
        "thread": "Jane Smïth",
        "sender": "Jane Smïth",
        "post": "Look at this 😀",
        "taken_time": 1_590_000_000,
        "sidecar": "message_1.json",
    }
    broken = base + "posts/media/Broken_9/50001.jpg"
    w.write(base + "posts/album/1.json", b'{"name": "Broken", "photos": [{"uri": "')
    w.photo(broken)
    # its album's file cannot be read, but the photo is still from the Facebook export
    expected[broken] = {"export": "facebook", "sidecar": None, "album": None}
    archives = w.close()
    return Export("facebook", w.folder, archives, expected, w.which)


def build_instagram(root: Path, photos: dict[str, bytes]) -> Export:
    """An Instagram export: a two-photo post, a single-photo post, a story, an archived post,
    the profile photo and a direct message photo, with mojibake captions."""
    w = _Writer(root, photos, (INSTAGRAM_ROOT + ".zip",))
    content = "your_instagram_activity/content/"
    expected: dict[str, dict[str, Any]] = {}
    first, second = "media/posts/201912/60001.jpg", "media/posts/201912/60002.jpg"
    single = "media/posts/202001/60003.jpg"
    w.json(
        content + "posts_1.json",
        [
            {
                "media": [
                    {
                        "uri": first,
                        "creation_timestamp": 1_575_000_000,
                        "media_metadata": {
                            "photo_metadata": {
                                "exif_data": [{"latitude": 40.7, "longitude": -74.0}]
                            }
                        },
                        "title": "",
                    },
                    {"uri": second, "creation_timestamp": 1_575_000_000, "title": ""},
                ],
                "title": mojibake("New York ❤️ Ñ"),
                "creation_timestamp": 1_575_000_000,
            },
            {
                "media": [
                    {
                        "uri": single,
                        "creation_timestamp": 1_578_000_000,
                        "title": mojibake("Single caption ü"),
                    }
                ]
            },
        ],
    )
    for path in (first, second, single):
        w.photo(path)
    common = {"export": "instagram", "origin": "post", "sidecar": "posts_1.json"}
    expected[first] = {
        **common,
        "post": "New York ❤️ Ñ",
        "taken_time": 1_575_000_000,
        "geo": {"latitude": 40.7, "longitude": -74.0, "altitude": None},
    }
    expected[second] = {**common, "post": "New York ❤️ Ñ", "geo": None}
    expected[single] = {**common, "title": "Single caption ü", "taken_time": 1_578_000_000}
    story = "media/stories/202002/70001.jpg"
    w.json(
        content + "stories.json",
        {"ig_stories": [{"uri": story, "creation_timestamp": 1_581_000_000, "title": ""}]},
    )
    w.photo(story)
    expected[story] = {"export": "instagram", "origin": "story", "taken_time": 1_581_000_000}
    archived = "media/archived_posts/202003/80001.jpg"
    w.json(
        content + "archived_posts.json",
        {
            "ig_archived_post_media": [
                {
                    "media": [
                        {
                            "uri": archived,
                            "creation_timestamp": 1_583_000_000,
                            "title": mojibake("Archivé"),
                        }
                    ]
                }
            ]
        },
    )
    w.photo(archived)
    expected[archived] = {"export": "instagram", "origin": "archived_post", "title": "Archivé"}
    profile = "media/other/90001.jpg"
    w.json(
        "personal_information/personal_information/personal_information.json",
        {
            "profile_user": [
                {
                    "media_map_data": {
                        "Profile Photo": {
                            "uri": profile,
                            "creation_timestamp": 1_500_000_000,
                            "title": "",
                        }
                    },
                    "string_map_data": {"Name": {"value": mojibake("Jöhn")}},
                }
            ]
        },
    )
    w.photo(profile)
    expected[profile] = {
        "export": "instagram",
        "origin": "profile_photo",
        "taken_time": 1_500_000_000,
    }
    thread = "your_instagram_activity/messages/inbox/friend_42/"
    dm = thread + "photos/95001.jpg"
    w.json(
        thread + "message_1.json",
        {
            "participants": [{"name": "friend"}, {"name": "jdoe"}],
            "messages": [
                {
                    "sender_name": "friend",
                    "timestamp_ms": 1_600_000_000_000,
                    "photos": [{"uri": dm, "creation_timestamp": 1_600_000_000}],
                }
            ],
            "title": mojibake("Frïend"),
        },
    )
    w.photo(dm)
    expected[dm] = {
        "export": "instagram",
        "origin": "message",
        "thread": "Frïend",
        "sender": "friend",
        "post": None,
        "taken_time": 1_600_000_000,
    }
    archives = w.close()
    return Export("instagram", w.folder, archives, expected, w.which)


def write_archive(path: Path, members: dict[str, bytes]) -> None:
    """A zip (``.zip``) or gzipped tar (any other name) holding ``members``, in that order."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        return
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
