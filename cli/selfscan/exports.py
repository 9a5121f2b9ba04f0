"""Metadata from data exports: Google Takeout sidecars, Facebook and Instagram JSON.

``sources`` lists every file of an export (a folder, an archive, or all parts of a split
archive) and asks an ``ExportIndex`` built over those names for the facts about each photo. The
parsing functions are pure and never raise: a malformed JSON file never stops a scan, the photo
is still scanned and its facts say what went wrong.

``Item.facts["source"]`` always holds every key below; a value is None (``people``: an empty
list) when unknown:

- ``export``: ``"google_takeout"``, ``"facebook"``, ``"instagram"`` or None.
- ``archive``: display path of the archive holding the item (``/a/outer.zip!/inner.zip`` when
  nested), None for a plain file.
- ``member``: the member name inside that archive, None for a plain file.
- ``album``: album name (Takeout: the ``title`` of the folder's ``metadata.json``, else the folder
  name; Facebook: the album file's ``name``).
- ``title``, ``description``: as written in the export (Takeout's ``title`` is usually the
  original file name; Facebook/Instagram's is the caption).
- ``taken_time``: int Unix seconds. Takeout: ``photoTakenTime``. Facebook/Instagram: the EXIF
  ``taken_timestamp`` when exported, else when the photo was posted or sent.
- ``geo``: ``{"latitude": float, "longitude": float, "altitude": float | None}`` or None
  (0, 0 means unknown and gives None).
- ``people``: names tagged in the photo (Takeout ``people[].name``).
- ``url``: Takeout's link to the photo in Google Photos.
- ``origin``: where the photo came from. Takeout: the ``googlePhotosOrigin`` kind, with the device
  type when known (``"mobileUpload:ANDROID_PHONE"``, ``"fromSharedAlbum"``, ``"webUpload"``).
  Facebook/Instagram: the part of the export that lists it: ``album``, ``uncategorized_photos``,
  ``post``, ``video``, ``message``, ``story``, ``archived_post``, ``reel``, ``profile_photo``.
- ``post``: text of the post or message that carried the photo (Facebook/Instagram).
- ``thread``: title of the Messenger or Instagram conversation the photo was sent in.
- ``sidecar``: display path of the JSON file the facts came from.
- ``sidecar_error``: why that JSON file could not be used (the photo is still scanned).

Facebook and Instagram write non-ASCII text as UTF-8 bytes escaped one by one (``"\\u00c3\\u00a9"``
for "é"); ``fix_mojibake`` repairs it.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from .types import Item

# The reason given for an export JSON file that could not be used.
PROBLEM = "export file left out (its photos are still scanned, without what it says of them)"

SOURCE_KEYS = (
    "export",
    "archive",
    "member",
    "album",
    "title",
    "description",
    "taken_time",
    "geo",
    "people",
    "url",
    "origin",
    "post",
    "thread",
    "sidecar",
    "sidecar_error",
)

# Takeout's "edited" copies share the original's sidecar; the suffix is localised.
EDITED_SUFFIXES = (
    "-edited",
    "-effects",
    "-bearbeitet",
    "-modifié",
    "-modificato",
    "-editado",
    "-ha editado",
    "-editat",
    "-bewerkt",
    "-edytowane",
    "-redigert",
    "-redigeret",
    "-redigerad",
    "-muokattu",
    "-upraveno",
    "-upravené",
    "-編集済み",
    "-编辑",
    "-편집됨",
)
SUPPLEMENTAL = ".supplemental-metadata"
NAME_LIMIT = 46  # Takeout cuts a sidecar's name to 46 characters before ".json"
ALBUM_METADATA_NAMES = frozenset(
    {
        "metadata.json",
        "métadonnées.json",
        "metadatos.json",
        "metadades.json",
        "metadaten.json",
        "metadati.json",
        "metadane.json",
        "metagegevens.json",
        "metadados.json",
        "метаданные.json",
        "メタデータ.json",
        "元数据.json",
    }
)
_MIN_TIME = -2_208_988_800  # 1900-01-01
_MAX_TIME = 4_102_444_800  # 2100-01-01
_MAX_DEPTH = 64


def empty_source() -> dict[str, Any]:
    """A ``facts["source"]`` dict with every key unknown."""
    source: dict[str, Any] = dict.fromkeys(SOURCE_KEYS)
    source["people"] = []
    return source


# ---------------------------------------------------------------------------------------------
# Small, total conversions


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 bytes that were written as one ``\\u00XX`` escape each (Facebook, Instagram).

    The text is returned unchanged unless it round-trips through latin-1 into valid UTF-8.
    """
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def _load_json(data: bytes | str) -> tuple[Any, str | None]:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None, "malformed JSON: not UTF-8 text"
    try:
        return json.loads(data), None
    except (ValueError, RecursionError) as exc:
        text = str(exc) or type(exc).__name__
        return None, f"malformed JSON: {text[:120]}"


