"""Fuzzing: damaged copies of real photos must decode or fail with FileError, nothing else."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from selfscan.errors import FileError
from selfscan.facts import KEYS, photo_facts
from selfscan.images import decode
from selfscan.types import DecodedImage
from tests.hostile import garbage_gps_exif

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _encode(im: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


@pytest.fixture(scope="module")
def bases(samples: dict[str, Path]) -> list[bytes]:
    """Small real files in every format the decoder meets, some with rich EXIF."""
    face = Image.open(samples["yaoming"]).convert("RGB")
    small = face.resize((96, 118))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Canon"
    exif.get_ifd(0x8769)[0x9003] = "2019:07:14 18:03:22"
    exif.get_ifd(0x8825).update({1: "N", 2: (40.0, 26.0, 46.3), 3: "W", 4: (79.0, 58.0, 56.0)})
    out = [
        samples["yaoming"].read_bytes(),
        _encode(small, "JPEG", exif=exif.tobytes(), progressive=True),
        garbage_gps_exif(small),
        _encode(small, "PNG", exif=exif.tobytes()),
        _encode(small.convert("P"), "PNG", transparency=0),
        _encode(small, "GIF"),
        _encode(small, "WEBP", quality=70, exif=exif.tobytes()),
        _encode(small, "TIFF", compression="tiff_lzw"),
        _encode(small, "TIFF"),
        _encode(small, "BMP"),
        _encode(small.convert("CMYK"), "JPEG"),
    ]
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        out.append(_encode(small, "HEIF", exif=exif.tobytes()))
    except ImportError:
        pass
    return out


@st.composite
def mutations(draw: st.DrawFn, bases: list[bytes]) -> bytes:
    """A base file with one to four bit flips, overwrites, insertions, deletions, truncations or
    splices with another file; half the positions fall in the first 2 KB, where headers live."""
    data = bytearray(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        limit = len(data) if draw(st.booleans()) else min(len(data), 2048)
        pos = draw(st.integers(0, limit - 1))
        op = draw(st.sampled_from(["flip", "overwrite", "insert", "delete", "truncate", "splice"]))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "overwrite":
            blob = draw(st.binary(min_size=1, max_size=8))
            data[pos : pos + len(blob)] = blob
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 256))]
        elif op == "truncate":
            del data[pos:]
        else:
            other = draw(st.sampled_from(bases))
            start = draw(st.integers(0, len(other) - 1))
            data[pos:] = other[start:]
    return bytes(data)


def _check_decode(data: bytes) -> None:
    try:
        image = decode(data, 320)
    except FileError as exc:
        assert isinstance(exc.reason, str) and exc.reason
        return
    assert isinstance(image, DecodedImage)
    assert image.pixels.ndim == 3 and image.pixels.shape[2] == 3
    assert image.width >= 1 and image.height >= 1 and image.scale > 0


def _check_facts(data: bytes) -> None:
    facts = photo_facts(data)
    assert set(facts) == set(KEYS)
    gps = facts["gps"]
    if gps is not None:
        assert -90 <= gps["latitude"] <= 90 and -180 <= gps["longitude"] <= 180


def test_fuzz_decode(bases: list[bytes]) -> None:
    @FUZZ
    @given(mutations(bases))
    def run(data: bytes) -> None:
        _check_decode(data)

    run()


def test_fuzz_facts(bases: list[bytes]) -> None:
    @FUZZ
    @given(mutations(bases))
    def run(data: bytes) -> None:
        _check_facts(data)

    run()


def test_fuzz_raw_bytes() -> None:
    @FUZZ
    @given(st.binary(max_size=512))
    def run(data: bytes) -> None:
        _check_decode(data)
        _check_facts(data)

    run()


def test_every_base_is_valid(bases: list[bytes]) -> None:
    for data in bases:
        assert decode(data, 320).pixels.size
        assert photo_facts(data)["error"] is None
