"""Facebook and Instagram facts for the media files of one export, found by the JSON files
that list them.

``exports.ExportIndex`` builds one over the names of a folder tree or archive and asks it for the
facts of each photo; ``social`` parses the files themselves. A ``uri`` in those files is relative
to the export's root, which is not always where the export was unpacked: it is looked up from
the JSON file's folder upwards, never above the export.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .exportjson import fix_mojibake, read_reason
from .social import SECURE_MESSAGE, TOP_FOLDERS, parse_social

# The reason given for an export JSON file that could not be used.
PROBLEM = "export file left out (its photos are still scanned, without what it says of them)"


class SocialIndex:
    """The photos that an export's Facebook and Instagram JSON files list, with their facts.

    ``names`` is the export's set of file names (filled by the caller as it lists them);
    ``load``, ``where`` and ``hint`` as ``exports.ExportIndex`` takes them.
    """

    def __init__(
        self,
        names: set[str],
        load: Callable[[str], bytes],
        where: Callable[[str], str],
        hint: str,
    ) -> None:
        self._names = names
        self._load = load
        self._where = where
        self._hint = hint
        self._social: dict[str, dict[str, Any]] = {}
        self._instagram_roots: set[str] = set()
        self._services: dict[str, str] = {}  # a Facebook/Instagram export's root -> which
        self._captured: set[str] = set()  # media whose capture time a social file gave
        self._by_lower: dict[str, str] | None = None  # names by lower case, made when needed
        # Files that could not be read: (where, the error to report)
        self.problems: list[tuple[str, str]] = []

    def facts(self, name: str) -> dict[str, Any] | None:
        """What the export's files say of the media file ``name``; None when none lists it."""
        return self._social.get(name)

    def service_of(self, name: str) -> str | None:
        """``facebook`` or ``instagram`` when ``name`` is inside the root of such an export
        (the nearest, when one holds another), else None."""
        inside = [root for root in self._services if not root or name.startswith(root + "/")]
        return self._services[max(inside, key=len)] if inside else None

    def add_instagram_root(self, root: str) -> None:
        """Note that ``root`` is an Instagram export's (its messages look like Facebook's)."""
        self._instagram_roots.add(root)

    def note(self, name: str) -> None:
        """Note the root of an Instagram export (its messages look like Facebook's): it holds
        ``your_instagram_activity/`` or ``personal_information/personal_information/``;
        Facebook's exports have a ``personal_information`` folder too, with other files in it."""
        parts = name.split("/")
        lowered = [p.lower() for p in parts]
        if "your_instagram_activity" in lowered:
            self._instagram_roots.add("/".join(parts[: lowered.index("your_instagram_activity")]))
        for i in range(len(lowered) - 1):
            if lowered[i] == lowered[i + 1] == "personal_information":
                self._instagram_roots.add("/".join(parts[:i]))

    def read(self, name: str, export: str, origin: str) -> None:
        """Read the Facebook or Instagram JSON file ``name``, of ``export`` (``facebook``,
        ``instagram``, or ``messages`` when the export is told by its folder) listing photos
        as ``origin``; what it cannot read goes to ``problems``."""
        try:
            data = self._load(name)
        except Exception as exc:  # reported with the export's problems, the scan goes on
            if origin != SECURE_MESSAGE:  # a loose JSON file may be anything
                why = f"{PROBLEM}: cannot read: {read_reason(exc)}"
                self.problems.append((self._where(name), why))
            return
        found, error = parse_social(data, origin)
        if error is not None:
            # "media.json" is a common name, and a loose JSON file may be anything: only
            # Instagram's and Facebook's own files are reported.
            if origin not in ("media", SECURE_MESSAGE):
                self.problems.append((self._where(name), f"{PROBLEM}: {error}"))
            return
        root: str | None = None
        for uri, facts in found:
            target, root = self._resolve(uri, name, root)
            if target is None and origin == SECURE_MESSAGE:  # named as on the phone that sent it
                target, root = self._resolve(f"media/{uri.rpartition('/')[2]}", name, root)
            if target is None:
                continue
            if export == "messages":
                folder = (root or "").rsplit("/", 1)[-1].lower()  # "instagram-name-20220501"
                instagram = root in self._instagram_roots or "instagram" in self._hint + folder
                export = "instagram" if instagram else "facebook"
            self._services.setdefault(root or "", export)
            facts.update(export=export, sidecar=self._where(name))
            facts.setdefault("origin", origin)
            captured, people = facts.pop("captured", False), facts.pop("people", [])
            known = self._social.setdefault(target, {})
            if captured and target not in self._captured:
                # A capture time (a post's EXIF) wins over a time that is only when the photo
                # was posted (an album lists every photo with one): read in either order.
                known["taken_time"] = facts.get("taken_time")
                self._captured.add(target)
            for key, value in facts.items():
                if known.get(key) is None:
                    known[key] = value
            known["people"] = list(dict.fromkeys([*known.get("people", []), *people]))

    def _resolve(self, uri: str, json_name: str, root: str | None) -> tuple[str | None, str | None]:
        """The file a ``uri`` names: it is relative to the export's root, an ancestor folder of
        the JSON file. ``root`` is the one found for an earlier uri of the same file."""
        uri = uri.replace("\\", "/").lstrip("/")
        if (repaired := fix_mojibake(uri)) != uri:  # the file's own name is usually right
            target, found = self._resolve(repaired, json_name, root)
            if target is not None:
                return target, found
        if root is not None:
            target = f"{root}/{uri}" if root else uri
            if target in self._names:
                return target, root
        folder = json_name.rpartition("/")[0]
        top = _top(uri, json_name)  # never above the export: a file beside it is not of it
        while True:
            target = f"{folder}/{uri}" if folder else uri
            if target in self._names:
                return target, folder
            if (found := self._any_case(target)) is not None:  # a uri in another case
                return found, folder
            if not folder or len(folder) <= len(top):
                return None, root
            folder = folder.rpartition("/")[0]

    def _any_case(self, target: str) -> str | None:
        if self._by_lower is None:
            self._by_lower = {}
            for known in self._names:
                self._by_lower.setdefault(known.lower(), known)
        return self._by_lower.get(target.lower())


def _top(uri: str, json_name: str) -> str:
    """The highest folder a ``uri`` of ``json_name`` may be relative to: the export's root,
    above its first top folder (``media/posts/...`` beside ``your_instagram_activity/``), or
    above the folder the uri starts with when the JSON file is inside it; no limit when neither
    can be told (a layout not known yet)."""
    folders = json_name.split("/")[:-1]
    lowered = [f.lower() for f in folders]
    first = uri.split("/", 1)[0].lower()
    found = [i for i, f in enumerate(lowered) if f in TOP_FOLDERS or f == first]
    return "/".join(folders[: found[0]]) if found else ""
