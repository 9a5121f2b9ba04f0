"""A corpus of hostile and broken inputs, built at test time from the sample photos.

``build_hostile_corpus`` writes every case under a root folder and says what a scan must make of
each one: ``"error"`` (reported with a reason), ``"no_face"`` (decodes, nothing found) or ``"any"``
(anything but a crash: a real photo whose match depends on the profile, an archive whose members
are judged one by one, or a sidecar that is not scanned itself). ``snapshot`` fingerprints the
tree so a test can prove that a scan changed no byte of it; ``Mutator`` deletes and rewrites the
two volatile files while a scan runs.
"""

from __future__ import annotations

import io
import os
import random
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from hashlib import sha256
from pathlib import Path

import numpy as np
from PIL import Image

# Files that ``Mutator`` deletes or rewrites mid-scan: leave them out of before/after snapshots.
VOLATILE = ("volatile/disappears.jpg", "volatile/changes.jpg")

_AAE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
    b'"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0"><dict>'
    b"<key>adjustmentFormatIdentifier</key><string>com.apple.photo</string></dict></plist>\n"
)
_HTML = (
    b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>gone</body></html>\n"
)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _jpeg(im: Image.Image, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, **kwargs)
    return buf.getvalue()


def _png(im: Image.Image, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **kwargs)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` but whose data is a few bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def jpeg_claiming(jpeg: bytes, width: int, height: int) -> bytes:
    """``jpeg`` with its SOF segment rewritten to claim ``width`` x ``height``."""
    data = bytearray(jpeg)
    i = 2
    while i + 4 <= len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5 : i + 9] = struct.pack(">HH", height, width)
            return bytes(data)
        i += 2 + length
    raise ValueError("no SOF segment")


def tiff_bad_strips() -> bytes:
    """A little-endian grayscale TIFF whose single strip lies far beyond the end of the file."""
    entries = [
        (256, 3, 1, 64),  # width
        (257, 3, 1, 64),  # height
        (258, 3, 1, 8),  # bits per sample
        (259, 3, 1, 1),  # no compression
        (262, 3, 1, 1),  # black is zero
        (273, 4, 1, 0x7FFFFFF0),  # strip offset: far past the end
        (277, 3, 1, 1),  # samples per pixel
        (278, 3, 1, 64),  # rows per strip
        (279, 4, 1, 64 * 64),  # strip byte count
    ]
    out = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, kind, count) + packed
    return out + struct.pack("<I", 0)


def damaged_lzw_tiff(im: Image.Image) -> bytes:
    """An LZW TIFF with a stretch of its strip data flipped: libtiff prints a warning itself."""
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "TIFF", compression="tiff_lzw")
    data = bytearray(buf.getvalue())
    for i in range(len(data) // 3, len(data) // 3 + 400):
        data[i] ^= 0x5A
    return bytes(data)


def damaged_jpeg(jpeg: bytes) -> bytes:
    """A JPEG with markers spliced into its scan data: libjpeg prints "Corrupt JPEG data"."""
    middle = len(jpeg) // 2
    return jpeg[:middle] + b"\xff\xd9\x00\x13" * 50 + jpeg[middle + 200 :]


def bmp_bad_header(im: Image.Image) -> bytes:
    """A BMP whose DIB header announces an impossible header size."""
    buf = io.BytesIO()
    im.save(buf, "BMP")
    data = bytearray(buf.getvalue())
    data[14:18] = struct.pack("<I", 0x7FFF)
    return bytes(data)


def gif_without_frames() -> bytes:
    """A GIF with a screen descriptor and a trailer but no image at all."""
    return b"GIF89a" + struct.pack("<HHBBB", 16, 16, 0, 0, 0) + b"\x3b"


def animated_gif(frames: int = 500, side: int = 48) -> bytes:
    """``frames`` flat-colour frames; the first is pure red."""
    images = [Image.new("RGB", (side, side), (255, 0, 0))]
    images += [
        Image.new("RGB", (side, side), (0, (i * 7) % 256, (i * 13) % 256)) for i in range(1, frames)
    ]
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:], duration=20, loop=0)
    return buf.getvalue()


def with_exif(im: Image.Image, orientation: int | None = None, gps: dict | None = None) -> bytes:
    """``im`` as a JPEG with an orientation tag and/or a GPS IFD (written as given)."""
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if gps is not None:
        exif.get_ifd(0x8825).update(gps)
    return _jpeg(im, exif=exif.tobytes())


Entry = tuple[int, int, int, bytes]  # tag, TIFF type, count, packed value


def _ifd(entries: list[Entry], at: int, next_ifd: int = 0) -> bytes:
    """A little-endian TIFF IFD placed at offset ``at``; values over 4 bytes follow it."""
    table = struct.pack("<H", len(entries))
    extra = b""
    data_at = at + 2 + 12 * len(entries) + 4
    for tag, kind, count, payload in entries:
        if len(payload) <= 4:
            table += struct.pack("<HHI", tag, kind, count) + payload.ljust(4, b"\0")
        else:
            table += struct.pack("<HHII", tag, kind, count, data_at + len(extra))
            extra += payload
    return table + struct.pack("<I", next_ifd) + extra


def exif_block(
    ifd0: Sequence[Entry], exif: Sequence[Entry] = (), gps: Sequence[Entry] = ()
) -> bytes:
    """A little-endian APP1 EXIF payload written entry by entry, so that it can hold what Pillow
    refuses to write: wrong types and counts, zero denominators, offsets past the end."""
    subs = [(0x8769, list(exif)), (0x8825, list(gps))]
    subs = [(tag, entries) for tag, entries in subs if entries]
    top = list(ifd0) + [(tag, 4, 1, b"\0\0\0\0") for tag, _ in subs]
    at = 8 + len(_ifd(top, 8))
    pointers = []
    blobs = []
    for tag, entries in subs:
        pointers.append((tag, 4, 1, struct.pack("<I", at)))
        blobs.append(_ifd(entries, at))
        at += len(blobs[-1])
    body = _ifd(sorted(list(ifd0) + pointers), 8) + b"".join(blobs)
    return b"Exif\0\0II*\0" + struct.pack("<I", 8) + body


def garbage_gps_exif(im: Image.Image) -> bytes:
    """A JPEG whose GPS IFD holds zero denominators, wrong counts, a bogus hemisphere and a
    value offset beyond the end of the EXIF block."""
    gps = [
        (1, 2, 2, b"Q\0"),  # latitude ref: neither N nor S
        (2, 5, 3, struct.pack("<6I", 40, 0, 26, 0, 46, 0)),  # zero denominators
        (3, 2, 2, b"E\0"),
        (4, 5, 2, struct.pack("<4I", 1, 1, 2, 1)),  # two rationals where three belong
        (5, 1, 1, b"\x07"),  # altitude ref: neither 0 nor 1
        (6, 5, 1, struct.pack("<2I", 0, 0)),  # 0/0 altitude
        (7, 5, 3, struct.pack("<I", 0xFFFFFF00)),  # time: offset beyond the block
    ]
    return _jpeg(im, exif=exif_block([], gps=gps))


def zip_bytes(members: Iterable[tuple[str, bytes]], deflate: bool = True) -> bytes:
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 2, 3, 4, 6))
            info.compress_type = method
            zf.writestr(info, data)
    return buf.getvalue()


def mark_encrypted(data: bytes, member: str) -> bytes:
    """Set the 'encrypted' flag bit of ``member`` in both its local and central headers (the
    standard library can read such archives but cannot write them)."""
    out = bytearray(data)
    name = member.encode()
    for signature, flag_at, name_len_at, name_at in (
        (b"PK\x03\x04", 6, 26, 30),
        (b"PK\x01\x02", 8, 28, 46),
    ):
        pos = out.find(signature)
        while pos != -1:
            length = struct.unpack("<H", out[pos + name_len_at : pos + name_len_at + 2])[0]
            if bytes(out[pos + name_at : pos + name_at + length]) == name:
                flags = struct.unpack("<H", out[pos + flag_at : pos + flag_at + 2])[0]
                out[pos + flag_at : pos + flag_at + 2] = struct.pack("<H", flags | 0x1)
            pos = out.find(signature, pos + 4)
    return bytes(out)


def tar_with_links(photo: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("photos/good.jpg")
        info.size = len(photo)
        tf.addfile(info, io.BytesIO(photo))
        for name, target, kind in (
            ("photos/escape.jpg", "../../../../etc/passwd", tarfile.SYMTYPE),
            ("photos/absolute.jpg", "/etc/passwd", tarfile.SYMTYPE),
            ("photos/hard.jpg", "/etc/shadow", tarfile.LNKTYPE),
            ("../outside.jpg", "", tarfile.REGTYPE),
        ):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            tf.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    return buf.getvalue()


def build_hostile_corpus(root: Path, samples: dict[str, Path]) -> dict[str, str]:
    """Write every hostile case under ``root`` and return ``{relative path: expected outcome}``.

    Relative paths use ``/`` and, for the non-UTF-8 name, the surrogate escapes of
    ``os.fsdecode``. Cases the platform cannot represent are left out of the result.
    """
    rng = random.Random(1234)
    root.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}
    face = Image.open(samples["yaoming"]).convert("RGB")
    face_jpeg = samples["yaoming"].read_bytes()
    gdp_jpeg = samples["gdp"].read_bytes()
    t1_jpeg = samples["t1"].read_bytes()

    def put(rel: str, data: bytes, outcome: str) -> Path:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        expected[rel] = outcome
        return path

    # Image-level cases: what decode() must make of the bytes.
    put("images/empty.jpg", b"", "error")
    put("images/truncated.jpg", face_jpeg[: len(face_jpeg) * 2 // 5], "error")
    put("images/random.jpg", rng.randbytes(4096), "error")
    put("images/page.png", _HTML, "error")
    put(
        "images/svg.jpg", b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>', "error"
    )
    put("images/text.jpg", b"just some words, not a picture\n" * 20, "error")
    put("images/edits.JPG", _AAE, "error")  # an Apple edit list named like its photo
    put("images/markers_only.jpg", b"\xff\xd8\xff\xd9", "error")
    put("images/one_pixel.png", _png(Image.new("RGB", (1, 1), (200, 180, 160))), "no_face")
    put("images/bomb_header.png", png_claiming(40000, 40000), "error")
    # Few pixels, but a side the detector would walk for minutes
    put("images/thin_bomb.png", png_claiming(1, 200_000_000), "error")
    put("images/huge_sof.jpg", jpeg_claiming(face_jpeg, 65000, 65000), "error")
    put("images/animated_500.gif", animated_gif(500), "no_face")
    put("images/corrupt.gif", gif_without_frames(), "error")
    put("images/cmyk.jpg", _jpeg(face.convert("CMYK")), "any")
    gray16 = Image.fromarray(np.asarray(face.convert("L"), dtype=np.uint16) * 257)
    put("images/gray16.png", _png(gray16), "any")
    palette = face.convert("RGBA").quantize(255)
    put("images/palette_transparent.png", _png(palette, transparency=0), "any")
    put("images/grayscale.jpg", _jpeg(face.convert("L")), "any")
    put("images/bad_orientation.jpg", with_exif(face, orientation=9), "any")
    put("images/garbage_gps.jpg", garbage_gps_exif(face), "any")
    put("images/png_named.jpg", _png(face), "any")
    put("images/truncated.png", _png(face)[:3000], "error")
    put("images/bad_strips.tif", tiff_bad_strips(), "error")
    put("images/damaged_lzw.tif", damaged_lzw_tiff(face), "error")  # libtiff prints about it
    put("images/damaged_scan.jpg", damaged_jpeg(face_jpeg), "any")  # and libjpeg about this
    put("images/bad_header.bmp", bmp_bad_header(face), "error")
    webp = io.BytesIO()
    face.save(webp, "WEBP", quality=80)
    put("images/truncated.webp", webp.getvalue()[: len(webp.getvalue()) // 2], "error")
    big_exif = Image.Exif()
    big_exif[0x010E] = "x" * 60000  # ImageDescription filling most of the APP1 segment
    big_meta = _jpeg(face, exif=big_exif.tobytes(), icc_profile=rng.randbytes(4_000_000))
    put("images/huge_metadata.jpg", big_meta, "any")
    put("images/yaoming.jpg", face_jpeg, "any")
    unreadable = put("images/unreadable.jpg", face_jpeg, "any" if _is_root() else "error")
    unreadable.chmod(0)
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "images/fifo.jpg")
        expected["images/fifo.jpg"] = "any"
    (root / "images/folder.jpg").mkdir()
    put("images/folder.jpg/inside.jpg", gdp_jpeg, "any")

    # File-system cases.
    loop = root / "fs/loop"
    loop.mkdir(parents=True)
    (loop / "again").symlink_to("..", target_is_directory=True)
    put("fs/loop/photo.jpg", gdp_jpeg, "any")
    (root / "fs/dangling.jpg").symlink_to("does-not-exist.jpg")
    expected["fs/dangling.jpg"] = "error"
    try:
        raw = os.path.join(os.fsencode(root / "fs"), b"caf\xe9-latin1.jpg")
        with open(raw, "wb") as fh:
            fh.write(t1_jpeg)
        expected[os.fsdecode(b"fs/caf\xe9-latin1.jpg")] = "any"
    except (OSError, UnicodeError):
        pass
    deep = "/".join(f"{i}" + "d" * 219 for i in range(5))
    put(f"fs/{deep}/{'n' * 240}.jpg", t1_jpeg, "any")
    put("fs/new\nline.jpg", gdp_jpeg, "any")
    put("fs/-rf.jpg", gdp_jpeg, "any")

    # Archives.
    put(
        "archives/traversal.zip",
        zip_bytes(
            [
                ("../../evil.jpg", face_jpeg),
                ("/abs/evil.jpg", face_jpeg),
                ("..\\..\\windows.jpg", face_jpeg),
                ("ok/fine.jpg", gdp_jpeg),
            ]
        ),
        "any",
    )
    put("archives/bomb.zip", zip_bytes([("zeros.jpg", b"\0" * 50_000_000)]), "any")
    level3 = zip_bytes([("deep.jpg", face_jpeg)])
    level2 = zip_bytes([("inner.jpg", gdp_jpeg), ("level3.zip", level3)])
    put("archives/nested.zip", zip_bytes([("inner.zip", level2), ("top.jpg", t1_jpeg)]), "any")
    plain = zip_bytes([("secret.jpg", face_jpeg), ("plain.jpg", gdp_jpeg)], deflate=False)
    put("archives/encrypted.zip", mark_encrypted(plain, "secret.jpg"), "any")
    put("archives/links.tar", tar_with_links(face_jpeg), "any")
    put("archives/truncated.zip", zip_bytes([("a.jpg", face_jpeg)])[:-40], "any")

    # Exports with broken sidecars: the photo must still be scanned.
    takeout = "takeout/Takeout/Google Photos/Photos from 2019"
    put(f"{takeout}/IMG_1234.jpg", gdp_jpeg, "any")
    put(f"{takeout}/IMG_1234.jpg.json", b'{"title": "IMG_1234.jpg", "photoTakenTime": {', "any")
    put(f"{takeout}/IMG_5678.jpg", t1_jpeg, "any")
    put(
        f"{takeout}/IMG_5678.jpg.supplemental-metadata.json",
        b'{"photoTakenTime": {"timestamp": "soon"}, "geoData": {"latitude": "north"}}',
        "any",
    )
    fb = "facebook/your_facebook_activity/posts"
    put(f"{fb}/album/1.json", b"\xff\xfe{garbage\x00\x01[[[", "any")
    put(f"{fb}/your_posts__check_ins__photos_and_videos_1.json", b'{"not": "a list"}', "any")
    put(f"{fb}/media/Album_1/123456.jpg", t1_jpeg, "any")

    # Deleted and rewritten while the scan runs (see Mutator).
    put(VOLATILE[0], gdp_jpeg, "any")
    put(VOLATILE[1], face_jpeg, "any")
    return expected


class Mutator:
    """Deletes ``VOLATILE[0]`` and truncates ``VOLATILE[1]`` to half its size on the
    ``after``-th call; pass it (or call it from) a scan's progress callback. Any arguments are
    accepted and ignored."""

    def __init__(self, root: Path, after: int = 1) -> None:
        self.root = root
        self.after = after
        self.calls = 0
        self.done = False

    def __call__(self, *args: object, **kwargs: object) -> None:
        self.calls += 1
        if self.done or self.calls < self.after:
            return
        self.done = True
        (self.root / VOLATILE[0]).unlink(missing_ok=True)
        changing = self.root / VOLATILE[1]
        if changing.exists():
            data = changing.read_bytes()
            changing.write_bytes(data[: len(data) // 2])


def snapshot(root: Path, ignore: Iterable[str] = ()) -> dict[str, str]:
    """``{relative path: fingerprint}`` for everything under ``root``: the SHA-256 of regular
    files, the target of symlinks (never followed), the kind of anything else. A file this user
    cannot read is fingerprinted as ``unreadable:<size>``."""
    skip = set(ignore)
    out: dict[str, str] = {}
    base = os.fsencode(root)

    def walk(folder: bytes) -> None:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            rel = os.fsdecode(os.path.relpath(entry.path, base)).replace(os.sep, "/")
            if rel in skip:
                continue
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = "symlink:" + os.fsdecode(os.readlink(entry.path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = "dir"
                walk(entry.path)
            elif stat.S_ISREG(st.st_mode):
                try:
                    with open(entry.path, "rb") as fh:
                        out[rel] = sha256(fh.read()).hexdigest()
                except PermissionError:
                    out[rel] = f"unreadable:{st.st_size}"
            else:
                out[rel] = f"special:{stat.S_IFMT(st.st_mode):o}"

    walk(base)
    return out
