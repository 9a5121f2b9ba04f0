"""Decoding: every hostile input gets a specific reason, real photos decode upright and map back."""

from __future__ import annotations

import contextlib
import io
import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfscan import imagefile, images, jpeg, quiet
from selfscan.errors import FileError
from selfscan.images import decode, open_for_thumbnail
from tests.hostile import (
    VOLATILE,
    Mutator,
    build_hostile_corpus,
    damaged_jpeg,
    damaged_lzw_tiff,
    jpeg_claiming,
    png_claiming,
    snapshot,
)
from tests.imagegen import STORE_OPS, stored_jpeg

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# Corpus file -> a fragment of the FileError reason, or None when it must decode.
CASES: dict[str, str | None] = {
    "images/empty.jpg": "empty file",
    "images/truncated.jpg": "truncated",
    "images/random.jpg": "not a supported image",
    "images/page.png": "not an image: the file is HTML",
    "images/svg.jpg": "the file is SVG text",
    "images/edits.JPG": "not an image: the file is XML text",
    "images/text.jpg": "plain text",
    "images/markers_only.jpg": "damaged or truncated JPEG",
    "images/one_pixel.png": None,
    "images/bomb_header.png": "safety limit",
    "images/thin_bomb.png": "a side over the 65,535 px safety limit",
    "images/huge_sof.jpg": "safety limit",
    "images/animated_500.gif": None,
    "images/corrupt.gif": "damaged or truncated GIF",
    "images/cmyk.jpg": None,
    "images/gray16.png": None,
    "images/palette_transparent.png": None,
    "images/grayscale.jpg": None,
    "images/bad_orientation.jpg": None,
    "images/garbage_gps.jpg": None,
    "images/png_named.jpg": None,
    "images/truncated.png": "truncated",
    "images/bad_strips.tif": "truncated",
    "images/bad_header.bmp": "BMP header",
    "images/truncated.webp": "WEBP",
    "images/huge_metadata.jpg": None,
    "images/yaoming.jpg": None,
    "images/unreadable.jpg": None if IS_ROOT else "permission denied",
    "images/fifo.jpg": "not a regular file",
    "images/folder.jpg": "is a directory",
    "fs/dangling.jpg": "dangling symlink",
    "fs/-rf.jpg": None,
    "fs/new\nline.jpg": None,
}


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, samples: dict[str, Path]
) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("hostile")
    expected = build_hostile_corpus(root, samples)
    assert len(expected) >= 30
    return root, expected


@pytest.fixture(scope="module")
def corpus(built: tuple[Path, dict[str, str]]) -> Path:
    return built[0]


@pytest.fixture(scope="module")
def face(samples: dict[str, Path]) -> Image.Image:
    return Image.open(samples["yaoming"]).convert("RGB")


def _bgr(im: Image.Image) -> np.ndarray:
    return np.asarray(im.convert("RGB"))[:, :, ::-1].astype(np.int16)


def _jpeg(im: Image.Image, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=92, **kwargs)
    return buf.getvalue()


@pytest.mark.parametrize("rel", sorted(CASES))
def test_corpus_case(corpus: Path, rel: str) -> None:
    want = CASES[rel]
    path = corpus / rel
    if rel == "images/fifo.jpg" and not path.exists():
        pytest.skip("no named pipes here")
    if want is None:
        image = decode(path, 640)
        assert image.pixels.dtype == np.uint8 and image.pixels.ndim == 3
        assert image.pixels.shape[2] == 3 and image.pixels.flags.c_contiguous
    else:
        with pytest.raises(FileError) as err:
            decode(path, 640)
        assert want in err.value.reason
        assert "bytes not processed" not in err.value.reason  # Pillow's buffer, not the file's


