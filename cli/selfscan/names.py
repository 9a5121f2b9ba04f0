"""What a file is, from its name or its first bytes: the kinds selfscan scans."""

from __future__ import annotations

import os

from .types import ItemKind

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic"}
    | {".heif", ".avif"}
)
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".3gp", ".webm", ".mkv"})
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")

SNIFF_BYTES = 262  # enough for a tar header's magic
MAX_JSON_BYTES = 64 * 1024 * 1024  # a Messenger conversation file can be tens of MB


def kind_of(name: str) -> ItemKind | None:
    """``image`` or ``video`` for a supported file extension, else None."""
    ext = os.path.splitext(name)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    return None


def is_archive_name(name: str) -> bool:
    """True for a ``.zip``, ``.tar``, ``.tar.gz`` or ``.tgz`` file name."""
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def sniff(head: bytes) -> str | None:
    """What the first bytes of a file say it is: ``zip``, ``tar`` (also gzip/bzip2/xz streams,
    assumed to hold a tar), ``image``, ``video``, or None."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")) or head[257:262] == b"ustar":
        return "tar"
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")) or head[
        :4
    ] in (b"II*\x00", b"MM\x00*"):
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    if head[4:8] == b"ftyp":
        return "image" if head[8:12] in _HEIF_BRANDS else "video"
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "video"
    return None


_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
_HEIF_BRANDS = _HEIF_BRANDS | {b"avif", b"avis"}
