"""The HTML exposure report, from a real scan: self-contained, escaped, grouped, summarised."""

from __future__ import annotations

import base64
import io
import re
import shutil
import zipfile
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from selfscan import ops
from selfscan.faces import DetectPlan, FaceAnalyzer
from selfscan.reports import writer_for
from selfscan.thumbs import hamming
from selfscan.types import FaceHit, FileResult, ScanSummary
from tests import imagegen

EVIL = "<img src=x onerror=alert(1)>.jpg"


class _Tags(HTMLParser):
    """Every element with its attributes, and the text inside each element id'd section."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _scan(paths: list[Path], me: Path, **kw: object) -> list[FileResult]:
    session = ops.prepare_find(ops.FindRequest(paths=paths, me=[me], workers=1, store=False, **kw))
    try:
        return list(session.results())
    finally:
        session.close()


def _report(results: list[FileResult], **options: object) -> str:
    buf = io.StringIO()
    writer = writer_for("html", buf, **options)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
        writer.add(r)
    writer.close(ScanSummary(total=len(results), counts=counts))
    return buf.getvalue()


def _with_exif(src: Path, dest: Path) -> None:
    """A copy of ``src`` carrying a capture time, GPS position and camera."""
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D"
    exif.get_ifd(0x8769)[0x9003] = "2021:07:04 10:00:00"
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    Image.open(src).save(dest, quality=95, exif=exif.tobytes())


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, samples: dict[str, Path]) -> Path:
    lib = tmp_path_factory.mktemp("library")
    shutil.copyfile(samples["players"], lib / "players.jpg")
    imagegen.save_with_orientation(samples["players"], lib / "players-rotated.jpg", 6)
    imagegen.rescaled(samples["players"], lib / "players-small.jpg", 0.6)
    shutil.copyfile(samples["players"], lib / EVIL)
    shutil.copyfile(samples["gdp"], lib / "gdp.jpg")
    _with_exif(samples["yaoming"], lib / "holiday.jpg")
    (lib / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with zipfile.ZipFile(lib / "export.zip", "w") as zf:
        zf.writestr("trip/holiday-copy.jpg", (lib / "holiday.jpg").read_bytes())
    return lib


@pytest.fixture(scope="module")
def results(library: Path, samples: dict[str, Path]) -> dict[str, FileResult]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SELFSCAN_HOME", str(library.parent / "home"))
        found = _scan([library], samples["yaoming"])
    return {Path(r.path).name: r for r in found}


@pytest.fixture(scope="module")
def page(results: dict[str, FileResult]) -> str:
    return _report(list(results.values()))


def test_scan_statuses_as_expected(results: dict[str, FileResult]) -> None:
    names = ("players.jpg", "players-rotated.jpg", "players-small.jpg", EVIL, "holiday.jpg")
    for name in (*names, "holiday-copy.jpg"):
        assert results[name].status == "match", name
    assert results["gdp.jpg"].status == "no_match"
    assert results["broken.jpg"].status == "error"


def test_self_contained(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page.lower() and "@import" not in page and "<script" not in page.lower()
    parser = _Tags()
    parser.feed(page)
    links = 0
    for tag, attrs in parser.tags:
        for name in ("src", "href", "action", "srcset", "poster"):
            value = attrs.get(name)
            if tag == "a" and name == "href":  # a link to the file itself: opened by a click
                assert value is not None and value.startswith("file:///"), value
                links += 1
            else:
                assert value is None or value.startswith("data:"), (tag, name, value)
    assert links == 6  # each copy of each match
    csp = [a for t, a in parser.tags if t == "meta" and a.get("http-equiv")]
    assert csp and "default-src 'none'" in (csp[0].get("content") or "")


def test_hostile_name_is_text(page: str) -> None:
    parser = _Tags()
    parser.feed(page)
    assert not any("onerror" in attrs for _, attrs in parser.tags)
    assert not any(tag == "img" and attrs.get("src") == "x" for tag, attrs in parser.tags)
    assert any(EVIL in chunk for chunk in parser.text)  # shown, as text
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in page


def test_thumbnails_small_jpegs_with_box(page: str) -> None:
    parser = _Tags()
    parser.feed(page)
    images = [a for t, a in parser.tags if t == "img"]
    thumbs = [a["src"] for a in images if a.get("class") != "face"]
    faces = [a["src"] for a in images if a.get("class") == "face"]
    assert len(thumbs) == 2  # the team photo (all its copies) and the holiday photo
    assert len(faces) == 1  # his face is 13 px tall in the team photo's thumbnail: enlarged
    for src, side in [(src, 320) for src in thumbs] + [(src, 160) for src in faces]:
        assert src is not None and src.startswith("data:image/jpeg;base64,")
        payload = src.split(",", 1)[1]
        assert len(payload) < 50_000  # 1,000 matches stay under 50 MB
        im = Image.open(io.BytesIO(base64.b64decode(payload)))
        assert im.format == "JPEG" and max(im.size) <= side


def test_a_face_small_in_its_thumbnail_is_shown_enlarged(
    results: dict[str, FileResult], samples: dict[str, Path], analyzer: FaceAnalyzer
) -> None:
    """In a team photo his face is 13 px tall in the 320 px thumbnail: nobody can check that
    it is him. The report also shows the face enlarged, and the enlarged face is his (the
    models find it and match it); a face already large in its thumbnail is not repeated."""
    from selfscan.images import decode
    from selfscan.references import build_profile
    from selfscan.thumbs import preview

    team, alone = results["players.jpg"], results["holiday.jpg"]
    assert preview(alone.path, alone).face is None
    face = preview(team.path, team).face
    assert face is not None
    image = decode(face, 640)
    assert 80 <= max(image.width, image.height) <= 160  # its own pixels, a margin around
    found = analyzer.embed(image, analyzer.detect(image, DetectPlan(long_sides=(640,))))
    him = build_profile(analyzer, [samples["yaoming"]]).references[0].embedding
    best = max(float(f.embedding @ him) for f in found if f.embedding is not None)
    assert best > 0.4


def test_matching_face_is_boxed(results: dict[str, FileResult]) -> None:
    from selfscan.thumbs import BOX_COLOUR, thumbnail

    r = results["players.jpg"]
    jpeg = thumbnail(r.path, r)
    assert jpeg is not None
    im = Image.open(io.BytesIO(jpeg)).convert("RGB")
    scale = im.width / (r.width or 1)
    x1, y1, x2, _ = (v * scale for v in next(f.box for f in r.faces if f.similarity == r.score))
    # the outline runs just outside the face box: sample the middle of its top edge
    pixel = im.getpixel((round((x1 + x2) / 2), round(y1 - 2)))
    assert all(abs(a - b) < 60 for a, b in zip(pixel, BOX_COLOUR, strict=True)), pixel


def _summary(page: str) -> dict[str, str]:
    section = page.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    return dict(re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", section))


def test_summary_numbers(page: str) -> None:
    rows = _summary(page)
    assert rows["Photos of you"].startswith("2 (6 files")
    assert rows["With a location"] == "1 of 2"
    assert rows["Taken"] == "2021-07-04"  # one day: not "2021-07-04 to 2021-07-04"
    assert rows["To review"] == "0"
    assert rows["Could not be scanned"] == "1"
    assert rows["Files from a folder"] == "5"
    assert rows["Files from an archive"] == "1"
    assert "Similarity" not in rows  # no threshold given
    said = _summary(_report([], threshold=0.4))
    assert said["Photos of you"] == "0"
    assert said["Similarity"].startswith("from 0 (unrelated people) to 1 (the same picture)")
    assert "0.40 or more counts as you" in said["Similarity"]


def test_a_reader_is_told_what_to_do_and_where_each_copy_is(
    page: str, library: Path, results: dict[str, FileResult]
) -> None:
    """The report says what to do next (review, keep it private, erase what selfscan stored)
    and links each copy: a file to itself, an archive member to its archive."""
    steps = page.split('<section id="next">', 1)[1].split("</section>", 1)[0]
    assert "selfscan forget --all" in steps and "keep it private" in steps
    assert "photos to review" not in steps  # there are none
    assert f'href="{(library / "export.zip").as_uri()}"' in page
    assert f'href="{(library / "players.jpg").as_uri()}"' in page
    assert "%3Cimg%20src%3Dx%20onerror" in page  # the hostile name, quoted in its link
    # A smaller copy below the threshold on its own, grouped with a match, says so.
    small = replace(results["players-small.jpg"], status="possible")
    grouped = _report([results["players.jpg"], small])
    card = grouped.split('<section id="matches">', 1)[1].split("</article>", 1)[0]
    copies = {li.split("</code>")[0].rsplit("/", 1)[-1]: li for li in card.split("<li>")[1:]}
    assert "on its own: to review" in copies["players-small.jpg"]
    size = card.split("<dt>Size</dt><dd>", 1)[1].split("</dd>", 1)[0]
    assert "1237 x 800 px" in size and "742 x 480 px" in size  # each copy's own size
    assert 'alt="photo players.jpg, the face boxed"' in card
    assert "on its own" not in copies["players.jpg"]
    assert "dd{margin:0;word-break:break-word;white-space:pre-line}" in page  # a caption's lines


def test_identical_videos_are_one_card(samples: dict[str, Path], tmp_path: Path) -> None:
    """A video has no perceptual hash: the same video in a phone backup and in a Takeout
    export were two photos of you. Identical content (its fingerprint) makes them copies."""
    import numpy as np

    pytest.importorskip("av")
    him = np.asarray(Image.open(samples["yaoming"]).convert("RGB").resize((240, 296)))
    first = imagegen.encode_video(tmp_path / "a.mp4", [him] * 10, fps=10, codec="mpeg4")
    shutil.copyfile(first, tmp_path / "b.mp4")
    other = imagegen.encode_video(tmp_path / "c.mp4", [him[::-1]] * 10, fps=10, codec="mpeg4")

    def found(path: Path, fingerprint: str) -> FileResult:
        return FileResult(
            str(path), "match", 0.8, (FaceHit((60.0, 60.0, 180.0, 200.0), 0.9, 0.8, 0.5),),
            width=240, height=296, fingerprint=fingerprint,
            facts={"video": {"duration": 1.0}, "appearances": [0.5], "best_time": 0.5},
        )  # fmt: skip

    page = _report([found(first, "f1"), found(tmp_path / "b.mp4", "f1"), found(other, "f2")])
    cards = page.split('<section id="matches">', 1)[1].split("<article")[1:]
    assert len(cards) == 2 and _summary(page)["Photos of you"].startswith("2 (3 files")
    assert "2 copies" in cards[0] and "b.mp4" in cards[0] and "c.mp4" not in cards[0]
    assert "<dt>Video</dt><dd>0:01 long</dd>" in cards[0]
    assert 'alt="the best frame of the video a.mp4, the face boxed"' in cards[0]


def test_a_live_photo_is_one_card(samples: dict[str, Path], tmp_path: Path) -> None:
    """A phone saves a Live Photo as a still and a short video of one name side by side: one
    moment, one photo of you, not two. A video of another name, or in another folder, is not
    folded into it."""
    import numpy as np

    pytest.importorskip("av")
    phone, other = tmp_path / "DCIM", tmp_path / "elsewhere"
    phone.mkdir()
    other.mkdir()
    him = Image.open(samples["yaoming"]).convert("RGB").resize((240, 296))
    him.save(phone / "IMG_0001.JPG", quality=95)
    videos = (phone / "IMG_0001.MOV", phone / "IMG_0002.MOV", other / "IMG_0001.MOV")
    for n, video in enumerate(videos):  # each its own content, not copies of one video
        imagegen.encode_video(video, [np.asarray(him)] * (10 + n), fps=10, codec="mpeg4")
    found = _scan([phone, other], samples["yaoming"])
    assert {Path(r.path).parent.name + "/" + Path(r.path).name: r.status for r in found} == {
        "DCIM/IMG_0001.JPG": "match",
        "DCIM/IMG_0001.MOV": "match",
        "DCIM/IMG_0002.MOV": "match",
        "elsewhere/IMG_0001.MOV": "match",
    }
    page = _report(found)
    cards = page.split('<section id="matches">', 1)[1].split("<article")[1:]
    assert len(cards) == 3 and _summary(page)["Photos of you"].startswith("3 (4 files")
    live = next(c for c in cards if "IMG_0001.JPG" in c)
    assert "<h3>IMG_0001.JPG</h3>" in live  # the still leads, however the video scores
    assert "2 copies" in live and "DCIM/IMG_0001.MOV" in live
    assert "IMG_0002.MOV" not in live and "elsewhere" not in live


def test_the_camera_original_leads_its_copies(samples: dict[str, Path], tmp_path: Path) -> None:
    """A messaging app's re-share (no EXIF, recompressed, sorted first) headed the card of the
    camera's original; the copy that keeps its capture time leads, scores aside."""
    share, camera = tmp_path / "Android" / "WhatsApp Images", tmp_path / "DCIM"
    share.mkdir(parents=True)
    camera.mkdir()
    shutil.copyfile(samples["players"], share / "IMG-20230715-WA0003.jpg")  # no EXIF
    imagegen.recompressed(samples["players"], tmp_path / "q.jpg", 40)
    _with_exif(tmp_path / "q.jpg", camera / "IMG_1234.jpg")
    (tmp_path / "q.jpg").unlink()
    found = _scan([tmp_path], samples["yaoming"])
    assert [Path(r.path).name for r in found] == ["IMG-20230715-WA0003.jpg", "IMG_1234.jpg"]
    assert (found[0].score or 0) > (found[1].score or 0)  # the re-share reads more clearly
    cards = _report(found).split('<section id="matches">', 1)[1].split("<article")[1:]
    assert len(cards) == 1 and "<h3>IMG_1234.jpg</h3>" in cards[0]


