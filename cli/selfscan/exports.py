"""Metadata from data exports: Google Takeout sidecars, Facebook and Instagram JSON.

``sources`` (for folders) and ``archives`` (for an archive, or all parts of a split one) list
every file of an export and ask an ``ExportIndex`` built over those names for the facts about each
photo. The parsing functions are pure and never raise: a malformed JSON file never stops a scan,
the photo is still scanned, and the facts (Takeout) or an error result of its own
(Facebook/Instagram) say what went wrong.

``Item.facts["source"]`` always holds every key below; a value is None (``people``: an empty
list) when unknown:

- ``export``: ``"google_takeout"``, ``"facebook"``, ``"instagram"``, ``"iphone_backup"`` (see
  ``phonebackup``), ``"photos_library"`` (a Mac Photos library: see ``photoslibrary``) or None.
- ``archive``: display path of the archive holding the item (``/a/outer.zip!/inner.zip`` when
  nested), None for a plain file.
- ``member``: the member name inside that archive, None for a plain file.
- ``album``: album name (Takeout: the ``title`` of the folder's ``metadata.json``, else the folder
  name; Facebook: the album file's ``name``).
- ``title``, ``description``: as written in the export (Takeout's ``title`` is usually the
  original file name; Facebook/Instagram's is the caption).
- ``taken_time``: int Unix seconds. Takeout: ``photoTakenTime``. Facebook/Instagram: the EXIF
  ``taken_timestamp`` when exported, else when the photo was posted or sent.
- ``posted_time``: int Unix seconds when the photo was posted or sent (Facebook/Instagram);
  ``taken_time`` is the same value when the export gives no capture time.
- ``taken_local``: the camera's clock time, ISO 8601 without a zone, where the export copies the
  photo's EXIF ``date_time_original`` (Instagram): when it was taken, not posted.
- ``geo``: ``{"latitude": float, "longitude": float, "altitude": float | None}`` or None
  (0, 0 means unknown and gives None).
- ``upload_ip``: the IP address the photo was uploaded from (Facebook's ``upload_ip``).
- ``camera``: the camera the export names (Facebook's ``camera_make`` and ``camera_model``).
- ``place``: a place's name where the export gives one without coordinates (Instagram's
  ``media.json`` before 2020: ``"West End, Vancouver"``).
- ``people``: names tagged in the photo (Takeout ``people[].name``).
- ``url``: Takeout's link to the photo in Google Photos.
- ``origin``: where the photo came from. Takeout: the ``googlePhotosOrigin`` kind, with the device
  type when known (``"mobileUpload:ANDROID_PHONE"``, ``"fromSharedAlbum"``, ``"webUpload"``).
  Facebook/Instagram: the part of the export that lists it: ``album``, ``uncategorized_photos``,
  ``post``, ``video``, ``message``, ``story``, ``archived_post``, ``reel``, ``profile_photo``.
- ``post``: text of the post or message that carried the photo (Facebook/Instagram).
- ``thread``: title of the Messenger or Instagram conversation the photo was sent in (also from
  Messenger's download of its end-to-end encrypted chats: see ``social.SECURE_MESSAGE``).
- ``sender``: who sent the message the photo came in (Messenger and Instagram).
- ``phone_path``: the file's path on the phone, in its domain (an iPhone backup, whose
  ``origin`` is the domain: ``CameraRollDomain``, an app's, ``MediaDomain`` for Messages).
- ``sidecar``: display path of the JSON file (an iPhone backup's ``Manifest.db``) the facts
  came from.
- ``sidecar_error``: why that JSON file could not be used (the photo is still scanned).

Parsing lives in ``takeout`` (Google Takeout sidecars and albums) and ``social`` (Facebook and
Instagram JSON), over the shared value parsing in ``exportjson``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from .exportjson import fix_mojibake, read_reason
from .names import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, kind_of
from .social import SECURE_MESSAGE, export_root, parse_social, social_kind, social_order
from .socialindex import PROBLEM, SocialIndex
from .takeout import (
    ALBUM_METADATA_NAMES,
    EDITED_SUFFIXES,
    NAME_LIMIT,
    SUPPLEMENTAL,
    is_takeout_folder,
    json_key,
    own_titles,
    parse_takeout_album,
    parse_takeout_sidecar,
    sidecar_candidates,
    sidecar_names,
    takeout_dir,
    unedited_name,
)
from .types import Item

# A JSON named after a photo or video (a sidecar: "IMG_1.jpg.json", "IMG_1.HEIC(1).json").
_MEDIA_IN_NAME = re.compile(
    "|".join(re.escape(e) + r"\b" for e in sorted(IMAGE_EXTENSIONS | VIDEO_EXTENSIONS))
)

__all__ = [
    "ALBUM_METADATA_NAMES",
    "EDITED_SUFFIXES",
    "NAME_LIMIT",
    "PROBLEM",
    "SOURCE_KEYS",
    "SUPPLEMENTAL",
    "ExportIndex",
    "empty_source",
    "fix_mojibake",
    "parse_social",
    "parse_takeout_album",
    "parse_takeout_sidecar",
    "sidecar_names",
    "social_kind",
    "unedited_name",
]

# What an export in HTML format gets: its photos are scanned, its pages are not read.
HTML_EXPORT = (
    "a Facebook or Instagram export in HTML format: selfscan reads dates, places and captions "
    "from the JSON format only (choose JSON when you request the export)"
)

SOURCE_KEYS = (
    "export",
    "archive",
    "member",
    "album",
    "title",
    "description",
    "taken_time",
    "taken_local",
    "posted_time",
    "geo",
    "upload_ip",
    "camera",
    "place",
    "people",
    "url",
    "origin",
    "post",
    "thread",
    "sender",
    "phone_path",
    "sidecar",
    "sidecar_error",
)


def empty_source() -> dict[str, Any]:
    """A ``facts["source"]`` dict with every key unknown."""
    source: dict[str, Any] = dict.fromkeys(SOURCE_KEYS)
    source["people"] = []
    return source


class ExportIndex:
    """Export facts for the files of one folder tree, archive or split archive set.

    ``names`` are the ``/``-separated paths of its media and JSON files (absolute paths for
    folders, member names for archives). ``load(name)`` returns a JSON file's bytes (it may
    raise); ``where(name)`` its display path. ``hint`` is the archive or folder name, which tells
    an Instagram export from a Facebook one when their files look alike. Facebook and Instagram
    JSON files are read here; Takeout sidecars only when a photo asks for one.
    """

    def __init__(
        self,
        names: Iterable[str],
        load: Callable[[str], bytes],
        where: Callable[[str], str],
        hint: str = "",
    ) -> None:
        self._load = load
        self._where = where
        self._hint = hint.lower()
        self._names: set[str] = set()
        self._json: dict[str, dict[str, str]] = {}  # Takeout folder -> lower name -> name
        self._twins: dict[str, list[str]] = {}  # a JSON name -> same-named ones in other parts
        self._sidecars: dict[str, dict[str, Any]] = {}
        self._albums: dict[str, str | None] = {}
        self._folders: dict[str, tuple[str, bool]] = {}  # see _folder
        self._social = SocialIndex(self._names, load, where, self._hint)
        # Facebook/Instagram files that could not be read: (where, the error to report)
        self.problems = self._social.problems
        social: list[tuple[str, str, str]] = []
        html: dict[str, str] = {}  # export root -> a page of an export in HTML format
        loose: list[str] = []  # JSON files of no known kind: maybe secure conversations
        with_media: set[str] = set()  # folders that hold a "media" folder
        for name in names:
            if name in self._names:
                continue
            self._names.add(name)
            lower = name.lower()
            if "media/" in lower:
                parts = name.split("/")
                with_media.update(
                    "/".join(parts[:i]) for i, p in enumerate(parts[:-1]) if p.lower() == "media"
                )
            if lower.endswith((".html", ".htm")):
                if social_kind(name.rpartition(".")[0] + ".json"):
                    html.setdefault(export_root(name), name)
                continue
            if not lower.endswith(".json"):
                continue
            folder, _, base = name.rpartition("/")
            jsons = self._json.setdefault(takeout_dir(folder), {})
            jkey = json_key(base)
            if jkey in jsons:  # the same name in two parts of an export: each folder its own
                self._twins.setdefault(jsons[jkey], []).append(name)
            else:
                jsons[jkey] = name
            kind = social_kind(name)
            if kind is not None:
                social.append((name, *kind))
                if kind[0] == "instagram":  # its messages look like Facebook's
                    self._social.add_instagram_root(export_root(name))
            elif not _MEDIA_IN_NAME.search(lower):  # not a photo's sidecar
                loose.append(name)
            self._social.note(name)
        for name, export, origin in sorted(social, key=social_order):
            self._social.read(name, export, origin)
        for name in sorted(loose):
            if name.rpartition("/")[0] in with_media:
                self._social.read(name, "messages", SECURE_MESSAGE)
        with_json = {export_root(name) for name, _, _ in social}
        for root, page in sorted(html.items()):
            if root not in with_json:  # an export in HTML format: said once, whole
                self.problems.append((self._where(page), HTML_EXPORT))

    def problem_items(self) -> list[Item]:
        """An error item for each Facebook/Instagram JSON file that could not be read, so that
        the results say which export file was left out and why."""
        return [Item(where, 0, 0, error=error) for where, error in self.problems]

    def facts(self, name: str) -> dict[str, Any]:
        """``facts["source"]`` for the media file ``name`` (``archive``/``member`` left None)."""
        source = empty_source()
        social = self._social.facts(name)
        if social is not None:
            source.update(social)
            source["people"] = list(social.get("people") or [])
            return source
        folder, _, base = name.rpartition("/")
        key, in_takeout = self._folders.get(folder) or self._folder(folder)
        jsons = self._json.get(key)
        if jsons:
            found = self._sidecar_of(base, jsons, name)
            if found is None and kind_of(base) == "video":
                # A Live Photo's or motion photo's video has no sidecar: its still's describes it.
                stem = base.rpartition(".")[0] or base
                stills = (f"{stem}{ext}" for ext in (".jpg", ".heic", ".jpeg"))  # any case
                found = next((f for s in stills if (f := self._sidecar_of(s, jsons, name))), None)
            if found is not None:
                source.update(self._sidecar(found))
                source["sidecar"] = self._where(found)
                source["export"] = "google_takeout"
            source["album"] = self._album(folder, jsons, in_takeout)
        if source["export"] is None and in_takeout:
            source["export"] = "google_takeout"
        if source["export"] is None:  # in a Facebook/Instagram export, though no file lists it
            source["export"] = self._social.service_of(name)
        return source

    def _sidecar_of(self, base: str, jsons: dict[str, str], name: str) -> str | None:
        """The sidecar, among a folder's JSON files (in every part of its export), of the media
        file ``name`` named ``base``: the one in the file's own folder when there are several."""
        folder = name.rpartition("/")[0]
        for candidate in sidecar_candidates(base):
            found = jsons.get(json_key(candidate))
            if found is None or found == name:
                continue
            if self._of_another(found, base, folder):
                # Names cut to 46 characters: photos that share the cut share the sidecar name,
                # which Takeout numbers (``NAME(1).json``): the one whose title is this photo.
                stem = candidate[: -len(".json")]
                numbered = (jsons.get(json_key(f"{stem}({n}).json")) for n in range(1, 10))
                found = next(
                    (f for f in numbered if f and not self._of_another(f, base, folder)), None
                )
                if found is None:
                    continue
            for twin in (found, *self._twins.get(found, ())):
                if twin.rpartition("/")[0] == folder:
                    return twin
            return found
        return None

    def _of_another(self, sidecar: str, base: str, folder: str) -> bool:
        """Whether ``sidecar``'s title names another file of ``folder`` than ``base``."""
        title = self._sidecar(sidecar).get("title")
        if not isinstance(title, str) or json_key(title) in own_titles(base):
            return False
        return f"{folder}/{title}" in self._names if folder else title in self._names

    def _folder(self, folder: str) -> tuple[str, bool]:
        """A media folder's key among the Takeout folders, and whether it is inside a Takeout
        export; computed once per folder."""
        found = (
            takeout_dir(folder),
            "takeout" in self._hint or any(is_takeout_folder(p) for p in folder.split("/")),
        )
        self._folders[folder] = found
        return found

    def _sidecar(self, name: str) -> dict[str, Any]:
        if name not in self._sidecars:
            try:
                self._sidecars[name] = parse_takeout_sidecar(self._load(name))
            except Exception as exc:  # a sidecar that cannot be read never stops the scan
                why = f"cannot read sidecar: {read_reason(exc)}"
                self._sidecars[name] = {"sidecar_error": why}
        facts = dict(self._sidecars[name])
        facts["people"] = list(facts.get("people") or [])
        return facts

    def _album(self, folder: str, jsons: dict[str, str], in_takeout: bool) -> str | None:
        if folder not in self._albums:
            title = None
            found = next((jsons[k] for k in ALBUM_METADATA_NAMES if k in jsons), None)
            if found is not None:
                try:
                    title = parse_takeout_album(self._load(found))
                except Exception:  # an unreadable album file only loses the album name
                    title = None
                title = title or folder.rpartition("/")[2] or None
            elif in_takeout:  # named in a language not listed: told by what it holds
                title = self._album_by_content(jsons)
            self._albums[folder] = title
        return self._albums[folder]

    def _album_by_content(self, jsons: dict[str, str]) -> str | None:
        """The title of a Takeout album file under another name (Bulgarian ``метаданни.json``):
        a JSON in the folder that names no photo and holds a title and no photo's time."""
        for key in sorted(jsons):
            if _MEDIA_IN_NAME.search(key.lower()) or "supplemental" in key.lower():
                continue  # a photo's sidecar
            try:
                title = parse_takeout_album(self._load(jsons[key]), strict=True)
            except Exception:
                continue
            if title:
                return title
        return None
