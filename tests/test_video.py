"""Video sampling on short videos encoded at test time from the sample photos."""

from __future__ import annotations

import io
import random
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfscan import imagefile, video
from selfscan.errors import FileError
from selfscan.types import DecodedImage
from selfscan.video import frame_at, iter_frames, sample_times, video_info
from tests.imagegen import encode_video

av = pytest.importorskip("av")


def _canvas(photo: Path, size: tuple[int, int]) -> np.ndarray:
    canvas = Image.new("RGB", size, (90, 120, 100))
    im = Image.open(photo).convert("RGB")
    im.thumbnail((size[0] - 20, size[1] - 20))
    canvas.paste(im, (10, 10))
    return np.asarray(canvas)


@pytest.fixture(scope="module")
def upright(samples: dict[str, Path]) -> np.ndarray:
    """A portrait frame with the face at the top left."""
    return _canvas(samples["yaoming"], (240, 320))


@pytest.fixture(scope="module")
def clip(tmp_path_factory, samples: dict[str, Path], upright: np.ndarray) -> Path:
    """3 s at 10 fps, recorded sideways like a phone held upright: 1.5 s of the face, then
    1.5 s of the other group. The display matrix turns it clockwise by a quarter."""
    others = np.rot90(_canvas(samples["gdp"], (240, 320)), 1)
    frames = [np.rot90(upright, 1)] * 15 + [others] * 15
    return encode_video(tmp_path_factory.mktemp("video") / "clip.mp4", frames, rotation=-90)


def _diff(image_bgr: np.ndarray, rgb: np.ndarray) -> float:
    return float(np.abs(image_bgr[:, :, ::-1].astype(np.int16) - rgb.astype(np.int16)).mean())


def test_sample_times() -> None:
    assert sample_times(3.0, 1.0, 60) == [0.0, 1.0, 2.0]
    assert sample_times(3.05, 1.0, 60) == [0.0, 1.0, 2.0, 3.0]
    assert sample_times(0.2, 1.0, 60) == [0.0]
    spread = sample_times(600.0, 1.0, 60)
    assert spread is not None and len(spread) == 60
    assert spread[0] == 5.0 and spread[-1] == 595.0
    assert sample_times(None, 1.0, 60) is None and sample_times(0.0, 1.0, 60) is None


def test_frames_are_sampled_and_upright(clip: Path, upright: np.ndarray, samples) -> None:
    frames = list(iter_frames(clip, 640))
    assert [t for t, _ in frames] == pytest.approx([0.0, 1.0, 2.0], abs=0.051)
    others = _canvas(samples["gdp"], (240, 320))
    for seconds, image in frames:
        assert image.pixels.shape == (320, 240, 3) and image.pixels.flags.c_contiguous
        assert (image.width, image.height, image.scale) == (240, 320, 1.0)
        if seconds < 1.5:
            assert _diff(image.pixels, upright) < 5 < _diff(image.pixels, others)
        else:
            assert _diff(image.pixels, others) < 5 < _diff(image.pixels, upright)


def test_every_and_max_side(clip: Path) -> None:
    frames = list(iter_frames(clip.read_bytes(), 100, every=0.5))
    assert [t for t, _ in frames] == pytest.approx([0, 0.5, 1, 1.5, 2, 2.5], abs=0.051)
    assert all(image.pixels.shape == (100, 75, 3) for _, image in frames)
    assert frames[0][1].scale == pytest.approx(320 / 100)
    assert len(list(iter_frames(clip, 100, every=0.1, max_frames=7))) == 7


@pytest.mark.slow
def test_face_box_in_upright_coordinates(clip: Path, analyzer, upright: np.ndarray) -> None:
    _, image = next(iter_frames(clip, 160))
    assert image.scale == 2.0 and image.pixels.shape == (160, 120, 3)
    faces = analyzer.detect(image)
    bgr = np.ascontiguousarray(upright[:, :, ::-1])
    reference = analyzer.detect(DecodedImage(bgr, 1.0, 240, 320))
    assert len(faces) == len(reference) == 1
    assert np.allclose(faces[0].box, reference[0].box, atol=8)


def test_frame_at(clip: Path, upright: np.ndarray, samples) -> None:
    others = _canvas(samples["gdp"], (240, 320))
    assert _diff(frame_at(clip, 0.7, 640).pixels, upright) < 5
    assert _diff(frame_at(clip, 2.2, 640).pixels, others) < 5
    late = frame_at(clip.read_bytes(), 99.0, 100)
    small = np.asarray(Image.fromarray(others).resize((75, 100), Image.Resampling.BOX))
    assert late.pixels.shape == (100, 75, 3) and _diff(late.pixels, small) < 8
    with pytest.raises(FileError):
        frame_at(b"not a video", 1.0, 100)