def test_copies_grouped_into_one_entry(page: str) -> None:
    matches = page.split('<section id="matches">', 1)[1].split("</section>", 1)[0]
    cards = matches.split("<article")[1:]
    assert len(cards) == 2
    team = next(c for c in cards if "players-small.jpg" in c)
    for name in ("players.jpg", "players-rotated.jpg", "players-small.jpg", "onerror"):
        assert name in team
    assert "4 copies" in team
    holiday = next(c for c in cards if "holiday.jpg" in c)
    assert "players" not in holiday and "2 copies" in holiday
    assert "export.zip!/trip/holiday-copy.jpg" in holiday
    assert "48.85833, 2.29444" in holiday and "Canon EOS 5D" in holiday


def test_archive_member_gets_a_thumbnail(results: dict[str, FileResult]) -> None:
    page = _report([results["holiday-copy.jpg"]])
    assert page.count("data:image/jpeg;base64,") == 1


def test_errors_listed_collapsed(page: str) -> None:
    errors = page.split('<section id="errors">', 1)[1]
    assert errors.startswith("<details>") and "broken.jpg" in errors


def test_possible_goes_to_review(samples: dict[str, Path], results: dict[str, FileResult]) -> None:
    score = results["players.jpg"].score
    assert score is not None
    again = _scan([samples["players"]], samples["yaoming"], threshold=score + 0.01)[0]
    assert again.status == "possible"
    page = _report([again])
    assert '<section id="review">' in page
    review = page.split('<section id="review">', 1)[1]
    assert "players.jpg" in review and "data:image/jpeg;base64," in review
    assert _summary(page)["Photos of you"] == "0"


