"""Facebook and Instagram: the JSON files that list media, and the facts around each media file."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from .exportjson import (
    as_geo,
    as_local_time,
    as_number,
    as_text,
    as_timestamp,
    camera_name,
    load_json,
)

_MAX_DEPTH = 64

_IG_FILES = {
    "stories.json": "story",
    "archived_posts.json": "archived_post",
    "reels.json": "reel",
    "igtv_videos.json": "reel",
    "personal_information.json": "profile_photo",
    "profile_photos.json": "profile_photo",
}


# The top folders of a Facebook or Instagram export: what is above the first of them is the
# export's root (an export unzipped into a folder of other things, or two side by side).
TOP_FOLDERS = frozenset(
    {"posts", "messages", "photos_and_videos", "content", "your_instagram_activity"}
    | {"your_activity_across_facebook", "your_facebook_activity"}
    | {"groups", "comments_and_reactions"}
)


def export_root(path: str) -> str:
    """The root of the Facebook/Instagram export a file of it is in (``""`` when the export is
    the whole folder or archive): the path above its first top folder, else its folder."""
    parts = path.replace("\\", "/").split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() in TOP_FOLDERS:
            return "/".join(parts[:i])
    return "/".join(parts[:-1])


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
    if base == "archived_stories.json":
        return "facebook", "story"
    if re.fullmatch(r"your_posts.*\.json", base):
        return "facebook", "post"
    if re.fullmatch(r"group_posts.*\.json", base):
        return "facebook", "group_post"  # a photo posted in a group
    if re.fullmatch(r"other_people.s_posts_to_your_timeline.*\.json", base):
        return "facebook", "timeline_post"  # a photo someone else posted on your timeline
    if re.fullmatch(r"comments(_\d+)?\.json", base) and "comments_and_reactions" in parts:
        return "facebook", "comment"  # a photo attached to a comment
    if re.fullmatch(r"posts_\d+\.json", base):
        return "instagram", "post"
    if base in _IG_FILES:
        return "instagram", _IG_FILES[base]
    if base == "media.json":  # Instagram's export before 2020, at the root of the export
        return "instagram", "media"
    return None


# Messenger's end-to-end encrypted chats (every personal chat since 2024) are not in Facebook's
# export: the Messenger app's "download secure storage data" gives a JSON file per conversation
# beside a ``media`` folder, under names of no fixed form, so they are told by what they hold:
# ``{"participants": [names], "threadName", "messages": [{"senderName", "timestamp" (ms),
# "text", "media": [{"uri"}], ...}]}``. ``parse_social`` takes them with this origin.
SECURE_MESSAGE = "secure_message"


def is_secure_conversation(obj: Any) -> bool:
    """Whether a JSON document is a conversation of Messenger's end-to-end encrypted download."""
    if not isinstance(obj, dict) or not isinstance(obj.get("messages"), list):
        return False
    if not isinstance(obj.get("participants"), list) or "threadName" not in obj:
        return False
    return all("senderName" in m for m in _dicts(obj["messages"]))


@dataclass(frozen=True)
class _Context:
    album: str | None = None
    post: str | None = None
    thread: str | None = None
    sender: str | None = None  # who sent the message a photo came in
    taken: int | None = None
    geo: dict[str, float | None] | None = None
    place: str | None = None
    people: tuple[str, ...] = ()


def parse_social(
    data: bytes | str, origin: str
) -> tuple[list[tuple[str, dict[str, Any]]], str | None]:
    """Every media ``uri`` in one Facebook/Instagram JSON file with its facts, and an error.

    Walks the whole document, so layout changes between export versions keep working: any object
    with a ``uri`` is a media entry; the album, post, message and conversation around it give it
    context. ``origin`` comes from ``social_kind``. Never raises.
    """
    obj, error = load_json(data)
    if error is not None:
        return [], error
    if origin == "media":
        return _old_instagram(obj), None
    if origin == SECURE_MESSAGE and not is_secure_conversation(obj):
        return [], None  # a JSON file of something else beside a media folder
    context = _Context()
    if isinstance(obj, dict):
        if origin == "album":
            context = replace(context, album=as_text(obj.get("name"), True))
        elif origin == "message":
            context = replace(context, thread=as_text(obj.get("title"), True))
        elif origin == SECURE_MESSAGE:
            context = replace(context, thread=as_text(obj.get("threadName"), True))
    found: list[tuple[str, dict[str, Any]]] = []
    _collect(obj, context, found, 0)
    if origin == SECURE_MESSAGE:  # a photo sent in a message, as in Facebook's own export
        for _, facts in found:
            facts["origin"] = "message"
    return found, None


# The lists of Instagram's export before 2020 (media.json): {"photos": [{"path", "caption",
# "taken_at", "location"}], "videos": [...], ...}, ``path`` relative to the export's root.
_OLD_IG_LISTS = {
    "photos": "post",
    "videos": "post",
    "stories": "story",
    "profile": "profile_photo",
    "direct": "message",  # the photos sent in direct messages
}


