"""Where the models run: ``--device auto|cpu|cuda``.

The comparison tests run only where onnxruntime-gpu runs a CUDA session (``selfscan doctor``
says ``cuda: usable``); the others run everywhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from selfscan import devices
from selfscan.errors import InputError, ModelError
from selfscan.faces import FaceAnalyzer
from selfscan.geometry import iou
from selfscan.images import decode
from selfscan.models import create_session, load_pack

ORT_MISSING_CUBLAS = (
    "\x1b[1;31m2026-11-23 03:47:00.891591955 [E:onnxruntime:Default, provider_bridge_ort.cc:2458 "
    "operator()] /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:2043 "
    "onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : "
    "Failed to load library /x/onnxruntime/capi/libonnxruntime_providers_cuda.so with error: "
    "libcublasLt.so.13: cannot open shared object file: No such file or directory\n\x1b[m\n"
    "\x1b[0;93m2026-11-23 03:47:00.891637670 [W:onnxruntime:Default, "
    "onnxruntime_pybind_state.cc:1295 CreateExecutionProviderFactoryInstance] Failed to create "
    "CUDAExecutionProvider. Require cuDNN 9.* and CUDA 13.*.\x1b[m\n"
    "onnxruntime ran the session on the CPU\n"
)
ORT_NO_DEVICE = (
    "2026-11-23 [E:onnxruntime:Default, cuda_call.cc:123 CudaCall] CUDA failure 100: no "
    "CUDA-capable device is detected ; GPU=0 ; hostname=x ; file=cuda_execution_provider.cc\n"
)


def cuda_usable() -> bool:
    return devices.cuda_problem() is None


@pytest.fixture
def cuda() -> None:
    if not cuda_usable():
        pytest.skip(f"no usable CUDA here: {devices.cuda_problem()}")


def test_reasons_are_the_telling_line() -> None:
    assert devices.probe_reason(ORT_MISSING_CUBLAS) == (
        "libcublasLt.so.13: cannot open shared object file: No such file or directory"
    )
    assert devices.probe_reason(ORT_NO_DEVICE) == (
        "CUDA failure 100: no CUDA-capable device is detected"
    )
    assert devices.probe_reason("Failed to create CUDAExecutionProvider. x") == (
        "onnxruntime could not start its CUDA provider (CUDA or cuDNN missing)"
    )
    assert (
        devices.probe_reason("\n  something else went wrong  \n\n") == "something else went wrong"
    )
    assert devices.probe_reason("") == "a CUDA session would not start"


def test_auto_falls_back_and_cuda_by_name_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "cuda_problem", lambda: "libcudnn.so.9: cannot open")
    assert devices.resolve_device("auto") == "cpu"
    assert devices.resolve_device("cpu") == "cpu"
    assert devices.providers_for("auto") == ["CPUExecutionProvider"]
    with pytest.raises(ModelError, match=r"working CUDA install: libcudnn\.so\.9: cannot open"):
        devices.resolve_device("cuda")
    with pytest.raises(InputError, match="unknown device 'gpu'"):
        devices.resolve_device("gpu")
    monkeypatch.setattr(devices, "cuda_problem", lambda: None)
    monkeypatch.setattr(devices, "preload_cuda", lambda: None)
    assert devices.resolve_device("auto") == "cuda"
    assert devices.providers_for("cuda") == [
        ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"}),
        "CPUExecutionProvider",
    ]
    assert devices.resolve_device("cpu") == "cpu"


def onnxruntime_with(*providers: str) -> object:
    """A stand-in for the onnxruntime module that lists ``providers``."""
    return type("Onnxruntime", (), {"get_available_providers": staticmethod(lambda: [*providers])})


def no_child(*args: object, **kwargs: object) -> None:
    raise AssertionError("a child process was started to try CUDA")


def fresh_problem(monkeypatch: pytest.MonkeyPatch, ort: object, run: object) -> str | None:
    """``cuda_problem`` asked anew, with ``ort`` as onnxruntime and ``run`` for the child."""
    monkeypatch.setattr(devices, "onnxruntime", lambda: ort)
    monkeypatch.setattr(devices.subprocess, "run", run)
    devices._tried.cache_clear()
    try:
        return devices.cuda_problem()
    finally:
        devices._tried.cache_clear()


def test_cpu_only_onnxruntime_is_not_tried_in_a_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without onnxruntime-gpu the answer needs no child process (every scan asks)."""
    ort = onnxruntime_with("AzureExecutionProvider", "CPUExecutionProvider")
    problem = fresh_problem(monkeypatch, ort, no_child)
    assert problem is not None and problem.startswith("onnxruntime-gpu is not installed")
    assert "pip install 'onnxruntime-gpu[cuda,cudnn]'" in problem


