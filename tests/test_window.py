"""Small faces are embedded from a window of the full-resolution photo: the window's pixels are
exactly the full decode's, in every EXIF orientation, and a face embedded from it is the face
embedded from the whole photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfscan import analyze, images
from selfscan.analyze import PLANS
from selfscan.faces import FaceAnalyzer
from selfscan.geometry import landmark_span
from selfscan.images import decode, decode_window
from selfscan.types import Job
from tests.imagegen import stored_jpeg

SIZE = (1600, 1200)  # upright


@pytest.fixture(scope="module")
def scene(samples: dict[str, Path]) -> Image.Image:
    """A textured upright picture (the group photo stretched), so that any misplaced pixel
    shows."""
    return Image.open(samples["t1"]).convert("RGB").resize(SIZE)


def _stored(upright: Image.Image, orientation: int, **save: object) -> bytes:
    return stored_jpeg(upright, orientation, quality=90, **save)


def _corners(w: int, h: int, side: int = 300) -> list[tuple[int, int, int, int]]:
    return [(20, 30, 20 + side, 30 + side), (w - side - 10, 15, w - 10, 15 + side),
            (25, h - side - 5, 25 + side, h - 5), (w - side, h - side, w, h)]  # fmt: skip


def _check_windows(data: bytes, full: np.ndarray) -> int:
    """Every corner window's pixels are the full decode's; returns how many were decoded as a
    window (not the whole image)."""
    h, w = full.shape[:2]
    windowed = 0
    for box in _corners(w, h):
        got = decode_window(data, box)
        assert (got.width, got.height, got.scale) == (w, h, 1.0)
        x0, y0 = (int(v) for v in got.origin)
        if got.origin == (0.0, 0.0) and got.pixels.shape == full.shape:
            assert np.array_equal(got.pixels, full)
            continue
        windowed += 1
        assert (x0, y0, x0 + got.pixels.shape[1], y0 + got.pixels.shape[0]) == box
        assert np.array_equal(got.pixels, full[box[1] : box[3], box[0] : box[2]]), box
    return windowed


@pytest.mark.parametrize("orientation", range(1, 9))
def test_window_pixels_are_the_full_decodes_in_every_orientation(
    scene: Image.Image, orientation: int
) -> None:
    data = _stored(scene, orientation)
    full = decode(data)
    assert full.orientation == orientation and full.pixels.shape[:2] == SIZE[::-1]
    # A window in the stored image's first rows is decoded alone; one near its last rows whole.
    assert 1 <= _check_windows(data, full.pixels) < 4


@pytest.mark.parametrize("kind", ["grey", "progressive", "subsampled 4:4:4", "motion photo"])
def test_window_of_other_jpegs(scene: Image.Image, kind: str) -> None:
    im = scene.convert("L") if kind == "grey" else scene
    save = {"progressive": {"progressive": True}, "subsampled 4:4:4": {"subsampling": 0}}
    data = _stored(im, 1, **save.get(kind, {}))
    if kind == "motion photo":  # a video after the JPEG's end
        data += b"\x00\x00\x00\x18ftypmp42" + bytes(4000)
    assert _check_windows(data, decode(data).pixels) >= 1


def test_formats_without_a_window_decode_whole(scene: Image.Image, tmp_path: Path) -> None:
    png = tmp_path / "scene.png"
    scene.save(png)
    cmyk = tmp_path / "cmyk.jpg"
    scene.convert("CMYK").save(cmyk, quality=90)
    for path in (png, cmyk):
        got = decode_window(str(path), (10, 10, 200, 200))
        assert got.origin == (0.0, 0.0)
        assert np.array_equal(got.pixels, decode(str(path)).pixels), path.name


def test_a_damaged_jpeg_still_says_why(scene: Image.Image) -> None:
    data = _stored(scene, 1)
    with pytest.raises(images.FileError, match="truncated"):
        decode_window(data[: len(data) // 2], (10, 10, 200, 200))


def test_small_faces_come_from_a_window_large_ones_from_the_reduced_photo(
    samples: dict[str, Path], analyzer: FaceAnalyzer, tmp_path: Path, monkeypatch
) -> None:
    """A 12 MP photo with his face about 55 px tall near the top (small at half size) and the
    team photo larger below it: the small face is embedded from a window of the top rows, alike
    to the full decode's embedding, and the large faces from the half-size decode."""
    frame = Image.new("RGB", (4032, 3024), (92, 110, 84))
    face = Image.open(samples["yaoming"]).convert("RGB")
    frame.paste(face.resize((90, round(90 * face.height / face.width))), (1800, 200))
    team = Image.open(samples["t1"]).convert("RGB")
    frame.paste(team.resize((1900, round(1900 * team.height / team.width))), (400, 1000))
    path = tmp_path / "frame.jpg"
    frame.save(path, quality=92)

    image = decode(str(path), *_default_decode())
    faces = analyzer.detect(image, PLANS["default"][1])
    spans = [landmark_span(f.landmarks) for f in faces]
    small = [i for i, s in enumerate(spans) if 8 <= s < analyze.REREAD_SPAN * image.scale]
    large = [i for i, s in enumerate(spans) if s >= analyze.REREAD_SPAN * image.scale]
    assert len(small) == 1 and len(large) >= 5, spans

    windows: list[images.DecodedImage] = []

    def window(source: str, box: tuple[float, ...], reduced: object) -> images.DecodedImage:
        assert reduced is image
        got = decode_window(source, box)
        windows.append(got)
        return got

    monkeypatch.setattr(analyze, "decode_window", window)
    monkeypatch.setattr(analyze, "_analyzer", analyzer)
    done, clarity = analyze._embedded(str(path), image, faces, "default")
    assert len(windows) == 1
    assert windows[0].pixels.shape[0] < 600 and windows[0].origin[1] > 100  # rows near the top
    whole, whole_clarity = analyzer.embed_scored(decode(str(path)), faces)
    reduced = analyzer.embed_scored(image, faces)[0]
    (i,) = small
    assert float(done[i].embedding @ whole[i].embedding) > 0.9999
    assert clarity[i] == pytest.approx(whole_clarity[i], rel=1e-3)
    for j in large:
        assert float(done[j].embedding @ reduced[j].embedding) > 0.9999
    assert [f.box for f in done] == [f.box for f in faces]
    assert np.array_equal(done[i].landmarks, faces[i].landmarks)


