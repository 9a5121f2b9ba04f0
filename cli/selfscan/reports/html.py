"""The exposure report: one self-contained HTML file to read in any browser, offline.

Everything is inline (CSS, thumbnails as ``data:`` URIs) and a Content-Security-Policy forbids
loading anything else, so opening the report never touches the network; it needs no JavaScript.
Every file name and metadata string is escaped: a photo named ``<script>.jpg`` is shown as text.

Only matches and possible matches are kept in memory (with a small thumbnail each); every other
result is only counted, errors are kept as one line each.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import FileError
from ..exposure import exposure_facts, group_duplicates
from ..locate import read_many, split_path
from ..names import kind_of
from ..sources import visible
from ..thumbs import THUMB_SIDE, preview
from ..types import FileResult, ScanSummary
from .cardtext import (
    EXPORT_NAMES,
    base_name,
    minutes_seconds,
    now_text,
    shortened,
    size_text,
    source_name,
    when_text,
    where_text,
)

MAX_ERRORS = 5000  # listed in the report; more are counted
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1100px;padding:1rem 1.5rem;color:#1d1d1f;background:#fafafa}
h1{margin:.2rem 0}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
h3{margin:0 0 .4rem;font-size:1rem;word-break:break-all}
table{border-collapse:collapse}th,td{text-align:left;padding:.2rem .8rem .2rem 0;
vertical-align:top}
#errors td{word-break:break-all;font-size:.9rem}
.muted{color:#666}.warn{color:#a40;font-weight:600}
article.photo{display:flex;gap:1rem;background:#fff;border:1px solid #e3e3e3;border-radius:8px;
padding:.8rem;margin:.8rem 0}
article.possible{border-color:#e0b040}
article img,.nothumb{flex:none;width:320px;max-width:40vw;height:auto;border-radius:4px}
.shots{flex:none;display:flex;flex-direction:column;gap:.4rem}
article img.face{width:160px;border:2px solid #ffc400}
.nothumb{height:180px;background:#eee;display:flex;align-items:center;justify-content:center;
color:#888}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:0}
dt{color:#666}dd{margin:0;word-break:break-word;white-space:pre-line}
.where{margin:.5rem 0 .1rem;color:#666}ul,ol{margin:0;padding-left:1.2rem}
code{font-size:.85rem;word-break:break-all}
h3,code,td,dd{unicode-bidi:isolate}
summary{cursor:pointer;font-weight:600}
@media (max-width:640px){article.photo{flex-direction:column}article img{max-width:100%}}
"""


@dataclass
class _Entry:
    result: FileResult
    thumb: str | None  # base64 JPEG
    face: str | None  # base64 JPEG: the face enlarged, where it is small in the thumbnail
    phash: str | None
    facts: dict[str, Any]


def _e(value: object) -> str:
    """Escaped text from metadata (a caption, a camera): control characters and the bidi
    controls that could reverse it or what follows shown as escapes, line breaks kept."""
    return html.escape(visible(str(value), prose=True), quote=True)


def _n(path: str) -> str:
    """An escaped file name or path: shown as the terminal shows it (every control character
    and bidi mark as an escape: ``holiday_\\u202egnp.jpg``, not ``holiday_gpj.png``)."""
    return html.escape(visible(path), quote=True)