def _old_instagram(obj: Any) -> list[tuple[str, dict[str, Any]]]:
    """The media of an old Instagram ``media.json``; nothing for any other file of that name."""
    found: list[tuple[str, dict[str, Any]]] = []
    if not isinstance(obj, dict):
        return found
    for key, origin in _OLD_IG_LISTS.items():
        for entry in _dicts(obj.get(key)):
            path = entry.get("path")
            if not isinstance(path, str) or not path.strip() or "://" in path:
                continue
            facts = {
                "album": None,
                "title": None,
                "description": None,
                # Despite its name, when it was posted or sent: Instagram's time of upload.
                "taken_time": (posted := as_timestamp(entry.get("taken_at"))),
                "posted_time": posted,
                "geo": None,
                "place": as_text(entry.get("location"), True),
                "post": as_text(entry.get("caption"), True),
                "thread": None,
                "sender": None,
                "origin": origin,
            }
            found.append((path.strip(), facts))
    return found


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
        geo = next((g for p in places if (g := as_geo(p.get("coordinate")))), None)
        name = next((n for p in places if (n := as_text(p.get("name"), True))), None)
        return replace(
            context,
            post=next((t for v in texts if (t := as_text(v, True))), None) or context.post,
            taken=as_timestamp(node.get("timestamp")) or context.taken,
            geo=geo or context.geo,
            place=name or context.place,
            people=_tagged(node) or context.people,
        )
    if "timestamp_ms" in node:  # a Messenger / Instagram direct message
        millis = as_number(node.get("timestamp_ms"))
        return replace(
            context,
            post=as_text(node.get("content"), True),
            sender=as_text(node.get("sender_name"), True),
            taken=as_timestamp(millis / 1000 if millis is not None else None) or context.taken,
        )
    if "senderName" in node and "timestamp" in node:  # a message of a secure conversation
        sent = as_number(node.get("timestamp"))
        if sent is not None and sent > 1e11:  # milliseconds (seconds that large are past 5000)
            sent /= 1000
        return replace(
            context,
            post=as_text(node.get("text"), True),
            sender=as_text(node.get("senderName"), True),
            taken=as_timestamp(sent) or context.taken,
        )
    if isinstance(node.get("media"), list):  # an Instagram post with one or more media
        return replace(
            context,
            post=as_text(node.get("title"), True) or context.post,
            taken=as_timestamp(node.get("creation_timestamp")) or context.taken,
        )
    return context


def _tagged(node: dict) -> tuple[str, ...]:
    """The people tagged in a Facebook post or photo (``"tags": [{"name": ...}]``)."""
    names = (as_text(t.get("name"), True) for t in _dicts(node.get("tags")))
    return tuple(dict.fromkeys(n for n in names if n))


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _media_facts(node: dict, context: _Context) -> dict[str, Any]:
    metadata = node.get("media_metadata")
    exif: list[dict] = []
    if isinstance(metadata, dict):
        for sub in metadata.values():
            if isinstance(sub, dict):
                exif.extend(_dicts(sub.get("exif_data")))
                exif.append(sub)  # older exports: latitude/longitude right in photo_metadata
    taken = next((t for e in exif if (t := as_timestamp(e.get("taken_timestamp")))), None)
    posted = as_timestamp(node.get("creation_timestamp")) or context.taken  # posted or sent
    # Facebook keeps the address the photo was uploaded from, and the camera it names.
    upload_ip = next((ip for e in exif if (ip := as_text(e.get("upload_ip")))), None)
    named = (
        camera_name(as_text(e.get("camera_make")), as_text(e.get("camera_model"))) for e in exif
    )
    camera = next((c for c in named if c), None)
    # Instagram copies the photo's own EXIF time (no zone): when it was taken, not posted.
    local = next((t for e in exif if (t := as_local_time(e.get("date_time_original")))), None)
    geo = next((g for e in exif if (g := as_geo(e))), None)
    place = node.get("place")
    if geo is None and isinstance(place, dict):
        geo = as_geo(place.get("coordinate"))
    # A post's check-in goes with its own coordinates: with the photo's own position, the
    # check-in's name alone (placed at other coordinates) would misplace it.
    place_name = context.place if geo is None or context.geo is None else None
    return {
        "album": context.album,
        "title": as_text(node.get("title"), True),
        "description": as_text(node.get("description"), True),
        "taken_time": taken or posted,
        "posted_time": posted,
        "taken_local": local,
        "upload_ip": upload_ip,
        "camera": camera,
        "geo": geo or context.geo,
        "place": place_name,
        "post": context.post,
        "thread": context.thread,
        "sender": context.sender,
        "people": list(dict.fromkeys((*context.people, *_tagged(node)))),
        "captured": taken is not None or local is not None,  # not only when it was posted
    }


def social_order(entry: tuple[str, str, str]) -> tuple[int, str]:
    """Read order of social JSON files: albums before posts, so an album names its photos."""
    order = ("album", "post", "story", "archived_post", "reel", "profile_photo", "video")
    origin = entry[2]
    return (order.index(origin) if origin in order else len(order), entry[0])