def test_corpus_outcomes_match_decode(built: tuple[Path, dict[str, str]]) -> None:
    root, expected = built
    assert set(CASES) - {"images/folder.jpg"} <= set(expected)
    for rel, outcome in expected.items():
        path = root / rel
        if not rel.startswith("images/") or not path.is_file() or rel.endswith("unreadable.jpg"):
            continue
        if outcome == "error":
            with pytest.raises(FileError):
                decode(path.read_bytes(), 640)
        else:
            decode(path.read_bytes(), 640)


def test_bytes_and_path_agree(corpus: Path) -> None:
    for rel, want in CASES.items():
        path = corpus / rel
        if not rel.startswith("images/") or not path.is_file() or rel.endswith("unreadable.jpg"):
            continue
        if want is None:
            a, b = decode(path, 640), decode(path.read_bytes(), 640)
            assert np.array_equal(a.pixels, b.pixels)
        elif rel != "images/empty.jpg":
            with pytest.raises(FileError) as err:
                decode(path.read_bytes(), 640)
            assert want in err.value.reason


def test_header_bomb_refused_without_allocating() -> None:
    for data in (
        png_claiming(40000, 40000),
        png_claiming(100_000, 3000),
        png_claiming(1, 200_000_000),
        png_claiming(70_000, 2),
    ):
        tracemalloc.start()
        with pytest.raises(FileError, match="possible decompression bomb"):
            decode(data, 640)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 5_000_000


def test_huge_jpeg_header_refused(face: Image.Image) -> None:
    with pytest.raises(FileError, match="65000x65000"):
        decode(jpeg_claiming(_jpeg(face), 65000, 65000), 640)


def test_animated_gif_first_frame_only(corpus: Path) -> None:
    image = decode(corpus / "images/animated_500.gif", 640)
    assert image.pixels.shape == (48, 48, 3)
    assert (image.pixels.reshape(-1, 3) == (0, 0, 255)).all()  # BGR red


def test_one_pixel(corpus: Path) -> None:
    image = decode(corpus / "images/one_pixel.png", 640)
    assert image.pixels.shape == (1, 1, 3) and image.width == image.height == 1
    assert tuple(image.pixels[0, 0]) == (160, 180, 200)


def test_cmyk_colours_survive(corpus: Path, face: Image.Image) -> None:
    image = decode(corpus / "images/cmyk.jpg")
    assert np.abs(image.pixels.astype(np.int16) - _bgr(face)).mean() < 12


def test_sixteen_bit_png_scaled_not_clipped(corpus: Path, face: Image.Image) -> None:
    image = decode(corpus / "images/gray16.png")
    gray = np.asarray(face.convert("L")).astype(np.int16)
    assert np.abs(image.pixels[:, :, 1].astype(np.int16) - gray).max() <= 1
    assert image.pixels.min() < 60  # clipping would have made nearly everything white


def test_palette_transparency_over_white(corpus: Path) -> None:
    with Image.open(corpus / "images/palette_transparent.png") as im:
        transparent = np.asarray(im) == im.info["transparency"]
    image = decode(corpus / "images/palette_transparent.png")
    assert transparent.any()
    assert (image.pixels[transparent] == 255).all()


def test_rgba_png_over_white(face: Image.Image) -> None:
    rgba = face.convert("RGBA")
    alpha = np.full(rgba.size[::-1], 255, np.uint8)
    alpha[:, :40] = 0
    rgba.putalpha(Image.fromarray(alpha))
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    image = decode(buf.getvalue())
    assert (image.pixels[:, :40] == 255).all()
    assert np.array_equal(image.pixels[:, 40:], _bgr(face)[:, 40:].astype(np.uint8))


def test_grayscale_jpeg(corpus: Path) -> None:
    image = decode(corpus / "images/grayscale.jpg")
    b, g, r = (image.pixels[:, :, i] for i in range(3))
    assert np.array_equal(b, g) and np.array_equal(g, r)


def test_invalid_orientation_is_ignored(corpus: Path, face: Image.Image) -> None:
    image = decode(corpus / "images/bad_orientation.jpg")
    assert image.orientation == 1 and (image.width, image.height) == face.size