def _text(value: Any, repair: bool = False) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value:
        return None
    return fix_mojibake(value) if repair else value


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _timestamp(value: Any) -> int | None:
    """Unix seconds from a number, a numeric string, or Takeout's ``{"timestamp": ...}``."""
    if isinstance(value, dict):
        value = value.get("timestamp")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    number = _num(value)
    if number is None or number == 0 or not _MIN_TIME <= number <= _MAX_TIME:
        return None
    return int(number)


def _geo(value: Any) -> dict[str, float | None] | None:
    if not isinstance(value, dict):
        return None
    lat, lon = _num(value.get("latitude")), _num(value.get("longitude"))
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return {"latitude": lat, "longitude": lon, "altitude": _num(value.get("altitude"))}


# ---------------------------------------------------------------------------------------------
# Google Takeout


def parse_takeout_sidecar(data: bytes | str) -> dict[str, Any]:
    """Facts from one Google Photos sidecar JSON; ``{"sidecar_error": ...}`` when unusable."""
    obj, error = _load_json(data)
    if error is not None:
        return {"sidecar_error": error}
    if not isinstance(obj, dict):
        return {"sidecar_error": "malformed sidecar: not a JSON object"}
    people = obj.get("people")
    origin = obj.get("googlePhotosOrigin")
    return {
        "title": _text(obj.get("title")),
        "description": _text(obj.get("description")),
        "taken_time": _timestamp(obj.get("photoTakenTime")),
        "geo": _geo(obj.get("geoData")) or _geo(obj.get("geoDataExif")),
        "people": [
            name
            for p in (people if isinstance(people, list) else [])
            if isinstance(p, dict) and (name := _text(p.get("name")))
        ],
        "url": _text(obj.get("url")),
        "origin": _origin(origin),
    }


def _origin(value: Any) -> str | None:
    if not isinstance(value, dict) or not value:
        return None
    kind = next(iter(value))
    detail = value[kind]
    device = _text(detail.get("deviceType")) if isinstance(detail, dict) else None
    return f"{kind}:{device}" if device else kind


def parse_takeout_album(data: bytes | str) -> str | None:
    """The album title in a Takeout album ``metadata.json`` (old and new layouts), or None."""
    obj, error = _load_json(data)
    if error is not None or not isinstance(obj, dict):
        return None
    album = obj.get("albumData")
    if isinstance(album, dict):
        obj = album
    return _text(obj.get("title"))


def _split_ext(name: str) -> tuple[str, str]:
    dot = name.rfind(".")
    return (name[:dot], name[dot:]) if dot > 0 else (name, "")


_DUPLICATE = re.compile(r"^(?P<stem>.*)\((?P<n>\d+)\)$", re.S)
_EDITED = re.compile(
    r"^(?P<stem>.+?)(?:" + "|".join(map(re.escape, EDITED_SUFFIXES)) + r")(?P<dup>\(\d+\))?$",
    re.I | re.S,
)


def unedited_name(file_name: str) -> str | None:
    """``IMG(1).jpg`` for ``IMG-edited(1).jpg`` (any localised suffix), None if not an edit."""
    stem, ext = _split_ext(unicodedata.normalize("NFC", file_name))
    match = _EDITED.match(stem)
    if not match:
        return None
    return match["stem"] + (match["dup"] or "") + ext


