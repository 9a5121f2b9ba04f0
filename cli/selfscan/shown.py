"""Names and metadata as a person sees them: safe to print in a terminal or a report.

A file name may hold bytes that are no UTF-8, or control characters that would move the cursor,
recolour or retitle a terminal, or reverse what follows them on screen; a caption from an export
may too. What reaches the screen, a report or a copy's name shows them as escapes instead.
"""

from __future__ import annotations

import re

# Lone surrogates that are no undecodable byte of a file name (those are U+DC80-U+DCFF): half a
# character, as JSON's ``\\ud83d`` escapes leave when text was cut inside an emoji.
_LONE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def printable(path: str) -> str:
    """``path`` safe to print anywhere: undecodable bytes of a file name become ``\\xNN``, a
    lone surrogate ``\\uNNNN``."""
    path = _LONE.sub(shown_char, path)
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


# C0 and C1 control characters and DEL (printed as they are, a file name's would move the cursor,
# recolour or retitle a terminal), and the invisible bidirectional controls that reorder what
# follows them on screen (U+202E shows "gpj.\u202eexe.jpg" as "gpj.gpj.exe").
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# In prose (a description, a caption): line breaks and tabs are text, and the bidi marks (LRM,
# RLM, ALM) are how right-to-left writing places punctuation; the embeddings, overrides and
# isolates are still shown, as they can reverse a name or what follows it.
_PROSE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown_char(match: re.Match[str]) -> str:
    """A control character as it is shown: ``\\xNN``, or ``\\uNNNN`` beyond Latin-1."""
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, prose: bool = False) -> str:
    """``text`` (a name, or with ``prose`` free text from metadata) as a person should see it
    in a report: undecodable name bytes and control characters as escapes, never acted on."""
    return (_PROSE_CONTROL if prose else CONTROL).sub(shown_char, printable(text))