def test_only_matches_kept_in_memory(results: dict[str, FileResult]) -> None:
    from selfscan.reports.html import HtmlWriter

    writer = HtmlWriter(io.StringIO())
    no_match = results["gdp.jpg"]
    for _ in range(500):
        writer.add(no_match)
    writer.add(results["broken.jpg"])
    assert writer.entries == [] and len(writer.errors) == 1


def test_video_thumbnail_shows_the_best_frame(samples: dict[str, Path], tmp_path: Path) -> None:
    import numpy as np

    from selfscan.thumbs import thumbnail
    from selfscan.types import FaceHit

    pytest.importorskip("av")
    him = Image.open(samples["yaoming"]).convert("RGB").resize((240, 296))
    others = Image.open(samples["gdp"]).convert("RGB").resize((240, 296))
    frames = [np.asarray(im) for im in [others] * 10 + [him] * 10]
    path = imagegen.encode_video(tmp_path / "clip.mp4", frames, fps=10, codec="mpeg4")
    result = FileResult(
        str(path),
        "match",
        0.8,
        (FaceHit((60.0, 60.0, 180.0, 200.0), 0.9, 0.8),),
        width=240,
        height=296,
        facts={"video": {"duration": 2.0}, "appearances": [1.0, 1.5], "best_time": 1.5},
    )
    jpeg = thumbnail(str(path), result)
    assert jpeg is not None
    shot = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=np.float32)
    assert shot.shape[:2] == (296, 240)
    inside = (slice(80, 180), slice(80, 160))  # within the face box, clear of the outline
    to_him = np.abs(shot[inside] - np.asarray(him, dtype=np.float32)[inside]).mean()
    to_others = np.abs(shot[inside] - np.asarray(others, dtype=np.float32)[inside]).mean()
    assert to_him < to_others / 2
    page = _report([result])
    assert page.count("data:image/jpeg;base64,") == 1
    assert "0:01" in page  # when he appears
    path.unlink()
    assert thumbnail(str(path), result) is None


