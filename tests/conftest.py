"""Shared fixtures: the packaged sample photos, a small library of them, a private data dir per
test, the real models."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from selfscan.faces import FaceAnalyzer
from selfscan.models import load_pack, vectron_model_dir

SHARED_FACES = Path(__file__).resolve().parents[2] / "shared" / "faces"


def _insightface_images() -> Path:
    spec = importlib.util.find_spec("insightface")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "images"


@pytest.fixture(scope="session")
def samples() -> dict[str, Path]:
    """Real photos shipped with the installed packages (never copied into the repo)."""
    vectron = vectron_model_dir()
    assert vectron is not None
    found = {
        "yaoming": vectron / "yaoming.jpg",  # one face: the man in players.jpg
        "players": vectron / "players.jpg",  # team photo, 22 faces, him among them
        "gdp": vectron / "gdp.jpg",  # five other people
        "t1": _insightface_images() / "t1.jpg",  # group of six other people
    }
    for path in found.values():
        assert path.is_file(), path
    return found


@pytest.fixture
def library(samples: dict[str, Path], tmp_path: Path) -> Path:
    """A folder of three sample photos: the team photo with him, and two without him."""
    lib = tmp_path / "photos"
    lib.mkdir()
    for key in ("players", "gdp", "t1"):
        shutil.copyfile(samples[key], lib / f"{key}.jpg")
    return lib


@pytest.fixture(autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty data dir: nothing touches the user's real one."""
    path = tmp_path_factory.mktemp("home") / "selfscan"
    monkeypatch.setenv("SELFSCAN_HOME", str(path))
    monkeypatch.delenv("SELFSCAN_MODEL", raising=False)
    return path


@pytest.fixture(scope="session")
def analyzer() -> FaceAnalyzer:
    """The real default models, loaded once for the session."""
    return FaceAnalyzer(load_pack("buffalo_s"), device="cpu", threads=1)


@pytest.fixture(scope="session")
def shared_faces() -> tuple[Path, dict]:
    """The labelled photos beside the project, when present."""
    labels = SHARED_FACES / "labels.json"
    if not labels.is_file():
        pytest.skip("../shared/faces is not present")
    return SHARED_FACES, json.loads(labels.read_text())