def test_video_info(clip: Path) -> None:
    info = video_info(clip)
    assert info["duration"] == pytest.approx(3.0, abs=0.05)
    assert (info["width"], info["height"]) == (240, 320)
    assert info["codec"] in ("h264", "mpeg4") and info["fps"] == 10.0
    assert info["frames"] == 30 and info["rotation"] == 270
    assert info["creation_time"] == "2021-03-04T05:06:07.000000Z"


def test_long_video_is_spread_by_seeking(tmp_path: Path, samples, monkeypatch) -> None:
    seeks = []
    original = video.seeking

    def counting(*args, **kwargs):
        seeks.append(args[1])  # the sampling times
        return original(*args, **kwargs)

    monkeypatch.setattr(video, "seeking", counting)
    small = _canvas(samples["t1"], (64, 48))
    marker = np.zeros_like(small)
    frames = [marker if i % 25 == 12 else small for i in range(5 * 130)]
    path = encode_video(tmp_path / "long.mp4", frames, fps=5, gop=25)
    sampled = list(iter_frames(path, 64, max_frames=10))
    times = [t for t, _ in sampled]
    assert len(times) == 10
    assert times == pytest.approx([(i + 0.5) * 13 for i in range(10)], abs=0.21)
    assert len(seeks) == 1 and len(seeks[0]) == 10
    many = list(iter_frames(path, 64))
    assert len(many) == 60 and many[-1][0] == pytest.approx(128.9, abs=0.21)
    assert len(seeks) == 1  # samples 2.2 s apart: decoded straight through


def test_other_containers(tmp_path: Path, upright: np.ndarray) -> None:
    frames = [upright] * 12
    for name, codec in (("clip.webm", "libvpx"), ("clip.mkv", "mpeg4"), ("clip.mov", "mpeg4")):
        if codec not in av.codecs_available:
            continue
        path = encode_video(tmp_path / name, frames, fps=6, codec=codec)
        got = list(iter_frames(path, 640))
        assert [t for t, _ in got] == pytest.approx([0.0, 1.0], abs=0.1), name
        assert _diff(got[0][1].pixels, upright) < 8