def _sidecar_names(file_name: str) -> Iterator[str]:
    variants = [file_name]
    original = unedited_name(file_name)
    if original is not None:
        variants.append(original)
    for variant in variants:
        stem, ext = _split_ext(variant)
        duplicate = _DUPLICATE.match(stem)
        if duplicate:  # image(1).jpg -> image.jpg(1).json
            yield from _suffixed(duplicate["stem"] + ext, f"({duplicate['n']})")
        yield from _suffixed(variant, "")


def _suffixed(base: str, index: str) -> Iterator[str]:
    yield base + SUPPLEMENTAL + index + ".json"
    yield base + index + ".json"
    for cut in range(len(SUPPLEMENTAL), -1, -1):  # every truncation of the suffix
        full = base + SUPPLEMENTAL[:cut]
        yield full + index + ".json"
        if len(full) > NAME_LIMIT:
            yield full[:NAME_LIMIT] + index + ".json"


def sidecar_names(file_name: str) -> list[str]:
    """Every name Takeout may have given the sidecar of ``file_name``, most likely first.

    Covers ``NAME.ext.json``, ``NAME.ext.supplemental-metadata.json`` and each truncation of that
    suffix (``.supplemental-metad.json`` … ``.s.json``, ``..json``), names cut to 46 characters
    before ``.json``, duplicates (``image(1).jpg`` → ``image.jpg(1).json``) and edited copies
    (``IMG-edited.jpg``, ``IMG-bearbeitet.jpg`` … share ``IMG.jpg``'s sidecar).
    """
    return list(dict.fromkeys(_sidecar_names(file_name)))


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name).lower()


def _takeout_dir(directory: str) -> str:
    """A folder's path below ``Takeout/``: the same in every part of a split export."""
    parts = directory.split("/")
    lowered = [p.lower() for p in parts]
    if "takeout" in lowered:
        cut = len(lowered) - lowered[::-1].index("takeout")
        return "/".join(parts[cut:])
    return directory


# ---------------------------------------------------------------------------------------------
# Facebook and Instagram


_IG_FILES = {
    "stories.json": "story",
    "archived_posts.json": "archived_post",
    "reels.json": "reel",
    "igtv_videos.json": "reel",
    "personal_information.json": "profile_photo",
    "profile_photos.json": "profile_photo",
}


def social_kind(path: str) -> tuple[str, str] | None:
    """``(export, origin)`` for a Facebook/Instagram JSON file that lists media, else None.

    ``export`` is ``"messages"`` for conversation files, which both services write alike.
    """
    parts = path.replace("\\", "/").lower().split("/")
    base = parts[-1]
    if not base.endswith(".json"):
        return None
    if re.fullmatch(r"message_\d+\.json", base) and "messages" in parts:
        return "messages", "message"
    if len(parts) >= 3 and parts[-2] == "album" and parts[-3] in ("posts", "photos_and_videos"):
        return "facebook", "album"
    if base == "your_uncategorized_photos.json":
        return "facebook", "uncategorized_photos"
    if base == "your_videos.json":
        return "facebook", "video"
    if re.fullmatch(r"your_posts.*\.json", base):
        return "facebook", "post"
    if re.fullmatch(r"posts_\d+\.json", base):
        return "instagram", "post"
    if base in _IG_FILES:
        return "instagram", _IG_FILES[base]
    return None


@dataclass(frozen=True)
class _Context:
    album: str | None = None
    post: str | None = None
    thread: str | None = None
    taken: int | None = None
    geo: dict[str, float | None] | None = None


def parse_social(
    data: bytes | str, origin: str
) -> tuple[list[tuple[str, dict[str, Any]]], str | None]:
    """Every media ``uri`` in one Facebook/Instagram JSON file with its facts, and an error.

    Walks the whole document, so layout changes between export versions keep working: any object
    with a ``uri`` is a media entry; the album, post, message and conversation around it give it
    context. ``origin`` comes from ``social_kind``. Never raises.
    """
    obj, error = _load_json(data)
    if error is not None:
        return [], error
    context = _Context()
    if isinstance(obj, dict):
        if origin == "album":
            context = replace(context, album=_text(obj.get("name"), True))
        elif origin == "message":
            context = replace(context, thread=_text(obj.get("title"), True))
    found: list[tuple[str, dict[str, Any]]] = []
    _collect(obj, context, found, 0)
    return found, None


