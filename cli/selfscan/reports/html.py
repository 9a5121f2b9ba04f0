"""The exposure report: one self-contained HTML file to read in any browser, offline.

Everything is inline (CSS, thumbnails as ``data:`` URIs) and a Content-Security-Policy forbids
loading anything else, so opening the report never touches the network; it needs no JavaScript.
Every file name and metadata string is escaped: a photo named ``<script>.jpg`` is shown as text.

Only matches and possible matches are kept in memory (with a small thumbnail each); every other
result is only counted, errors are kept as one line each. The cards are made in ``cards``.
"""

from __future__ import annotations

import base64
from typing import IO

from ..errors import FileError
from ..exposure import exposure_facts
from ..grouping import group_duplicates
from ..locate import read_many, split_path
from ..moments import captured
from ..thumbs import THUMB_SIDE, preview
from ..types import FileResult, ScanSummary
from .cards import Entry, card
from .cards import escape_name as _n
from .cards import escape_text as _e
from .cardtext import now_text, source_name

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


class HtmlWriter:
    """Collects matches and possible matches, writes the report on ``close``."""

    def __init__(
        self, stream: IO[str], profile_name: str = "me", threshold: float | None = None
    ) -> None:
        self.stream = stream
        self.profile_name = profile_name
        self.threshold = threshold
        self.entries: list[Entry] = []
        self.errors: list[tuple[str, str]] = []
        self.error_count = 0
        self.pending: dict[str, list[Entry]] = {}

    def add(self, result: FileResult) -> None:
        if result.status in ("match", "possible"):
            entry = Entry(result, None, None, None, exposure_facts(result, self.threshold))
            if split_path(result.path)[1] is None:
                self._preview(entry, None)
            else:  # archive members are read on close, each archive in one pass
                self.pending.setdefault(result.path, []).append(entry)
            self.entries.append(entry)
        elif result.status == "error":
            self.error_count += 1
            if len(self.errors) < MAX_ERRORS:
                self.errors.append((result.path, result.error or "unknown error"))

    def _preview(self, entry: Entry, data: bytes | None) -> None:
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
            group.sort(key=_lead_order)
        matches = [g for g in photos if g[0].result.status == "match"]  # a match leads
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
            write(card(group))
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
                write(card(group))
            write("</section>\n")
        write(self._errors(opened=not matches and not review))
        write("</body>\n</html>\n")
        self.stream.flush()

    def _who(self) -> str:
        return "you" if self.profile_name == "me" else self.profile_name

    def _summary(
        self, matches: list[list[Entry]], review: list[list[Entry]], summary: ScanSummary
    ) -> str:
        files = sum(len(g) for g in matches)
        located = sum(any(e.facts["has_location"] for e in g) for g in matches)
        # When the photos were taken: a time that is only when one was posted or saved is not.
        dates = sorted(
            d
            for g in matches
            for e in g
            if (d := e.facts["taken"]) and e.facts.get("taken_source") not in ("posted", "saved")
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
            ("Taken", _span(dates[0][:10], dates[-1][:10]) if dates else "unknown"),
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


def _lead_order(entry: Entry) -> tuple[bool, bool, bool, bool, int, float]:
    """Which copy of a photo leads its card: a match (a group holding one is a photo of you),
    then a still before a Live Photo's video, then a copy that keeps its EXIF capture time (the
    camera's original, not a messaging app's re-share), with its zone, the largest, then the
    most similar."""
    result = entry.result
    taken = captured(result)  # DateTimeOriginal, as report grouping reads it
    dated, zoned = taken is not None, taken is not None and taken.instant is not None
    video = bool(result.facts.get("video"))
    pixels = (result.width or 0) * (result.height or 0)
    return (result.status != "match", video, not dated, not zoned, -pixels, -(result.score or 0.0))


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first} to {last}"