def test_a_failed_probe_is_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """onnxruntime-gpu installed where CUDA cannot load: the child's messages give the reason,
    and nothing of them reaches the terminal."""

    def failing(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        assert kwargs.get("capture_output") is True
        return subprocess.CompletedProcess([], 1, "", ORT_MISSING_CUBLAS)

    ort = onnxruntime_with("CUDAExecutionProvider", "CPUExecutionProvider")
    problem = fresh_problem(monkeypatch, ort, failing)
    assert problem is not None and problem.startswith("libcublasLt.so.13: cannot open")


def test_the_probe_child_reports_what_this_onnxruntime_does() -> None:
    """The real child, run here: ``cuda ok`` where CUDA runs, else exit 1 with a reason."""
    done = subprocess.run(
        [sys.executable, "-c", devices._PROBE], capture_output=True, text=True, check=False
    )
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        assert done.returncode != 0  # the session cannot ask for CUDA at all
    elif done.returncode == 0:
        assert done.stdout.strip() == "cuda ok"
    else:
        assert devices.probe_reason(done.stderr)


def test_doctor_says_whether_cuda_runs() -> None:
    from selfscan.doctor import diagnose

    cuda = diagnose()["cuda"]
    assert cuda == "usable" if cuda_usable() else cuda.startswith("not usable: ")


def test_cuda_finds_and_embeds_what_the_cpu_does(cuda: None, samples: dict[str, Path]) -> None:
    """The same faces, boxes and embeddings on the GPU as on the CPU (float32 on both; cuDNN
    picks other algorithms, so they agree to rounding, not bit for bit)."""
    pack = load_pack()
    cpu, gpu = FaceAnalyzer(pack, "cpu"), FaceAnalyzer(pack, "cuda")
    for key in ("t1", "players", "yaoming"):
        image = decode(samples[key], 2016)
        on_cpu, on_gpu = cpu.analyze(image), gpu.analyze(image)
        assert len(on_cpu) >= 1
        assert abs(len(on_cpu) - len(on_gpu)) <= max(1, len(on_cpu) // 50), key
        # faces of a few pixels at the threshold come and go with the context; those from
        # 40 px (that selfscan finds for certain) must all be there, alike
        assert any(face.height >= 40 for face in on_cpu), key
        for face in (f for f in on_cpu if f.height >= 40):
            best = max(on_gpu, key=lambda other: iou(face.box, other.box))
            assert iou(face.box, best.box) > 0.9, key
            if face.embedding is not None and best.embedding is not None:
                assert float(face.embedding @ best.embedding) > 0.99, key


def test_sessions_really_run_on_the_gpu(cuda: None) -> None:
    pack = load_pack()
    session = create_session(pack.detector_path, devices.providers_for("cuda"), 1)
    assert session.get_providers()[0] == "CUDAExecutionProvider"
    x = np.random.default_rng(0).random((1, 3, 640, 640), dtype=np.float32)
    assert session.run(None, {session.get_inputs()[0].name: x})


@pytest.mark.parametrize("workers", ["1", "2"])
def test_find_on_cuda_finds_him(
    cuda: None, samples: dict[str, Path], library: Path, workers: str, home: Path
) -> None:
    """A whole scan on the GPU, as a user runs it: the same answers as on the CPU, and none of
    onnxruntime's own log lines on the terminal (they go straight to descriptor 2)."""
    from tests.child import selfscan

    done = selfscan(
        "find", "--me", samples["yaoming"], library, "--device", "cuda",
        "--workers", workers, "--format", "jsonl", "--no-progress",
        env={**os.environ, "SELFSCAN_HOME": str(home)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = map(json.loads, done.stdout.splitlines())
    statuses = {Path(r["path"]).name: r["status"] for r in rows}
    assert statuses == {"gdp.jpg": "no_match", "players.jpg": "match", "t1.jpg": "no_match"}
    assert "onnxruntime" not in done.stderr and "[W:" not in done.stderr, done.stderr


def test_a_rescan_does_not_try_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--device cuda`` with onnxruntime-gpu installed is let through before the scan without
    starting a CUDA session: only a file that needs the models tries it."""
    gpu_build = onnxruntime_with("CUDAExecutionProvider", "CPUExecutionProvider")
    monkeypatch.setattr(devices, "onnxruntime", lambda: gpu_build)
    monkeypatch.setattr(devices.subprocess, "run", no_child)
    devices.refuse_uninstalled("cuda")
    devices.refuse_uninstalled("auto")
    with pytest.raises(InputError):
        devices.refuse_uninstalled("tpu")
    cpu_only = onnxruntime_with("CPUExecutionProvider")
    monkeypatch.setattr(devices, "onnxruntime", lambda: cpu_only)
    with pytest.raises(ModelError, match="onnxruntime-gpu is not installed"):
        devices.refuse_uninstalled("cuda")
    devices.refuse_uninstalled("auto")


def test_gpu_sides_hold_the_input_and_are_few() -> None:
    from selfscan.geometry import GPU_SIDES, gpu_side

    assert [gpu_side(s) for s in (32, 128, 129, 1512, 2016, 2048, 2080)] == [
        128, 128, 192, 1536, 2048, 2048, 2560,
    ]  # fmt: skip
    sides = {gpu_side(s) for s in range(32, 2049, 32)}
    assert sides == set(GPU_SIDES)


def test_gpu_input_shapes_find_what_the_cpu_does(
    samples: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GPU's way (inputs padded to a few sides, a session for each, recogniser batches
    padded to one size), run here on the CPU: the same faces and embeddings, few shapes."""
    from selfscan import faces as faces_module
    from selfscan.analyze import PLANS
    from selfscan.geometry import GPU_SIDES

    pack = load_pack()
    plain = FaceAnalyzer(pack, "cpu")
    plain._load()
    monkeypatch.setattr(faces_module, "wants_cuda", lambda providers: True)
    padded = FaceAnalyzer(pack, "cpu")
    batches: list[int] = []
    side, plan = PLANS["default"]
    for key in ("t1", "players", "yaoming"):
        image = decode(samples[key], side)
        expected = plain.analyze(image, plan)
        if not batches:
            real = padded._recognizer
            padded.analyze(image, plan)  # loads the sessions
            get_feat = padded._recognizer.get_feat
            monkeypatch.setattr(
                padded._recognizer,
                "get_feat",
                lambda crops, get_feat=get_feat: (batches.append(len(crops)), get_feat(crops))[1],
            )
            assert real is None
        found = padded.analyze(image, plan)
        # the crowd in the stands behind the team: a face or two at the threshold may differ
        assert abs(len(found) - len(expected)) <= max(1, len(expected) // 50), key
        # faces of a few pixels at the threshold come and go with the context; those from
        # 40 px (that selfscan finds for certain) must all be there, alike
        assert any(face.height >= 40 for face in expected), key
        for face in (f for f in expected if f.height >= 40):
            best = max(found, key=lambda other: iou(face.box, other.box))
            assert iou(face.box, best.box) > 0.9, key
            if face.embedding is not None:
                assert best.embedding is not None
                assert float(face.embedding @ best.embedding) > 0.99, key
    assert batches and set(batches) == {16}
    shapes = padded._detector.resolution_session_input_sizes
    assert shapes and all(w in GPU_SIDES and h in GPU_SIDES for w, h in shapes), shapes
    sessions = padded._detector.resolution_sessions
    assert len({id(s) for s in sessions.values()}) == len(shapes)
    for (w, h), session in sessions.items():
        assert session.get_inputs()[0].shape == [1, 3, h, w]
        assert session.get_providers() == ["CPUExecutionProvider"]
    # on the CPU, one session takes every size
    assert len({id(s) for s in plain._detector.resolution_sessions.values()}) == 1


def test_workers_trust_the_scan_that_started_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker started for ``cuda`` does not try CUDA again (the scan did, once)."""

    monkeypatch.setattr(devices.subprocess, "run", no_child)
    monkeypatch.setattr(devices, "_TRUSTED", [])
    devices._tried.cache_clear()
    devices.trust_cuda()
    assert devices.cuda_problem() is None
    assert devices.resolve_device("auto") == "cuda"