def test_png_named_jpg(corpus: Path) -> None:
    assert decode(corpus / "images/png_named.jpg").format == "PNG"


def test_permission_denied(tmp_path: Path, samples: dict[str, Path], monkeypatch) -> None:
    path = tmp_path / "locked.jpg"
    path.write_bytes(samples["yaoming"].read_bytes())
    if not IS_ROOT:
        path.chmod(0)
        with pytest.raises(FileError, match="permission denied"):
            decode(path)
        path.chmod(0o600)

    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(imagefile.os, "open", refuse)
    with pytest.raises(FileError, match="permission denied"):
        decode(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileError, match="disappeared before"):
        decode(tmp_path / "gone.jpg")


@pytest.fixture
def capturing():
    """This process captures what C libraries print, as a worker process does."""
    quiet.enable()
    yield
    quiet._enabled.clear()


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("delete", "disappeared while"),
        ("append", "changed while"),
        ("replace", "replaced while"),
    ],
)
@pytest.mark.parametrize("route", ["fast", "pillow"])
def test_file_changing_during_decode(
    tmp_path: Path,
    samples: dict[str, Path],
    monkeypatch,
    capturing,
    action: str,
    reason: str,
    route: str,
) -> None:
    path = tmp_path / "moving.jpg"
    data = samples["gdp"].read_bytes()
    path.write_bytes(data)

    def meddle() -> None:
        if action == "delete":
            path.unlink()
        elif action == "append":
            with path.open("ab") as fh:
                fh.write(b"more")
        else:
            other = tmp_path / "other.jpg"
            other.write_bytes(data)
            other.replace(path)

    if route == "fast":
        original_fast = images.decode_jpeg
        monkeypatch.setattr(images, "decode_jpeg", lambda *a: (meddle(), original_fast(*a))[1])
    else:
        original = images._upright_rgb
        monkeypatch.setattr(images, "_fast_jpeg", lambda *a: None)
        monkeypatch.setattr(images, "_upright_rgb", lambda *a: (meddle(), original(*a))[1])
    with pytest.raises(FileError, match=reason):
        decode(path, 640)


def _pillow_decode(data: bytes, max_side: int | None) -> images.DecodedImage:
    rgb, width, height, orientation, _, _ = images._load(data, max_side)
    return images.DecodedImage(_bgr(rgb).astype(np.uint8), width / rgb.width, width, height,
                               orientation)  # fmt: skip


@pytest.mark.parametrize("orientation", range(1, 9))
def test_fast_jpeg_path_gives_pillows_pixels(
    samples: dict[str, Path], capturing, orientation: int
) -> None:
    """The libjpeg-turbo path through OpenCV decodes exactly what the Pillow path does, at
    every DCT scale and EXIF orientation, colour and grey."""
    big = Image.open(samples["players"]).convert("RGB").resize((2474, 1600))
    for im in (big, big.convert("L")):
        op = STORE_OPS.get(orientation)
        stored = im if op is None else im.transpose(op)
        exif = Image.Exif()
        exif[0x0112] = orientation
        data = _jpeg(stored, exif=exif.tobytes())
        for side in (None, 1200, 600, 300):
            fast = images._fast_jpeg(data, side)
            assert fast is not None, (im.mode, side)
            slow = _pillow_decode(data, side)
            assert fast.pixels.shape == slow.pixels.shape, (im.mode, side)
            assert (fast.width, fast.height, fast.scale) == (slow.width, slow.height, slow.scale)
            assert fast.orientation == slow.orientation == orientation
            assert np.array_equal(fast.pixels, slow.pixels), (im.mode, side)