def test_a_small_face_in_a_video_is_shown_enlarged(
    samples: dict[str, Path], tmp_path: Path
) -> None:
    """The enlarged face was made for photos only: a face 9 px tall in a video's thumbnail was
    all a person had to check it by."""
    import numpy as np

    from selfscan.thumbs import preview
    from selfscan.types import FaceHit

    pytest.importorskip("av")
    frame_im = Image.new("RGB", (1600, 1200), (40, 90, 40))
    him = Image.open(samples["yaoming"]).convert("RGB").resize((100, 124))
    frame_im.paste(him, (700, 500))
    frames = [np.asarray(frame_im)] * 5
    path = imagegen.encode_video(tmp_path / "wide.mp4", frames, fps=5, codec="mpeg4")
    result = FileResult(
        str(path), "match", 0.8, (FaceHit((720.0, 520.0, 780.0, 600.0), 0.9, 0.8, 0.4),),
        width=1600, height=1200, facts={"video": {"duration": 1.0}, "best_time": 0.4},
    )  # fmt: skip
    shot = preview(str(path), result)
    assert shot.jpeg is not None and shot.face is not None
    face = Image.open(io.BytesIO(shot.face)).convert("RGB")
    assert 100 <= max(face.size) <= 160
    middle = np.asarray(face, dtype=np.float32)[face.height // 3 : -face.height // 3]
    assert np.abs(middle - np.array([40, 90, 40], np.float32)).mean() > 30  # him, not the wall


def test_a_card_shows_what_any_of_its_copies_gives_away(
    samples: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two copies of one photo, only one with GPS and a capture time: the card shows both (it
    showed the best-scoring copy's "none recorded" while the summary counted the location),
    and the list of copies says which one carries the location."""
    lib = tmp_path / "lib"
    lib.mkdir()
    _with_exif(samples["yaoming"], lib / "b-with-gps.jpg")
    Image.open(samples["yaoming"]).save(lib / "a-plain.jpg", quality=95)
    monkeypatch.setenv("SELFSCAN_HOME", str(tmp_path / "home"))
    results = _scan([lib], samples["yaoming"])
    assert [r.status for r in results] == ["match", "match"]
    for order in (results, results[::-1]):
        page = _report(order, threshold=0.4)
        cards = page.split('<section id="matches">', 1)[1].split("<article")[1:]
        assert len(cards) == 1 and "2 copies" in cards[0]
        card = cards[0]
        assert "48.85833, 2.29444" in card and "2021-07-04 10:00:00" in card
        assert "Canon EOS 5D" in card and "none recorded" not in card
        copies = card.split('class="where"', 1)[1].split("<li>")[1:]
        marked = {c.split("</code>")[0].rsplit("/", 1)[-1]: "has a location" in c for c in copies}
        assert marked == {"a-plain.jpg": False, "b-with-gps.jpg": True}
        # the facts only one copy gives name it by its number in the list
        gps = 1 + [c.split("</code>")[0].endswith("b-with-gps.jpg") for c in copies].index(True)
        assert "<ol>" in card and f"2.29444 (from the photo) [copy {gps}]" in card
        assert f"Canon EOS 5D [copy {gps}]" in card


def test_record_formats_count_matching_faces_like_the_report() -> None:
    """Two faces of the person in one photo: JSON, JSONL and CSV count both as theirs (they
    counted only the one whose similarity equals the file's score), as the HTML report does."""
    import csv
    import json

    from selfscan.types import FaceHit

    faces = (
        FaceHit((10.0, 10.0, 60.0, 70.0), 0.9, 0.6358),
        FaceHit((100.0, 10.0, 150.0, 70.0), 0.9, 0.6369),
        FaceHit((200.0, 10.0, 250.0, 70.0), 0.9, 0.05),
    )
    result = FileResult("twice.jpg", "match", 0.6369, faces, width=300, height=100)
    for fmt in ("jsonl", "json", "csv"):
        buf = io.StringIO()
        writer = writer_for(fmt, buf, threshold=0.4)
        writer.add(result)
        writer.close(ScanSummary(total=1, counts={"match": 1}))
        if fmt == "csv":
            row = next(csv.DictReader(io.StringIO(buf.getvalue())))
            assert row["other_faces"] == "1"
            continue
        text = buf.getvalue()
        doc = json.loads(text) if fmt == "json" else {"results": [json.loads(text)]}
        exposure = doc["results"][0]["exposure"]
        assert (exposure["matching_faces"], exposure["other_faces"]) == (2, 1)


def test_times_say_which_clock_they_are_on() -> None:
    """An export's epoch is UTC, a photo's EXIF time the camera's own clock: side by side on a
    card, 10:00 and 12:00 of the same moment looked like two times without the clock named."""
    from selfscan.reports.cardtext import clock_time as _clock_time

    assert _clock_time("2019-06-01T10:00:00Z") == "2019-06-01 10:00:00 UTC"
    assert _clock_time("2019-06-01T12:00:00") == (
        "2019-06-01 12:00:00 (camera clock, time zone unknown)"
    )  # "local time" read as the reader's own
    from selfscan.reports.cardtext import when_text

    said = when_text({"taken": "2019-06-01T12:00:00", "taken_source": "exif"})
    assert said == "2019-06-01 12:00:00 (camera clock, time zone unknown); from the photo"
    assert _clock_time("2019-06-01T12:00:00+02:00") == "2019-06-01 12:00:00 (UTC+02:00)"


def test_a_card_says_what_its_facts_may_be_missing(results: dict[str, FileResult]) -> None:
    """A Takeout sidecar that could not be read, or a video read only up to its damage: the
    card says so (it showed "Taken unknown" with no hint)."""
    from dataclasses import replace

    match = next(r for r in results.values() if r.status == "match")
    facts = {**(match.facts or {})}
    facts["source"] = {**facts.get("source", {}), "sidecar_error": "cannot read sidecar: truncated"}
    page = _report([replace(match, facts=facts)])
    assert "cannot read sidecar: truncated" in page


def test_bidi_and_control_characters_are_shown_not_obeyed(tmp_path: Path) -> None:
    """A name with U+202E would read reversed in a browser or a spreadsheet (and reverse the
    text after it): shown as an escape, as in the terminal; in a caption, line breaks stay."""
    name = str(tmp_path / "holiday_\u202egnp.jpg")
    facts = {"source": {"title": "caf\u00e9\u202e\nline two"}}
    result = FileResult(name, "error", error="cannot read", facts=facts)
    page = _report([result])
    assert "\u202e" not in page and "holiday_\\u202egnp.jpg" in page
    buf = io.StringIO()
    writer = writer_for("csv", buf)
    writer.add(result)
    writer.close(ScanSummary())
    assert "\u202e" not in buf.getvalue() and "holiday_\\u202egnp.jpg" in buf.getvalue()


def test_two_shots_of_one_scene_are_not_copies(
    samples: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """Two photos of the same background with him in different places hash alike (a dhash
    sees the background); they are two cards, while a rescaled copy still joins its original."""
    me = Image.open(samples["yaoming"])
    background = Image.open(samples["gdp"]).convert("RGB").resize((1600, 1200))
    for name, where in (("shot_a.jpg", (100, 100)), ("shot_b.jpg", (1250, 850))):
        shot = background.copy()
        shot.paste(me, where)
        shot.save(tmp_path / name, quality=92)
    imagegen.rescaled(tmp_path / "shot_a.jpg", tmp_path / "shot_a_small.jpg", 0.5)
    found = _scan([tmp_path / n for n in ("shot_a.jpg", "shot_b.jpg", "shot_a_small.jpg")],
                  samples["yaoming"])  # fmt: skip
    assert [r.status for r in found] == ["match"] * 3
    page = _report(found)
    assert len(re.findall(r"<article ", page)) == 2, page
    assert page.count("<img ") - page.count('<img class="face"') == 2


def test_only_errors_are_shown_open_and_the_report_time_has_its_zone(
    results: dict[str, FileResult],
) -> None:
    page = _report([results["broken.jpg"]])
    errors = page.split('<section id="errors">', 1)[1]
    assert errors.startswith("<details open>") and "broken.jpg" in errors
    assert re.search(r"selfscan report, \d{4}-\d\d-\d\d \d\d:\d\d \(UTC[+-]\d\d:\d\d\)", page)


def test_taken_range_leaves_out_posting_times(results: dict[str, FileResult]) -> None:
    """A Messenger photo's time is when it was sent, said so on its card; the summary's
    "Taken" range is of capture times only."""
    taken = results["holiday.jpg"]  # EXIF: 2021-07-04
    posted = FileResult(
        "/x/messages/photo.jpg", "match", 0.7, faces=taken.faces, width=taken.width,
        height=taken.height,
        facts={"source": {"taken_time": 1_700_000_000, "posted_time": 1_700_000_000}},
    )  # fmt: skip
    summary = _summary(_report([taken, posted]))
    assert summary["Taken"] == "2021-07-04"


def test_a_place_says_where_it_came_from() -> None:
    from selfscan.reports.cardtext import where_text

    place = {"has_location": True, "latitude": 48.8584, "longitude": 2.2945, "place": None}
    assert where_text({**place, "location_source": "video"}).endswith("(from the video)")
    assert where_text({**place, "location_source": "exif"}).endswith("(from the photo)")
    assert where_text({**place, "location_source": "export"}).endswith("(from the export)")
    from selfscan.reports.cardtext import size_text

    size = {"width": 640, "height": 480}
    assert size_text({**size, "file_size": 43_210}) == "640 x 480 px, 43 kB"  # not "0.0 MB"
    assert size_text({**size, "file_size": 4_321_000}) == "640 x 480 px, 4.3 MB"


def test_a_photo_read_turned_is_shown_the_right_way_up(
    samples: dict[str, Path], tmp_path: Path, analyzer: FaceAnalyzer
) -> None:
    """A team photo stored upside down with no orientation tag is read turned; its card says so
    and shows it, and his enlarged face, the right way up (as stored they were upside down)."""
    from selfscan.images import decode
    from selfscan.references import build_profile
    from selfscan.thumbs import dhash, preview

    stored = tmp_path / "scan-of-a-print.jpg"
    with Image.open(samples["players"]) as im:
        upright = im.convert("RGB")
    upright.rotate(180).save(stored, quality=95)
    (result,) = _scan([stored], samples["yaoming"])
    assert result.status == "match" and result.facts["photo"]["turned"] == 180
    shown = preview(result.path, result)
    assert shown.jpeg is not None and shown.face is not None
    thumb = Image.open(io.BytesIO(shown.jpeg))
    assert hamming(dhash(thumb), dhash(upright)) <= 8
    assert hamming(dhash(thumb), dhash(upright.rotate(180))) > 20
    face = decode(shown.face, 640)
    found = analyzer.embed(face, analyzer.detect(face, DetectPlan(long_sides=(640,))))
    him = build_profile(analyzer, [samples["yaoming"]]).references[0].embedding
    assert max(float(f.embedding @ him) for f in found if f.embedding is not None) > 0.4
    page = _report([result])
    assert "upside down, with no orientation tag: shown turned 180° clockwise" in page


def test_a_face_shown_turned_is_measured_as_it_stands() -> None:
    """Whether a face is enlarged goes by its height as the thumbnail shows it: on a photo
    shown turned a quarter, the stored box's width."""
    from selfscan.thumbs import _enlarged_face

    result = FileResult(
        "/p/side.jpg", "match", 0.7, (FaceHit((100.0, 100.0, 400.0, 800.0), 0.9, 0.7),),
        width=4000, height=3000,
    )  # fmt: skip

    def load(side: int) -> Image.Image:
        return Image.new("RGB", (side, side * 3 // 4), "grey")

    # 700 px tall as stored: 56 px in a 320 px thumbnail; 300 px wide: 24 px when turned
    assert _enlarged_face(load, result, 320) is None
    assert _enlarged_face(load, result, 320, sideways=True) is not None


def test_a_group_holding_a_match_is_a_photo_of_you() -> None:
    """A Live Photo whose video matches and whose still is only possible was counted as no
    photo of you (its still led the card, and the card was filed by its status)."""
    still = FileResult("/d/IMG_0001.JPG", "possible", 0.57, width=400, height=300)
    video = FileResult(
        "/d/IMG_0001.MOV", "match", 0.75, width=400, height=300, facts={"video": {"duration": 2.0}}
    )
    page = _report([still, video])
    assert _summary(page)["Photos of you"].startswith("1 (2 files")
    matches = page.split('<section id="matches">', 1)[1].split("</section>", 1)[0]
    assert "IMG_0001.JPG" in matches and "IMG_0001.MOV" in matches


def test_the_duplicate_hash_is_of_the_photo_not_of_the_boxes_drawn(
    results: dict[str, FileResult],
) -> None:
    """The hash that tells copies was taken after the face boxes were drawn on the thumbnail,
    so it changed with --threshold (which boxes more faces)."""
    from selfscan.images import open_for_thumbnail
    from selfscan.thumbs import THUMB_SIDE, dhash, preview

    r = results["players.jpg"]
    plain = dhash(open_for_thumbnail(r.path, THUMB_SIDE))
    assert preview(r.path, r).phash == plain
    assert preview(r.path, r, threshold=0.01).phash == plain


def test_a_copy_saved_later_does_not_lead_nor_date_the_card() -> None:
    """A copy whose only EXIF time is when an editor saved it led the card, its save time
    shown as when the photo was taken and stretching the report's date range."""
    original = FileResult(
        "/d/IMG_0001.jpg", "match", 0.6, width=400, height=300,
        facts={"photo": {"captured_at": "2023-07-15T14:32:10"}},
    )  # fmt: skip
    saved = FileResult(
        "/e/IMG_0001.jpg", "match", 0.8, width=400, height=300,
        facts={"photo": {"captured_at": "2024-01-02T09:00:00", "captured_saved": True}},
    )  # fmt: skip
    page = _report([saved, original])
    assert _summary(page)["Taken"] == "2023-07-15"
    card = page.split('<section id="matches">', 1)[1].split("<article")[1]
    assert "when the file was last saved" in card