class HtmlWriter:
    """Collects matches and possible matches, writes the report on ``close``."""

    def __init__(
        self, stream: IO[str], profile_name: str = "me", threshold: float | None = None
    ) -> None:
        self.stream = stream
        self.profile_name = profile_name
        self.threshold = threshold
        self.entries: list[_Entry] = []
        self.errors: list[tuple[str, str]] = []
        self.error_count = 0
        self.pending: dict[str, list[_Entry]] = {}

    def add(self, result: FileResult) -> None:
        if result.status in ("match", "possible"):
            entry = _Entry(result, None, None, None, exposure_facts(result, self.threshold))
            if split_path(result.path)[1] is None:
                self._preview(entry, None)
            else:  # archive members are read on close, each archive in one pass
                self.pending.setdefault(result.path, []).append(entry)
            self.entries.append(entry)
        elif result.status == "error":
            self.error_count += 1
            if len(self.errors) < MAX_ERRORS:
                self.errors.append((result.path, result.error or "unknown error"))

    def _preview(self, entry: _Entry, data: bytes | None) -> None:
        shot = preview(entry.result.path, entry.result, THUMB_SIDE, self.threshold, data)
        entry.thumb = base64.b64encode(shot.jpeg).decode("ascii") if shot.jpeg else None
        entry.face = base64.b64encode(shot.face).decode("ascii") if shot.face else None
        entry.phash = shot.phash

    def close(self, summary: ScanSummary) -> None:
        for path, found in read_many(self.pending):
            for entry in self.pending[path]:
                if not isinstance(found, FileError):
                    self._preview(entry, found.data)
        self.pending.clear()
        by_result = {id(e.result): e for e in self.entries}
        groups = group_duplicates([(e.result, e.phash) for e in self.entries])
        photos = [[by_result[id(r)] for r in g] for g in groups]
        for group in photos:
            group.sort(key=lambda e: -(e.result.score or 0.0))
        matches = [g for g in photos if g[0].result.status == "match"]
        review = [g for g in photos if g[0].result.status != "match"]
        who = self._who()
        write = self.stream.write  # cards are written one by one: no second copy in memory
        write(
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<meta name="referrer" content="no-referrer">\n'
            f"<title>selfscan: photos of {_e(who)}</title>\n<style>{STYLE}</style>\n</head>\n"
            f"<body>\n<header><h1>Photos of {_e(who)}</h1>\n"
            f'<p class="muted">selfscan report, {_e(now_text())}'
            ". Made on this computer; nothing was sent anywhere.</p></header>\n"
        )
        write(self._summary(matches, review, summary))
        write(self._next(bool(review)))
        write(f'<section id="matches"><h2>Photos of {_e(who)} ({len(matches)})</h2>\n')
        for group in matches:
            write(self._card(group))
        if not matches:
            write('<p class="muted">None found.</p>')
        write("</section>\n")
        if review:
            write(
                f'<section id="review"><h2>Please review ({len(review)})</h2>\n'
                '<p class="muted">These are close to the threshold: they may be you or someone '
                "who looks like you. Look at each one.</p>\n"
            )
            for group in review:
                write(self._card(group))
            write("</section>\n")
        write(self._errors(opened=not matches and not review))
        write("</body>\n</html>\n")
        self.stream.flush()

    def _who(self) -> str:
        return "you" if self.profile_name == "me" else self.profile_name

    def _summary(
        self, matches: list[list[_Entry]], review: list[list[_Entry]], summary: ScanSummary
    ) -> str:
        files = sum(len(g) for g in matches)
        located = sum(any(e.facts["has_location"] for e in g) for g in matches)
        # When the photos were taken: a time that is only when one was posted is left out.
        dates = sorted(
            d
            for g in matches
            for e in g
            if (d := e.facts["taken"]) and e.facts.get("taken_source") != "posted"
        )
        sources: dict[str, int] = {}
        for group in matches:
            for entry in group:
                kind = source_name(entry.facts)
                sources[kind] = sources.get(kind, 0) + 1
        counted = (
            f" ({files} file{'s' if files != 1 else ''}, copies counted once)" if files else ""
        )
        rows = [
            (f"Photos of {self._who()}", f"{len(matches)}{counted}"),
            ("With a location", f"{located} of {len(matches)}"),
            ("Taken", f"{dates[0][:10]} to {dates[-1][:10]}" if dates else "unknown"),
            ("To review", str(len(review))),
            ("Files scanned", str(summary.total)),
            ("Could not be scanned", str(self.error_count)),
        ]
        rows += [(f"Files from {name}", str(n)) for name, n in sorted(sources.items())]
        if self.threshold is not None:
            rows.append(
                (
                    "Similarity",
                    f"from 0 (unrelated people) to 1 (the same picture): a face at "
                    f"{self.threshold:.2f} or more counts as {self._who()}, one a little "
                    "below it is listed to review",
                )
            )
        body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
        note = ""
        if summary.interrupted:
            note = '<p class="warn">The scan was interrupted: this report is incomplete.</p>'
        return f'<section id="summary"><h2>Summary</h2>{note}<table>{body}</table></section>\n'

    def _next(self, review: bool) -> str:
        """What a reader can do with the report, and how to keep it and the index private."""
        steps = (
            ["Look at the photos to review below: they may be you or someone who looks like you."]
            if review
            else []
        )
        steps += [
            "Each photo lists where it is stored; a path with <code>!/</code> is a file inside "
            "an archive (<code>backup.zip!/DCIM/1.jpg</code>: <code>DCIM/1.jpg</code> in "
            "<code>backup.zip</code>).",
            "This report holds pictures of faces, places and dates: keep it private, and delete "
            "it when you are done.",
            "What selfscan stored on this computer (your profile, the faces found in the "
            "scanned files) is listed by <code>selfscan data</code> and erased by "
            "<code>selfscan forget --all</code>.",
        ]
        items = "".join(f"<li>{step}</li>" for step in steps)
        return f'<section id="next"><h2>What you can do</h2><ul>{items}</ul></section>\n'

    def _card(self, group: list[_Entry]) -> str:
        best = group[0]
        facts = best.facts
        video = facts["kind"] == "video" and isinstance(facts.get("duration"), (int, float))
        if best.thumb:
            shown = "the best frame of the video" if facts["kind"] == "video" else "photo"
            img = (
                f'<img src="data:image/jpeg;base64,{best.thumb}" '
                f'alt="{_e(shown)} {_n(base_name(best.result.path))}, the face boxed">'
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
        frames = (best.result.facts.get("photo") or {}).get("frames")
        if isinstance(frames, int) and frames > 1:  # a multi-page TIFF, an animation
            rows.append(("Pages or frames", f"{frames}: only the first was scanned"))
        if facts.get("appearances"):
            seen = [minutes_seconds(t) for t in facts["appearances"]]
            more = f" and {len(seen) - 20} more times" if len(seen) > 20 else ""
            rows.append(("Seen at", ", ".join(seen[:20]) + more))
        # What the exports say about the photo, from every copy of it (a Takeout copy may carry
        # a description, a Facebook copy the post it was shared in).
        labels = (("album", "Album"), ("title", "Title"), ("description", "Description"))
        for key, label in (*labels, ("post", "Post"), ("thread", "Conversation")):

            def said(f: dict[str, Any], key: str = key) -> str:
                text = f.get(key) or ""
                # A Takeout "title" is the photo's file name: the copies are listed below.
                return "" if key == "title" and kind_of(text) else shortened(text)

            rows.append((label, _across(group, said, "")))
        tagged = _across(group, lambda f: ", ".join((f.get("people") or [])[:20]), "")
        rows.append(("Tagged", tagged))
        dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows if v)
        where = "".join(f"<li>{_location_html(e, best.result.status)}</li>" for e in group)
        if len(group) > 1:  # numbered: the facts above name the copies they come from
            listed = f'<p class="where">{len(group)} copies:</p><ol>{where}</ol>'
        else:
            listed = f'<p class="where">Stored at:</p><ul>{where}</ul>'
        return (
            f'<article class="photo {_e(best.result.status)}">{img}<div>'
            f"<h3>{_n(base_name(best.result.path))}</h3><dl>{dl}</dl>"
            f"{listed}</div></article>\n"
        )

    def _errors(self, opened: bool) -> str:
        """The files that could not be scanned, folded away unless they are all there is."""
        if not self.error_count:
            return ""
        rows = "".join(f"<tr><td>{_n(p)}</td><td>{_e(r)}</td></tr>" for p, r in self.errors)
        more = self.error_count - len(self.errors)
        tail = f'<p class="muted">and {more} more</p>' if more > 0 else ""
        return (
            f'<section id="errors"><details{" open" if opened else ""}><summary>'
            f"{self.error_count} "
            f"file{'s' if self.error_count != 1 else ''} could not be scanned</summary>"
            "<table><tr><th>File</th><th>Reason</th></tr>"
            f"{rows}</table>{tail}</details></section>\n"
        )


def _across(group: list[_Entry], show: Callable[[dict[str, Any]], str], none: str) -> str:
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


def _location_html(entry: _Entry, shown_as: str) -> str:
    """Where one copy is (linked: the file, or the archive holding it) and what it says."""
    facts = entry.facts
    text = f"<code>{_n(facts['path'])}</code>"
    link = _file_uri(entry.result.path)
    if link is not None:
        text = f'<a href="{html.escape(link, quote=True)}">{text}</a>'
    extra = []
    if facts["export"]:
        extra.append(EXPORT_NAMES.get(facts["export"], facts["export"]))
    if facts["origin"]:
        extra.append(facts["origin"])
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
        text += f' <span class="muted">({_e(", ".join(extra))})</span>'
    return text