def test_corrupt_videos(clip: Path, tmp_path: Path) -> None:
    data = clip.read_bytes()
    bad = {
        "random.mp4": random.Random(7).randbytes(5000),
        "truncated.mp4": data[: len(data) // 3],
        "empty.mp4": b"",
        "text.mov": b"hello\n" * 100,
    }
    for name, content in bad.items():
        path = tmp_path / name
        path.write_bytes(content)
        for source in (path, content):
            with pytest.raises(FileError):
                list(iter_frames(source, 320))
            with pytest.raises(FileError):
                video_info(source)
    with pytest.raises(FileError, match="empty file"):
        list(iter_frames(tmp_path / "empty.mp4", 320))
    with pytest.raises(FileError, match="disappeared"):
        list(iter_frames(tmp_path / "missing.mp4", 320))
    damaged = data[:2000] + bytes(b ^ 0xFF for b in data[2000:6000]) + data[6000:]
    for _, image in iter_frames(damaged, 320):
        assert image.pixels.ndim == 3


def test_still_image_is_not_a_video(samples: dict[str, Path], tmp_path: Path, clip: Path) -> None:
    with pytest.raises(FileError, match="not a video: the file is HTML text"):
        list(iter_frames(b"<html></html>", 320))
    (tmp_path / "notes.mov").write_text("just words\n")  # what it is, as for a photo
    with pytest.raises(FileError, match="not a video: the file is plain text"):
        video_info(tmp_path / "notes.mov")
    for damaged in (random.Random(3).randbytes(3000), clip.read_bytes()[:100]):
        with pytest.raises(FileError, match="not a readable video"):
            video_info(damaged)
    frames = list(iter_frames(samples["yaoming"], 320))  # FFmpeg reads a JPEG as one frame
    assert len(frames) <= 1


def test_without_pyav(clip: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(FileError, match=r"pip install 'selfscan\[video\]'"):
        list(iter_frames(clip, 320))
    with pytest.raises(FileError, match="needs PyAV"):
        video_info(clip)


def test_a_video_cut_short_says_how_much_was_read(
    tmp_path: Path, upright: np.ndarray, analyzer
) -> None:
    """A video whose end is missing (an interrupted copy): the frames before the cut are
    analysed, and the result says the rest was not. With nothing found before the cut, it is an
    error, not "no face" (which would claim the whole video was looked at)."""
    from selfscan.analyze import Job, run_job, set_analyzer

    noise = np.random.default_rng(1).integers(0, 255, (320, 240, 3), dtype=np.uint8)
    set_analyzer(analyzer)
    results = {}
    for name, frames in (("face_first", [upright] * 8 + [noise] * 12),
                         ("face_last", [noise] * 12 + [upright] * 8)):  # fmt: skip
        whole = encode_video(tmp_path / f"{name}.mp4", frames, fps=2, gop=2, faststart=True)
        data = whole.read_bytes()
        cut = tmp_path / f"{name}_cut.mp4"
        cut.write_bytes(data[: len(data) * 6 // 10])
        for path in (whole, cut):
            st = path.stat()
            results[path.stem] = run_job(
                Job("video", "default", st.st_size, st.st_mtime_ns, fs_path=str(path))
            )
    assert results["face_first"].faces and results["face_last"].faces
    assert "damaged" not in results["face_first"].facts["video"]
    first = results["face_first_cut"]
    assert first.error is None and first.faces
    assert first.facts["video"]["damaged"].startswith("video cut short after ")
    assert first.facts["video"]["damaged"].endswith(" of 10.0 s: the rest is missing")
    last = results["face_last_cut"]
    assert last.error is not None and last.error.startswith("video cut short after ")
    assert not last.transient  # the file is damaged: remembered like any damaged file
    with pytest.raises(video.VideoDamaged):
        list(iter_frames(tmp_path / "face_last_cut.mp4", 320))


def test_a_video_says_where_it_was_recorded(tmp_path: Path, upright: np.ndarray) -> None:
    """A phone writes the place in the container's ``location`` tag (ISO 6709): it is part of
    what a video gives away, as a photo's GPS is (the report said "none recorded")."""
    from selfscan.exposure import exposure_facts
    from selfscan.types import FileResult

    path = encode_video(
        tmp_path / "rio.mp4", [upright] * 10, tags={"location": "-22.9519-043.2105/"}
    )
    info = video_info(path)
    assert info["gps"] == {"latitude": -22.9519, "longitude": -43.2105, "altitude": None}
    found = exposure_facts(FileResult(str(path), "match", 0.7, facts={"video": info}))
    assert (found["latitude"], found["longitude"]) == (-22.9519, -43.2105)
    assert found["has_location"] and found["location_source"] == "video"
    assert found["taken"] == "2021-03-04T05:06:07Z"


@pytest.mark.parametrize(
    "tag, where",
    [
        ("+37.7858-122.4064+015.000/", (37.7858, -122.4064, 15.0)),  # an iPhone's, altitude
        ("+3747.15-12224.38/", (37.785833, -122.406333, None)),  # degrees and minutes
        ("+374709-1222423/", (37.785833, -122.406389, None)),  # and seconds
        ("+00.0000+000.0000/", None),  # "no fix" written as a place
        ("+95.0+010.0/", None),
        ("+3775.00-12224.38/", None),  # 75 minutes
        ("here", None),
    ],
)
def test_iso6709(tag: str, where: tuple[float, float, float | None] | None) -> None:
    from selfscan.facts import video_location

    found = video_location({"com.apple.quicktime.location.ISO6709": tag})
    if where is None:
        assert found is None
    else:
        assert found == {"latitude": where[0], "longitude": where[1], "altitude": where[2]}


def test_content_decides_over_the_extension(
    clip: Path, samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """A video named ``.jpg`` is analysed as the video it is (it was "not an image"), and a
    photo named ``.mp4`` as a photo, keeping its EXIF (read as a one-frame video, it lost
    them)."""
    import json
    import shutil

    from tests.test_cli import run

    shutil.copyfile(clip, tmp_path / "clip.jpg")
    Image.open(samples["players"]).save(tmp_path / "bitmap.mp4", "BMP")
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2020:01:02 03:04:05"
    Image.open(samples["players"]).save(tmp_path / "photo.mp4", "JPEG", exif=exif.tobytes())
    code, out, _ = run(
        "find", "--me", str(samples["yaoming"]), str(tmp_path / "clip.jpg"),
        str(tmp_path / "photo.mp4"), str(tmp_path / "bitmap.mp4"), "--workers", "1",
        "--no-store", "-f", "jsonl",
    )  # fmt: skip
    assert code == 0
    found = {Path(r["path"]).name: r for r in map(json.loads, out.splitlines())}
    assert found["clip.jpg"]["status"] == "match", found["clip.jpg"]
    assert found["clip.jpg"]["exposure"]["kind"] == "video"
    assert found["clip.jpg"]["exposure"]["file_size"] == clip.stat().st_size  # was null
    assert found["photo.mp4"]["status"] == "match"
    assert found["photo.mp4"]["exposure"]["kind"] == "photo"
    assert found["photo.mp4"]["exposure"]["taken"] == "2020-01-02T03:04:05"
    assert found["bitmap.mp4"]["exposure"]["kind"] == "photo"  # a BMP too


class _NoSeek(io.RawIOBase):
    """A stream that cannot seek back: how a browser or a live recorder writes WebM, with no
    duration in its header."""

    def __init__(self, fh: io.BufferedWriter) -> None:
        self.fh = fh

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return self.fh.write(data)


def test_a_video_without_a_duration_is_sampled_to_its_end(tmp_path: Path) -> None:
    """A WebM without a duration in its header was sampled for its first 60 seconds only,
    silently; it is measured first, then sampled over its whole length."""
    if "libvpx" not in av.codecs_available:
        pytest.skip("no VP8 encoder")
    path = tmp_path / "live.webm"
    with path.open("wb") as fh:
        out = av.open(_NoSeek(fh), "w", format="webm")
        stream = out.add_stream("libvpx", rate=1)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(90):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i, np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        out.close()
    with av.open(str(path)) as probe:
        assert not probe.duration and not probe.streams.video[0].duration  # as recorded live
    times = [t for t, _ in iter_frames(path, 64)]
    assert len(times) == 60 and times[-1] > 85
    assert video_info(path)["duration"] == pytest.approx(90, abs=1.5)


def test_a_last_frame_held_on_screen_is_not_damage(tmp_path: Path, upright: np.ndarray) -> None:
    """Two frames, the last shown for 9 s (a screen recording): the frames end long before the
    sampling does, and that was called "damaged" (an error with no face before it)."""
    path = tmp_path / "held.mp4"
    out = av.open(str(path), "w")
    stream = out.add_stream("mpeg4", rate=30)
    stream.height, stream.width = upright.shape[:2]
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = Fraction(1, 1000)
    packets = []
    for t in (0, 1):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(upright), format="rgb24")
        frame.pts, frame.time_base = t * 1000, Fraction(1, 1000)
        packets += list(stream.encode(frame))
    packets += list(stream.encode())
    packets[-1].duration = 9000
    for packet in packets:
        out.mux(packet)
    out.close()
    assert [round(t) for t, _ in iter_frames(path, 320)] == [0, 1]  # no VideoDamaged


def test_a_damaged_spot_costs_only_itself(tmp_path: Path, upright: np.ndarray, samples) -> None:
    """One damaged stretch in the middle made the whole video an error ("Invalid data") or cut
    off everything after it; the packets that do not decode are skipped, the rest is read."""
    others = _canvas(samples["gdp"], (240, 320))
    frames = [others] * 40 + [upright] * 40
    whole = encode_video(tmp_path / "whole.mp4", frames, fps=10, gop=10, faststart=True)
    data = bytearray(whole.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 3000] = bytes(3000)
    got: list[float] = []
    with pytest.raises(video.VideoDamaged, match="partly damaged"):
        for t, _ in iter_frames(bytes(data), 320):
            got.append(t)
    assert got[-1] >= 7.0 and len(got) >= 6  # read past the damage, to the end
    assert video_info(bytes(data))["width"] == 240


def test_sparse_key_frames_cost_one_pass_not_one_per_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one key frame for the whole file, each seek decoded from the start again: the cost
    grew with the square of the length (10 hours of tiny frames took a minute). Past the first
    such seek the rest is decoded straight through: about one decode of each frame."""
    frames = [np.full((16, 16, 3), i % 250, np.uint8) for i in range(1200)]
    path = encode_video(tmp_path / "onegop.mp4", frames, fps=5, gop=100_000)
    decoded = []
    real = video.Reading.frames

    def counting(self):  # type: ignore[no-untyped-def]
        for frame in real(self):
            decoded.append(1)
            yield frame

    monkeypatch.setattr(video.Reading, "frames", counting)
    times = [t for t, _ in iter_frames(path, 16)]
    assert len(times) == 60 and times[-1] > 230
    assert len(decoded) <= 1.3 * len(frames)


def test_frames_over_the_pixel_limit_are_refused(clip: Path, analyzer, monkeypatch) -> None:
    """Frames over the photos' pixel limit are refused before one is decoded (a 16000x16000
    video held 3.2 GB in one worker): the video is an error saying why. The limit is lowered
    here to just under this clip's 320x240 frames."""
    from selfscan.analyze import Job, run_job, set_analyzer

    monkeypatch.setattr(imagefile, "MAX_PIXELS", 320 * 240 - 1)
    for call in (lambda: list(iter_frames(clip, 320)), lambda: frame_at(clip, 1.0, 320)):
        with pytest.raises(FileError, match=r"video frames are 320x240 .* safety limit"):
            call()
    set_analyzer(analyzer)
    st = clip.stat()
    result = run_job(Job("video", "default", st.st_size, st.st_mtime_ns, fs_path=str(clip)))
    assert result.error is not None and "possible decompression bomb" in result.error
    monkeypatch.setattr(imagefile, "MAX_PIXELS", 320 * 240)
    assert len(list(iter_frames(clip, 320))) == 3