def _collect(node: Any, context: _Context, found: list, depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, list):
        for value in node:
            _collect(value, context, found, depth + 1)
        return
    if not isinstance(node, dict):
        return
    context = _around(node, context)
    uri = node.get("uri")
    if isinstance(uri, str) and uri.strip() and "://" not in uri:
        found.append((uri.strip(), _media_facts(node, context)))
    for key, value in node.items():
        if key != "media_metadata" and isinstance(value, (dict, list)):
            _collect(value, context, found, depth + 1)


def _around(node: dict, context: _Context) -> _Context:
    """The context a post, message or Instagram post dict gives the media inside it."""
    if "attachments" in node:  # a Facebook post
        texts = [d.get("post") for d in _dicts(node.get("data"))]
        places = [
            d["place"]
            for a in _dicts(node.get("attachments"))
            for d in _dicts(a.get("data"))
            if isinstance(d.get("place"), dict)
        ]
        geo = next((g for p in places if (g := _geo(p.get("coordinate")))), None)
        return replace(
            context,
            post=next((t for v in texts if (t := _text(v, True))), None) or context.post,
            taken=_timestamp(node.get("timestamp")) or context.taken,
            geo=geo or context.geo,
        )
    if "timestamp_ms" in node:  # a Messenger / Instagram direct message
        millis = _num(node.get("timestamp_ms"))
        return replace(
            context,
            post=_text(node.get("content"), True),
            taken=_timestamp(millis / 1000 if millis is not None else None) or context.taken,
        )
    if isinstance(node.get("media"), list):  # an Instagram post with one or more media
        return replace(
            context,
            post=_text(node.get("title"), True) or context.post,
            taken=_timestamp(node.get("creation_timestamp")) or context.taken,
        )
    return context


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _media_facts(node: dict, context: _Context) -> dict[str, Any]:
    metadata = node.get("media_metadata")
    exif: list[dict] = []
    if isinstance(metadata, dict):
        for sub in metadata.values():
            if isinstance(sub, dict):
                exif.extend(_dicts(sub.get("exif_data")))
    taken = next((t for e in exif if (t := _timestamp(e.get("taken_timestamp")))), None)
    geo = next((g for e in exif if (g := _geo(e))), None)
    place = node.get("place")
    if geo is None and isinstance(place, dict):
        geo = _geo(place.get("coordinate"))
    return {
        "album": context.album,
        "title": _text(node.get("title"), True),
        "description": _text(node.get("description"), True),
        "taken_time": taken or _timestamp(node.get("creation_timestamp")) or context.taken,
        "geo": geo or context.geo,
        "post": context.post,
        "thread": context.thread,
    }


