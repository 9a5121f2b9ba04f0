"""The report's cards: one photo (with its copies) each, what it gives away and where each copy
is. Every file name and metadata string is escaped: a photo named ``<script>.jpg`` is text."""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..locate import split_path
from ..names import kind_of, original_name
from ..shown import visible
from ..types import FileResult
from .cardtext import (
    EXPORT_NAMES,
    LIBRARY_ORIGINS,
    base_name,
    minutes_seconds,
    shortened,
    size_text,
    when_text,
    where_text,
)


@dataclass
class Entry:
    """A match or possible match in the report: its preview and what it gives away."""

    result: FileResult
    thumb: str | None  # base64 JPEG
    face: str | None  # base64 JPEG: the face enlarged, where it is small in the thumbnail
    phash: str | None
    facts: dict[str, Any]


def escape_text(value: object) -> str:
    """Escaped text from metadata (a caption, a camera): control characters and the bidi
    controls that could reverse it or what follows shown as escapes, line breaks kept."""
    return html.escape(visible(str(value), prose=True), quote=True)


def escape_name(path: str) -> str:
    """An escaped file name or path: shown as the terminal shows it (every control character
    and bidi mark as an escape: ``holiday_\\u202egnp.jpg``, not ``holiday_gpj.png``)."""
    return html.escape(visible(path), quote=True)


def card(group: list[Entry]) -> str:
    """One photo's card: its thumbnail, what it gives away, and where each copy is."""
    best = group[0]
    facts = best.facts
    video = facts["kind"] == "video" and isinstance(facts.get("duration"), (int, float))
    if best.thumb:
        shown = "the best frame of the video" if facts["kind"] == "video" else "photo"
        name = escape_name(_shown_name(best))
        img = (
            f'<img src="data:image/jpeg;base64,{best.thumb}" '
            f'alt="{escape_text(shown)} {name}, the face boxed">'
        )
        if best.face:
            img = (
                f'<div class="shots">{img}<img class="face" '
                f'src="data:image/jpeg;base64,{best.face}" alt="the face, enlarged"></div>'
            )
    else:
        img = '<div class="nothumb">no preview</div>'
    score = best.result.score
    rows = [
        ("Similarity", "" if score is None else f"{score:.2f}"),
        # Every copy's: one copy may carry the GPS or the date that another has lost.
        ("Taken", _across(group, when_text, "unknown")),
        ("Location", _across(group, where_text, "none recorded")),
        ("Camera", _across(group, lambda f: f["camera"] or "unknown", "unknown")),
        ("Uploaded from", _across(group, lambda f: f.get("upload_ip") or "", "")),
        ("Other faces", "" if facts["other_faces"] is None else str(facts["other_faces"])),
        ("Video", minutes_seconds(facts["duration"]) + " long" if video else ""),
        ("Size", _across(group, size_text, "")),  # a smaller copy says its own
    ]

    def pages(f: dict[str, Any]) -> str:  # a multi-page TIFF, an animation
        frames = f.get("frames")
        return (
            f"{frames}: only the first was scanned"
            if isinstance(frames, int) and frames > 1
            else ""
        )

    rows.append(("Pages or frames", _across(group, pages, "")))
    rows.append(("Stored", _stored_turned(best.result)))
    if facts.get("appearances"):
        seen = [minutes_seconds(t) for t in facts["appearances"]]
        more = f" and {len(seen) - 20} more times" if len(seen) > 20 else ""
        rows.append(("Seen at", ", ".join(seen[:20]) + more))
    # What the exports say about the photo, from every copy of it (a Takeout copy may carry
    # a description, a Facebook copy the post it was shared in).
    labels = (("album", "Album"), ("title", "Title"), ("description", "Description"))
    talk = (("post", "Post"), ("thread", "Conversation"), ("sender", "Sent by"))
    talk += (("phone_path", "On the phone"),)  # an iPhone backup's file, by its path there
    for key, label in (*labels, *talk):

        def said(f: dict[str, Any], key: str = key) -> str:
            text = f.get(key) or ""
            # A Takeout "title" is the photo's file name: the copies are listed below.
            return "" if key == "title" and kind_of(text) else shortened(text)

        rows.append((label, _across(group, said, "")))
    tagged = _across(group, lambda f: ", ".join((f.get("people") or [])[:20]), "")
    rows.append(("Tagged", tagged))
    dl = "".join(f"<dt>{escape_text(k)}</dt><dd>{escape_text(v)}</dd>" for k, v in rows if v)
    where = "".join(f"<li>{_location_html(e, best.result.status)}</li>" for e in group)
    if len(group) > 1:  # numbered: the facts above name the copies they come from
        listed = f'<p class="where">{len(group)} copies:</p><ol>{where}</ol>'
    else:
        listed = f'<p class="where">Stored at:</p><ul>{where}</ul>'
    return (
        f'<article class="photo {escape_text(best.result.status)}">{img}<div>'
        f"<h3>{escape_name(_shown_name(best))}</h3><dl>{dl}</dl>"
        f"{listed}</div></article>\n"
    )


