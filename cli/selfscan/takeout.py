"""Google Takeout: photo sidecar JSON files, album ``metadata.json`` files and their names."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from .exportjson import as_geo, as_text, as_timestamp, load_json

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


def parse_takeout_sidecar(data: bytes | str) -> dict[str, Any]:
    """Facts from one Google Photos sidecar JSON; ``{"sidecar_error": ...}`` when unusable."""
    obj, error = load_json(data)
    if error is not None:
        return {"sidecar_error": error}
    if not isinstance(obj, dict):
        return {"sidecar_error": "malformed sidecar: not a JSON object"}
    people = obj.get("people")
    origin = obj.get("googlePhotosOrigin")
    return {
        "title": as_text(obj.get("title")),
        "description": as_text(obj.get("description")),
        "taken_time": as_timestamp(obj.get("photoTakenTime")),
        "geo": as_geo(obj.get("geoData")) or as_geo(obj.get("geoDataExif")),
        "people": [
            name
            for p in (people if isinstance(people, list) else [])
            if isinstance(p, dict) and (name := as_text(p.get("name")))
        ],
        "url": as_text(obj.get("url")),
        "origin": _origin(origin),
    }


def _origin(value: Any) -> str | None:
    if not isinstance(value, dict) or not value:
        return None
    kind = next(iter(value))
    detail = value[kind]
    device = as_text(detail.get("deviceType")) if isinstance(detail, dict) else None
    return f"{kind}:{device}" if device else kind


def parse_takeout_album(data: bytes | str, strict: bool = False) -> str | None:
    """The album title in a Takeout album ``metadata.json`` (old and new layouts), or None;
    ``strict``: None too for a file that is a photo's sidecar (it gives the photo's time)."""
    obj, error = load_json(data)
    if error is not None or not isinstance(obj, dict):
        return None
    if strict and "photoTakenTime" in obj:
        return None
    album = obj.get("albumData")
    if isinstance(album, dict):
        obj = album
    return as_text(obj.get("title"))


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


def sidecar_candidates(file_name: str) -> Iterator[str]:
    """The names ``sidecar_names`` lists, lazily and possibly repeated."""
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
    for variant in variants:  # recent exports also drop the extension: NAME.supplemental-….json
        stem, ext = _split_ext(variant)
        if ext:
            yield from _suffixed(stem, "", plain=False)


def _suffixed(base: str, index: str, plain: bool = True) -> Iterator[str]:
    """``base`` + the supplemental suffix (and each truncation of it) + ``.json``; ``plain``:
    also ``base.json`` (not for a name without its extension: ``IMG_1.json`` may be anything)."""
    yield base + SUPPLEMENTAL + index + ".json"
    if plain:
        yield base + index + ".json"
    for cut in range(len(SUPPLEMENTAL), 0 if not plain else -1, -1):  # each truncation
        full = base + SUPPLEMENTAL[:cut]
        yield full + index + ".json"
        if len(full) > NAME_LIMIT:
            yield full[:NAME_LIMIT] + index + ".json"


def own_titles(file_name: str) -> set[str]:
    """The ``title`` a sidecar of ``file_name`` may give (``json_key`` form): the name itself,
    the original of an edited copy, the name before Takeout numbered a duplicate."""
    names = {file_name}
    original = unedited_name(file_name)
    if original is not None:
        names.add(original)
    for name in list(names):
        stem, ext = _split_ext(name)
        if duplicate := _DUPLICATE.match(stem):
            names.add(duplicate["stem"] + ext)
    return {json_key(n) for n in names}


def sidecar_names(file_name: str) -> list[str]:
    """Every name Takeout may have given the sidecar of ``file_name``, most likely first.

    Covers ``NAME.ext.json``, ``NAME.ext.supplemental-metadata.json`` and each truncation of that
    suffix (``.supplemental-metad.json`` … ``.s.json``, ``..json``), names cut to 46 characters
    before ``.json``, duplicates (``image(1).jpg`` → ``image.jpg(1).json``) and edited copies
    (``IMG-edited.jpg``, ``IMG-bearbeitet.jpg`` … share ``IMG.jpg``'s sidecar).
    """
    return list(dict.fromkeys(sidecar_candidates(file_name)))


def json_key(name: str) -> str:
    """How JSON file names are compared: NFC-normalised, lower case."""
    return unicodedata.normalize("NFC", name).lower()


# The top folder of an export: ``Takeout``, or ``Takeout 2`` … where macOS unzipped the parts of
# a split export side by side.
_TAKEOUT = re.compile(r"^takeout(?: \d+)?$", re.I)
# The folder a part was unzipped into: ``takeout-20240101T000000Z-001`` (or ``-001 (1)``).
_PART_FOLDER = re.compile(r"^(?P<stem>.+)-\d{3}(?: \(\d+\))?$")


def is_takeout_folder(name: str) -> bool:
    """Whether a folder name is an export's top folder (``Takeout``, ``Takeout 2``)."""
    return bool(_TAKEOUT.match(name))


def takeout_dir(directory: str) -> str:
    """A folder's key among an export's folders: its path below ``Takeout/``, after the export
    it belongs to. The parts of one split export share their keys (``takeout-…-001/Takeout/X``
    and ``takeout-…-002/Takeout/X``; ``Takeout/X`` and ``Takeout 2/X``), so a photo finds its
    sidecar in another part; two different exports never do. A folder outside any export is its
    own key."""
    parts = directory.split("/")
    tops = [i for i, part in enumerate(parts) if is_takeout_folder(part)]
    if not tops:
        return directory
    top = tops[-1]
    above = parts[:top]
    if above and (part := _PART_FOLDER.match(above[-1])):
        above = [*above[:-1], part["stem"].lower()]
    return "/".join(above) + "\x00" + "/".join(parts[top + 1 :])
