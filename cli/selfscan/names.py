"""What a file is, from its name or its first bytes: the kinds selfscan scans, and what a file
that is not an image is instead."""

from __future__ import annotations

import os
import re
from typing import Any

from .types import ItemKind

# Left by --copy-to/--link-to in a folder it made: a scan of a folder above it leaves it out (the
# matches gathered there would be found again, each twice); named on its own, it is scanned.
GATHERED_MARKER = ".selfscan-gathered"

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic"}
    # .hif: Fujifilm's and Canon's HEIF; .heics and .avifs: image sequences (the first image)
    | {".heif", ".hif", ".heics", ".avif", ".avifs"}
)
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".3gp", ".webm", ".mkv"})
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")

SNIFF_BYTES = 262  # enough for a tar header's magic
MAX_JSON_BYTES = 64 * 1024 * 1024  # a Messenger conversation file can be tens of MB


HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)
AVIF_BRANDS = frozenset({b"avif", b"avis"})
VIDEO_BRANDS = frozenset(
    {b"isom", b"iso2", b"mp41", b"mp42", b"qt  ", b"M4V ", b"3gp4", b"3gp5", b"3gp6", b"avc1"}
)
_IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)
# The sizes a BMP's second header has (BITMAPCOREHEADER ... BITMAPV5HEADER): "BM" alone is
# too common a start for text.
_BMP_HEADERS = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_OTHER_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf'\x1c", "a 7z archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"\x1aE\xdf\xa3", "a Matroska/WebM video"),
)


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


def scannable(name: str) -> bool:
    """Whether a file so named is one selfscan scans: a photo, a video or an archive."""
    return kind_of(name) is not None or is_archive_name(name)


# ``takeout-…-003.zip``, Instagram's ``user_20190105_part_2.zip``, also as a browser renames a
# part downloaded again: ``-003 (1).zip``.
_SPLIT_PART = re.compile(
    r"^(?P<stem>.+)(?:-\d{3}|_part_\d{1,3})(?: ?\(\d+\))?(?P<ext>\.zip|\.tgz|\.tar\.gz|\.tar)$",
    re.I,
)


def split_export(path: str) -> tuple[str, str] | None:
    """For a part of a split export (``takeout-20240101T000000Z-001.zip``, Instagram's
    ``user_20190105_part_1.zip``): the export's path without its part number, lower-cased,
    and its extension; None for any other archive."""
    found = _SPLIT_PART.match(os.path.basename(path))
    if found is None:
        return None
    stem = os.path.join(os.path.dirname(path), found["stem"]).lower()
    return stem, found["ext"].lower()


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
    if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_HEADERS:
        return "image"
    if head[4:8] == b"ftyp":
        return "image" if head[8:12] in HEIF_BRANDS | AVIF_BRANDS else "video"
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "video"
    return None


def media_kind(head: bytes) -> ItemKind | None:
    """``image`` or ``video`` when a file's first bytes say it is one, else None."""
    found = sniff(head)
    return found if found in ("image", "video") else None  # type: ignore[return-value]


def brands(head: bytes) -> set[bytes]:
    """Major and compatible brands of an ISO-BMFF ``ftyp`` box at the start of ``head``."""
    if head[4:8] != b"ftyp":
        return set()
    size = min(int.from_bytes(head[:4], "big"), len(head))
    return {head[8:12]} | {head[i : i + 4] for i in range(16, size - 3, 4)}


def magic_kind(head: bytes) -> str | None:
    """The image format the first bytes announce (``JPEG``, ``PNG``...), or None."""
    for magic, name in _IMAGE_MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    found = brands(head)
    if found & AVIF_BRANDS:  # (before HEIF: an AVIF lists HEIF's mif1 too)
        return "AVIF"
    if found & HEIF_BRANDS:
        return "HEIF"
    return None


def unidentified_reason(head: bytes) -> str:
    """Why a file that no image reader recognised is not an image, from its first bytes."""
    if not head:
        return "empty file (0 bytes)"
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "not an image: the file is HTML text"
    if lowered.startswith(b"<svg") or (lowered.startswith(b"<?xml") and b"<svg" in lowered):
        return "not an image: the file is SVG text (vector drawings are not supported)"
    if lowered.startswith(b"<?xml"):  # an Apple .AAE edit list, a property list, a sidecar
        return "not an image: the file is XML text"
    for magic, what in _OTHER_MAGIC:
        if head.startswith(magic):
            return f"not an image: the file is {what}"
    if brands(head) & VIDEO_BRANDS:
        return "not an image: the file is an MP4/QuickTime video"
    kind = magic_kind(head)
    if kind:
        return f"damaged or truncated {kind} file: it cannot be read"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and all(c.isprintable() or c in "\t\r\n" for c in text):
        return "not an image: the file is plain text"
    return "not a supported image (unrecognised or corrupt data)"


def original_name(source: dict[str, Any]) -> str | None:
    """The name a file had before an iPhone backup or a Mac Photos library stored it under a
    hash or a UUID (``IMG_0001.HEIC``), from its ``facts["source"]``; None for other files."""
    export = source.get("export")
    name = source.get("phone_path" if export == "iphone_backup" else "title")
    if export not in ("iphone_backup", "photos_library") or not isinstance(name, str):
        return None
    return name.rpartition("/")[2] or None