def _shown_name(entry: Entry) -> str:
    """The photo's name: its file's, or for an iPhone backup's or a Photos library's file
    (stored under a hash or a UUID) the name it had on the phone or was imported under."""
    return original_name(entry.facts) or base_name(entry.result.path)


def _stored_turned(result: FileResult) -> str:
    """What a card says of a photo stored turned without an orientation tag, shown upright."""
    turned = result.turned
    if not turned:
        return ""
    how = "upside down" if turned == 180 else "on its side"
    return f"{how}, with no orientation tag: shown turned {turned}° clockwise"


def _across(group: list[Entry], show: Callable[[dict[str, Any]], str], none: str) -> str:
    """``show`` of each copy's facts, each distinct value once, ``none`` when no copy has one.
    Where the copies differ (one export kept the GPS, another gives an upload address), each
    value names the copies it comes from, by their number in the list of copies."""
    values: dict[str, list[int]] = {}
    for n, entry in enumerate(group, 1):
        value = show(entry.facts)
        if value != none:
            values.setdefault(value, []).append(n)
    if not values:
        return none
    if len(values) == 1 and len(next(iter(values.values()))) == len(group):
        return next(iter(values))  # every copy says the same
    return " · ".join(f"{value} [{_copies(numbers)}]" for value, numbers in values.items())


def _copies(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"copy {numbers[0]}"
    return f"copies {', '.join(map(str, numbers[:-1]))} and {numbers[-1]}"


STATUS_WORDS = {"match": "a match", "possible": "to review"}


def _file_uri(path: str) -> str | None:
    """A ``file:`` link to the file, or to the archive a member is in; None if there is none."""
    on_disk = split_path(path)[0]
    try:
        return Path(on_disk).as_uri() if os.path.isabs(on_disk) else None
    except ValueError:
        return None


def _location_html(entry: Entry, shown_as: str) -> str:
    """Where one copy is (linked: the file, or the archive holding it) and what it says."""
    facts = entry.facts
    text = f"<code>{escape_name(facts['path'])}</code>"
    link = _file_uri(entry.result.path)
    if link is not None:
        text = f'<a href="{html.escape(link, quote=True)}">{text}</a>'
    extra = []
    if facts["export"]:
        extra.append(EXPORT_NAMES.get(facts["export"], facts["export"]))
    if facts["origin"]:
        words = LIBRARY_ORIGINS if facts["export"] == "photos_library" else {}
        extra.append(words.get(facts["origin"], facts["origin"]))
    if entry.result.score is not None:
        extra.append(f"similarity {entry.result.score:.2f}")
    if entry.result.status != shown_as:  # a smaller copy of a match, say
        extra.append(f"on its own: {STATUS_WORDS.get(entry.result.status, entry.result.status)}")
    if facts["has_location"]:
        extra.append("has a location")
    found = entry.result.facts or {}
    for note in (
        found.get("video", {}).get("damaged"),
        found.get("source", {}).get("sidecar_error"),
    ):
        if note:  # what the card's facts may be missing, and why
            extra.append(note)
    if extra:
        text += f' <span class="muted">({escape_text(", ".join(extra))})</span>'
    return text