def _default_decode() -> tuple[int | None, float]:
    return PLANS["default"][0], analyze.DECODE_FRACTION["default"]


@pytest.mark.parametrize("fmt", ["PNG", "HEIF", "WEBP"])
def test_formats_decoded_whole_keep_their_pixels_for_the_window(
    scene: Image.Image, tmp_path: Path, fmt: str
) -> None:
    """A format without reduced decoding is decoded whole and halved: the small faces' window
    is then made from those pixels, the same as decoding the photo again."""
    if fmt == "HEIF":
        pytest.importorskip("pillow_heif").register_heif_opener()
    path = tmp_path / f"scene.{fmt.lower()}"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored on its side
    scene.save(path, fmt, exif=exif.tobytes(), **({"lossless": True} if fmt == "WEBP" else {}))
    assert decode(str(path), 600).whole is None  # kept only when asked for
    image = decode(str(path), 600, keep_whole=True)
    assert image.scale == 2.0 and image.whole is not None
    got = decode_window(str(path), (10, 10, 200, 200), image)
    again = decode(str(path))
    assert (got.width, got.height, got.orientation) == (again.width, again.height, 6)
    assert (got.width, got.height) == SIZE[::-1]  # upright: the scene turned
    assert np.array_equal(got.pixels, again.pixels)
    assert decode(_stored(scene, 6), 600, keep_whole=True).whole is None  # a JPEG: at half size


def test_a_photo_decoded_whole_is_decoded_once(
    samples: dict[str, Path], analyzer: FaceAnalyzer, tmp_path: Path, monkeypatch
) -> None:
    """A 12 MP PNG with his face about 55 px tall: found in the halved pixels, embedded from
    the full-resolution ones, and the file decoded once for both."""
    frame = Image.new("RGB", (4032, 3024), (92, 110, 84))
    face = Image.open(samples["yaoming"]).convert("RGB")
    frame.paste(face.resize((90, round(90 * face.height / face.width))), (1800, 2600))
    path = tmp_path / "frame.png"
    frame.save(path, compress_level=1)
    loads: list[object] = []
    real = images._load

    def counted(*args: object, **kwargs: object) -> object:
        loads.append(args[0])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(images, "_load", counted)
    monkeypatch.setattr(analyze, "_analyzer", analyzer)
    st = path.stat()
    done = analyze.run_job(Job("image", "default", st.st_size, st.st_mtime_ns, str(path)))
    assert done.error is None and len(done.faces) == 1
    (found,) = done.faces
    assert found.embedding is not None and found.height < 80
    assert len(loads) == 1
    sharp = analyzer.embed(decode(str(path)), list(done.faces))[0]
    assert float(found.embedding @ sharp.embedding) > 0.9999  # as from the full decode