def test_motion_photos_take_the_fast_path(samples: dict[str, Path], capturing, capfd) -> None:
    """A motion photo is a JPEG with its video appended (an MP4 straight after the JPEG's end
    marker, or Samsung's marker before it): the JPEG is decoded as if nothing followed it."""
    data = samples["gdp"].read_bytes()
    video = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42" + bytes(4096)
    plain = images._fast_jpeg(data, 640)
    assert plain is not None
    for trailer in (video, b"MotionPhoto_Data" + video + b"SEFT"):
        motion = images._fast_jpeg(data + trailer, 640)
        assert motion is not None
        assert np.array_equal(motion.pixels, plain.pixels)
        assert jpeg.jpeg_end(data + trailer) == len(data)
    # the same bytes without an end marker before them are not a motion photo
    assert jpeg.jpeg_end(data[:-2] + video) is None
    assert jpeg.jpeg_end(data[:-2] + b"MotionPhoto_Data" + video) is None
    out, err = capfd.readouterr()
    assert "JPEG" not in err and "JPEG" not in out, err


def test_fast_jpeg_path_steps_aside_quietly(samples: dict[str, Path], capturing, capfd) -> None:
    """Damaged, truncated, CMYK or extended JPEGs are left to the Pillow path (which gives the
    reason), and libjpeg's warnings never reach the terminal."""
    data = samples["gdp"].read_bytes()
    assert images._fast_jpeg(data, None) is not None  # clean: the fast path answers
    face = Image.open(samples["yaoming"])
    cases = {
        "damaged": damaged_jpeg(data),
        "truncated": data[: len(data) * 2 // 3],
        "cmyk": _jpeg(face.convert("CMYK")),
        "truncated, video after": data[: len(data) * 2 // 3] + b"\x00\x00\x00\x18ftypmp42",
        "png": (lambda b: (face.save(b, "PNG"), b.getvalue())[1])(io.BytesIO()),
    }
    for name, blob in cases.items():
        assert images._fast_jpeg(blob, 640) is None, name
    assert decode(cases["cmyk"]).pixels.shape[2] == 3
    with pytest.raises(FileError, match="truncated"):
        decode(cases["truncated"], 640)
    out, err = capfd.readouterr()
    assert "JPEG" not in err and "JPEG" not in out, err


def _stored(upright: Image.Image, orientation: int) -> bytes:
    return stored_jpeg(upright, orientation)


@pytest.fixture(scope="module")
def scene(samples: dict[str, Path]) -> tuple[Image.Image, tuple[int, int]]:
    """The face pasted off-centre on a plain, asymmetric canvas."""
    canvas = Image.new("RGB", (720, 520), (90, 120, 100))
    face = Image.open(samples["yaoming"]).convert("RGB")
    at = (440, 60)
    canvas.paste(face, at)
    return canvas, at


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_pixels(scene, orientation: int) -> None:
    upright, _ = scene
    data = _stored(upright, orientation)
    image = decode(data)
    assert image.orientation == orientation
    assert (image.width, image.height) == upright.size
    assert image.pixels.shape[:2] == upright.size[::-1]
    assert np.abs(image.pixels.astype(np.int16) - _bgr(upright)).mean() < 4
    with Image.open(io.BytesIO(data)) as im:
        oracle = images.exif_transpose(im)
    assert np.abs(image.pixels.astype(np.int16) - _bgr(oracle)).mean() < 1


@pytest.mark.parametrize("fmt", ["TIFF", "PNG", "WEBP"])
@pytest.mark.parametrize("orientation", [3, 6, 7, 8])
def test_exif_orientation_in_other_formats(scene, fmt: str, orientation: int) -> None:
    """Turned exactly once whoever turns it: Pillow turns a TIFF itself while loading it (and
    drops the tag), the other formats are turned by selfscan; a max side (the reduced decode)
    too."""
    upright, _ = scene
    op = STORE_OPS.get(orientation)
    stored = upright if op is None else upright.transpose(op)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    stored.save(buf, fmt, exif=exif.tobytes(), **({"lossless": True} if fmt == "WEBP" else {}))
    for side in (None, 300):
        image = decode(buf.getvalue(), side)
        assert image.orientation == orientation
        assert (image.width, image.height) == upright.size
        expect = upright.resize((image.pixels.shape[1], image.pixels.shape[0]), Image.BOX)
        assert np.abs(image.pixels.astype(np.int16) - _bgr(expect)).mean() < 4, (fmt, side)


@pytest.mark.slow
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_face_box(scene, analyzer, orientation: int) -> None:
    upright, at = scene
    faces = analyzer.detect(decode(_stored(upright, orientation), 640))
    assert len(faces) == 1
    x1, y1, x2, y2 = faces[0].box
    assert at[0] - 10 < x1 < x2 < at[0] + 233 + 10
    assert at[1] - 10 < y1 < y2 < at[1] + 287 + 10
    reference = analyzer.detect(decode(_stored(upright, 1), 640))[0].box
    assert np.allclose(faces[0].box, reference, atol=4)


@pytest.mark.slow
def test_draft_decode_maps_back(samples: dict[str, Path], analyzer, tmp_path: Path) -> None:
    face = Image.open(samples["yaoming"]).convert("RGB")
    face2 = face.resize((face.width * 2, face.height * 2), Image.Resampling.LANCZOS)
    alone = analyzer.detect(decode(_jpeg(face2)))[0].box
    big = Image.open(samples["players"]).convert("RGB").resize((4032, 3024))
    big.paste(Image.new("RGB", (900, 900), (120, 110, 100)), (2850, 1950))
    at = (3100, 2150)
    big.paste(face2, at)
    path = tmp_path / "big.jpg"
    big.save(path, quality=90)
    image = decode(path, 640)
    assert image.scale == 4.0 and image.pixels.shape == (756, 1008, 3)
    assert (image.width, image.height) == (4032, 3024)
    want = np.array(alone) + np.array([at[0], at[1], at[0], at[1]])
    best = min(analyzer.detect(image), key=lambda f: np.abs(np.array(f.box) - want).sum())
    assert np.abs(np.array(best.box) - want).max() < 12


def test_rescale_bounds(samples: dict[str, Path]) -> None:
    big = Image.open(samples["players"]).convert("RGB")  # 1237 x 800
    png = io.BytesIO()
    big.save(png, "PNG")
    for data, fmt in ((_jpeg(big), "JPEG"), (png.getvalue(), "PNG")):
        full = decode(data)
        assert full.scale == 1.0 and full.pixels.shape == (800, 1237, 3)
        small = decode(data, 300)
        assert small.format == fmt
        assert 300 <= max(small.pixels.shape[:2]) < 600
        assert small.scale == pytest.approx(1237 / small.pixels.shape[1])
        assert decode(data, 1000).pixels.shape == (800, 1237, 3)


@pytest.mark.slow
def test_recompressed_and_gray_still_have_the_face(face: Image.Image, analyzer) -> None:
    low = io.BytesIO()
    face.save(low, "JPEG", quality=25)
    for data in (_jpeg(face.convert("L")), _jpeg(face, optimize=True), low.getvalue()):
        assert len(analyzer.detect(decode(data))) == 1


def _heic(upright: Image.Image, orientation: int, tile: int = 0) -> bytes:
    """``upright`` stored turned for ``orientation`` as HEIC; with ``tile``, as a grid of tiles
    that size, as an iPhone stores its photos (512 px)."""
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    op = STORE_OPS.get(orientation)
    stored = upright if op is None else upright.transpose(op)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    kept = pillow_heif.options.GRID_TILE_SIZE
    pillow_heif.options.GRID_TILE_SIZE = tile
    try:
        stored.save(buf, "HEIF", exif=exif.tobytes(), quality=90)
    finally:
        pillow_heif.options.GRID_TILE_SIZE = kept
    return buf.getvalue()


def test_an_iphone_tiled_heic_is_read_whole(scene) -> None:
    """An iPhone's HEIC is a grid of 512 px tiles: the whole grid is decoded, not one tile."""
    upright, _ = scene
    data = _heic(upright, 6, tile=512)
    assert data.count(b"grid") >= 1 and data.count(b"hvc1") > 2  # several tiles and their grid
    image = decode(data)
    assert (image.width, image.height) == upright.size
    assert np.abs(image.pixels.astype(np.int16) - _bgr(upright)).mean() < 6


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_heic_upright_exactly_once(scene, orientation: int) -> None:
    upright, _ = scene
    image = decode(_heic(upright, orientation))
    assert image.format == "HEIF" and image.orientation == orientation
    assert (image.width, image.height) == upright.size
    assert image.pixels.shape[:2] == upright.size[::-1]
    assert np.abs(image.pixels.astype(np.int16) - _bgr(upright)).mean() < 6


@pytest.mark.slow
def test_heic_face_lands_upright(scene, analyzer) -> None:
    upright, at = scene
    faces = analyzer.detect(decode(_heic(upright, 6), 640))
    assert len(faces) == 1
    assert at[0] - 10 < faces[0].box[0] < at[0] + 233


def test_heif_missing_is_explained(scene, monkeypatch) -> None:
    data = _heic(scene[0], 1)
    monkeypatch.setattr(imagefile, "_heif_state", [False])
    monkeypatch.setattr(Image, "OPEN", {k: v for k, v in Image.OPEN.items() if k != "HEIF"})
    with pytest.raises(FileError, match="pillow-heif"):
        decode(data)


def test_avif(scene, monkeypatch) -> None:
    from PIL import features

    upright, _ = scene
    if not features.check("avif"):
        pytest.skip("this Pillow has no AVIF codec")
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(buf, "AVIF", exif=exif.tobytes())
    image = decode(buf.getvalue())
    assert image.format == "AVIF" and image.orientation == 6
    assert np.abs(image.pixels.astype(np.int16) - _bgr(upright)).mean() < 6
    monkeypatch.setattr(features, "check", lambda name: False)
    with pytest.raises(FileError, match="AVIF support needs"):
        decode(buf.getvalue())


def test_thumbnail(scene) -> None:
    upright, _ = scene
    thumb = open_for_thumbnail(_stored(upright, 6), 200)
    assert thumb.mode == "RGB" and thumb.size == (200, round(520 * 200 / 720))
    expected = upright.resize(thumb.size, Image.Resampling.LANCZOS)
    assert np.abs(_bgr(thumb) - _bgr(expected)).mean() < 6
    small = open_for_thumbnail(_stored(upright, 1), 2000)
    assert small.size == upright.size
    with pytest.raises(FileError, match="empty file"):
        open_for_thumbnail(b"", 100)


def test_snapshot_proves_nothing_changed(tmp_path: Path, samples: dict[str, Path]) -> None:
    root = tmp_path / "corpus"
    expected = build_hostile_corpus(root, samples)
    before = snapshot(root)
    assert before["fs/loop/again"] == "symlink:.."
    assert before["fs/dangling.jpg"] == "symlink:does-not-exist.jpg"
    assert not any(rel.startswith("fs/loop/again/") for rel in before)
    assert set(expected) - {"images/fifo.jpg"} <= set(before)
    for rel in expected:
        with contextlib.suppress(FileError):
            decode(root / rel, 320)
    assert snapshot(root) == before
    Mutator(root)()
    after = snapshot(root)
    changed = {rel for rel in before.keys() | after.keys() if before.get(rel) != after.get(rel)}
    assert changed == set(VOLATILE)
    kept = {rel: digest for rel, digest in before.items() if rel not in VOLATILE}
    assert snapshot(root, ignore=VOLATILE) == kept


def test_fast_jpeg_path_only_where_libjpeg_is_heard(samples: dict[str, Path]) -> None:
    """Without capture (the main process) libjpeg's warnings could not be heard, so the fast
    path stays out of the way; a worker process captures them and takes it."""
    data = samples["gdp"].read_bytes()
    assert images._fast_jpeg(data, None) is None
    quiet.enable()
    try:
        assert images._fast_jpeg(data, None) is not None
    finally:
        quiet._enabled.clear()


def test_libtiff_messages_stay_off_the_terminal(samples: dict[str, Path], capfd) -> None:
    """libtiff prints its own warning for damaged LZW data; a worker keeps it off the terminal,
    and the file still gets its reason."""
    data = damaged_lzw_tiff(Image.open(samples["gdp"]))
    with pytest.raises(FileError, match="corrupt image data"):
        decode(data, 640)
    assert "table" in capfd.readouterr().err  # uncaptured (main process): libtiff speaks
    quiet.enable()
    try:
        with pytest.raises(FileError, match="corrupt image data"):
            decode(data, 640)
    finally:
        quiet._enabled.clear()
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("mode", ["P", "1", "I;16", "LA", "I", "F"])
def test_every_mode_is_reduced_and_keeps_its_faces(
    samples: dict[str, Path], analyzer, tmp_path: Path, mode: str
) -> None:
    """A palette GIF or PNG, a 1-bit scan, 16-bit grey: decoding such a photo at reduced size
    (a scan of a large one, every report thumbnail) failed with "image has wrong mode", which
    Pillow's reduce says of these modes. They now decode, and the team photo keeps its faces."""
    rgb = Image.open(samples["players"])
    big = rgb.resize((rgb.width * 2, rgb.height * 2), Image.Resampling.BICUBIC)
    grey = np.asarray(big.convert("L"))
    im = {
        "P": big.convert("P"),
        "1": big.convert("1"),
        "I;16": Image.fromarray(grey.astype(np.uint16) * 257),
        "LA": big.convert("LA"),
        "I": big.convert("I"),
        "F": big.convert("F"),
    }[mode]
    path = tmp_path / ("scan.tiff" if mode in ("I", "F") else "scan.png")
    im.save(path)
    assert Image.open(path).mode == mode
    thumb = open_for_thumbnail(path, 320)
    assert max(thumb.size) == 320 and thumb.mode == "RGB"
    decoded = decode(path, max(big.size) // 2)
    assert decoded.scale == 2.0
    if mode != "1":  # dithered to black and white, faces are not faces any more
        assert len(analyzer.detect(decoded)) >= 10


def test_a_png_with_a_large_text_chunk_is_still_a_photo(tmp_path: Path) -> None:
    """A PNG whose comment inflates past Pillow's 1 MB per-chunk limit (a big XMP packet) was
    refused whole ("Decompressed data too large")."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "x" * 3_000_000, zip=True)
    path = tmp_path / "big-comment.png"
    Image.new("RGB", (64, 48), (200, 100, 50)).save(path, pnginfo=info)
    image = decode(path)
    assert (image.width, image.height) == (64, 48)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_every_format_is_decoded_at_the_working_size_a_jpeg_gets(tmp_path: Path, fmt: str) -> None:
    """A 12 MP HEIC, PNG or WebP was reduced by 3 (to 1344 px) where a JPEG is decoded at half
    size (2016 px), so the default mode missed faces of 30-36 px in them."""
    path = tmp_path / f"big.{fmt.lower()}"
    Image.new("RGB", (4032, 3024), (90, 120, 100)).save(path, fmt)
    jpeg = tmp_path / "big.jpg"
    Image.new("RGB", (4032, 3024), (90, 120, 100)).save(jpeg, "JPEG")
    assert decode(jpeg, 1280).pixels.shape[:2] == (1512, 2016)
    assert decode(path, 1280).pixels.shape[:2] == (1512, 2016)
    assert decode(path, 640).pixels.shape[:2] == (756, 1008)


def test_running_out_of_open_files_is_not_damage(
    samples: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a low open-file limit, a decoder plugin that could not be imported made every
    photo "damaged", remembered as such: the next scan, with files to spare, kept the errors."""
    import errno

    def exhausted(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(imagefile.Image, "open", exhausted)
    with pytest.raises(FileError) as err:
        decode(samples["players"], 640)
    assert err.value.transient and err.value.reason.startswith("not read: too many open files")