# ---------------------------------------------------------------------------------------------
# The index over one export


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
        self._sidecars: dict[str, dict[str, Any]] = {}
        self._albums: dict[str, str | None] = {}
        self._social: dict[str, dict[str, Any]] = {}
        self._instagram_roots: set[str] = set()
        # Facebook/Instagram JSON files that could not be read: (where, reason)
        self.problems: list[tuple[str, str]] = []
        social: list[tuple[str, str, str]] = []
        for name in names:
            if name in self._names:
                continue
            self._names.add(name)
            if not name.lower().endswith(".json"):
                continue
            folder, _, base = name.rpartition("/")
            self._json.setdefault(_takeout_dir(folder), {}).setdefault(_key(base), name)
            kind = social_kind(name)
            if kind is not None:
                social.append((name, *kind))
            self._note_instagram(name)
        for name, export, origin in sorted(social, key=_social_order):
            self._read_social(name, export, origin)

    def problem_items(self) -> list[Item]:
        """An error item for each Facebook/Instagram JSON file that could not be read, so that
        the results say which export file was left out and why."""
        return [Item(where, 0, 0, error=f"{PROBLEM}: {reason}") for where, reason in self.problems]

    def facts(self, name: str) -> dict[str, Any]:
        """``facts["source"]`` for the media file ``name`` (``archive``/``member`` left None)."""
        source = empty_source()
        social = self._social.get(name)
        if social is not None:
            source.update(social)
            source["people"] = []
            return source
        folder, _, base = name.rpartition("/")
        jsons = self._json.get(_takeout_dir(folder))
        if jsons:
            for candidate in _sidecar_names(base):
                found = jsons.get(_key(candidate))
                if found is not None and found != name:
                    source.update(self._sidecar(found))
                    source["sidecar"] = self._where(found)
                    source["export"] = "google_takeout"
                    break
            source["album"] = self._album(folder, jsons)
        if source["export"] is None and (
            "takeout" in self._hint or "/takeout/" in f"/{folder.lower()}/"
        ):
            source["export"] = "google_takeout"
        return source

    def _sidecar(self, name: str) -> dict[str, Any]:
        if name not in self._sidecars:
            try:
                self._sidecars[name] = parse_takeout_sidecar(self._load(name))
            except Exception as exc:  # a sidecar that cannot be read never stops the scan
                self._sidecars[name] = {"sidecar_error": f"cannot read sidecar: {_reason(exc)}"}
        facts = dict(self._sidecars[name])
        facts["people"] = list(facts.get("people") or [])
        return facts

    def _album(self, folder: str, jsons: dict[str, str]) -> str | None:
        if folder not in self._albums:
            title = None
            found = next((jsons[k] for k in ALBUM_METADATA_NAMES if k in jsons), None)
            if found is not None:
                try:
                    title = parse_takeout_album(self._load(found))
                except Exception:  # an unreadable album file only loses the album name
                    title = None
                title = title or folder.rpartition("/")[2] or None
            self._albums[folder] = title
        return self._albums[folder]

    def _note_instagram(self, name: str) -> None:
        parts = name.split("/")
        lowered = [p.lower() for p in parts]
        for marker in ("your_instagram_activity", "personal_information"):
            if marker in lowered:
                self._instagram_roots.add("/".join(parts[: lowered.index(marker)]))

    def _read_social(self, name: str, export: str, origin: str) -> None:
        try:
            data = self._load(name)
        except Exception as exc:  # reported with the export's problems, the scan goes on
            self.problems.append((self._where(name), f"cannot read: {_reason(exc)}"))
            return
        found, error = parse_social(data, origin)
        if error is not None:
            self.problems.append((self._where(name), error))
            return
        root: str | None = None
        for uri, facts in found:
            target, root = self._resolve(uri, name, root)
            if target is None:
                continue
            if export == "messages":
                instagram = root in self._instagram_roots or "instagram" in self._hint
                export = "instagram" if instagram else "facebook"
            facts.update(export=export, origin=origin, sidecar=self._where(name))
            known = self._social.setdefault(target, {})
            for key, value in facts.items():
                if known.get(key) is None:
                    known[key] = value

    def _resolve(self, uri: str, json_name: str, root: str | None) -> tuple[str | None, str | None]:
        """The file a ``uri`` names: it is relative to the export's root, an ancestor folder of
        the JSON file. ``root`` is the one found for an earlier uri of the same file."""
        uri = uri.replace("\\", "/").lstrip("/")
        if root is not None:
            target = f"{root}/{uri}" if root else uri
            if target in self._names:
                return target, root
        folder = json_name.rpartition("/")[0]
        while True:
            target = f"{folder}/{uri}" if folder else uri
            if target in self._names:
                return target, folder
            if not folder:
                return None, root
            folder = folder.rpartition("/")[0]


def _social_order(entry: tuple[str, str, str]) -> tuple[int, str]:
    order = ("album", "post", "story", "archived_post", "reel", "profile_photo", "video")
    origin = entry[2]
    return (order.index(origin) if origin in order else len(order), entry[0])


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str):
        return reason
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
