"""Where the models run: the CPU, or an NVIDIA GPU through onnxruntime-gpu.

``auto`` (the default) takes CUDA when it works and the CPU otherwise; ``cuda`` asked for by
name is refused with the reason when it cannot run. That CUDA works is only known by trying:
onnxruntime-gpu lists its CUDA provider whether or not the GPU, the driver and the CUDA and
cuDNN libraries are there, and a session that cannot load them quietly runs on the CPU after
printing onnxruntime's own error lines. So the first scan that needs the models tries a tiny
session in a child process, with its messages captured, and remembers the answer for the
process.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from functools import lru_cache
from typing import Any

from .errors import InputError, ModelError

DEVICES = ("auto", "cpu", "cuda")
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
# cuDNN picks each convolution's algorithm by its heuristics. Measured on an H100 (onnxruntime-gpu
# 1.31.1, the detector): a new input shape costs 0.1-3.0 s of planning with HEURISTIC, 0.6-3.2 s
# with EXHAUSTIVE (onnxruntime's default), and a shape seen before about 3 ms with either; DEFAULT
# plans nothing and runs every convolution in a fallback, 100-190 ms a run. (So the detector's
# inputs come in a few fixed shapes on a GPU: geometry.gpu_shape.)
CUDA_OPTIONS = {"cudnn_conv_algo_search": "HEURISTIC"}
# A child process that builds a tiny CUDA session and runs it once.
_PROBE = "from selfscan.devices import cuda_probe; cuda_probe()"
_PROBE_OK = "cuda ok"
_PROBE_TIMEOUT_S = 120.0
_NEED = "--device cuda needs onnxruntime-gpu with a working CUDA install"
_FIX = (
    "install onnxruntime-gpu for the CUDA and cuDNN versions of this machine's NVIDIA driver "
    "(pip install 'onnxruntime-gpu[cuda,cudnn]'), or use --device cpu"
)


def check_device(device: str) -> None:
    """An ``InputError`` for a device name other than auto, cpu or cuda (whether CUDA works is
    known only by trying it: :func:`resolve_device`)."""
    if device not in DEVICES:
        raise InputError(f"unknown device {device!r}: use {', '.join(DEVICES)}")


def onnxruntime() -> Any:
    """The onnxruntime module, its telemetry off (the switch in ``selfscan/__init__`` keeps it
    from starting; this also stops events from a process that imported onnxruntime first)."""
    import onnxruntime as ort

    with contextlib.suppress(AttributeError):
        ort.disable_telemetry_events()
    return ort


def refuse_uninstalled(device: str) -> None:
    """``--device cuda`` without onnxruntime-gpu: a ``ModelError`` at once, without trying
    CUDA (a rescan that needs no model would not try it at all)."""
    check_device(device)
    if device == "cuda" and (problem := _not_installed()) is not None:
        raise ModelError(f"{_NEED}: {problem}")


def _not_installed() -> str | None:
    available = onnxruntime().get_available_providers()
    if CUDA in available:
        return None
    return (
        f"onnxruntime-gpu is not installed (providers here: {', '.join(available)}); "
        "pip install 'onnxruntime-gpu[cuda,cudnn]'"
    )


def resolve_device(device: str) -> str:
    """``cpu`` or ``cuda``: where ``device`` (auto, cpu or cuda) runs the models here. ``cuda``
    that cannot run is a ``ModelError`` that says why."""
    check_device(device)
    if device == "cpu":
        return "cpu"
    problem = cuda_problem()
    if problem is None:
        return "cuda"
    if device == "cuda":
        raise ModelError(f"{_NEED}: {problem}")
    return "cpu"


def providers_for(device: str) -> list[Any]:
    """onnxruntime providers (with their options) for ``auto``, ``cpu`` or ``cuda``."""
    if resolve_device(device) == "cpu":
        return [CPU]
    preload_cuda()
    return [(CUDA, dict(CUDA_OPTIONS)), CPU]


def wants_cuda(providers: list[Any]) -> bool:
    return any((p[0] if isinstance(p, tuple) else p) == CUDA for p in providers)


# [True] in a worker process whose parent found CUDA working (see ``trust_cuda``).
_TRUSTED: list[bool] = []


def trust_cuda() -> None:
    """In a worker process: the scan that started it found CUDA working, so it is not tried
    again (each try is a child process that starts CUDA: a second or more)."""
    _TRUSTED[:] = [True]


def cuda_problem() -> str | None:
    """None when a CUDA session runs here; otherwise why not, in a few words."""
    return None if _TRUSTED else _tried()


@lru_cache(maxsize=1)
def _tried() -> str | None:
    if (problem := _not_installed()) is not None:
        return problem
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"a first CUDA session did not start within {_PROBE_TIMEOUT_S:.0f} s"
    except OSError as exc:
        return f"cannot start a process to try CUDA: {exc.strerror or exc}"
    if done.returncode == 0 and done.stdout.strip().endswith(_PROBE_OK):
        return None
    return f"{probe_reason(done.stdout + done.stderr)}; {_FIX}"


def probe_reason(text: str) -> str:
    """The telling line of what a failed CUDA session printed (onnxruntime's log lines are
    long and coloured)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    for pattern in (
        r"with error: (.+)",  # a library that would not load: "libcublasLt.so.13: cannot open..."
        r"(CUDA failure \d+: [^;\n]+)",  # no device, a driver too old
        r"(CUDA error[^\n]*)",
        r"(cudaError\w*[^\n]*)",
    ):
        found = re.search(pattern, text)
        if found:
            return found.group(1).strip()[:300]
    if re.search(r"Failed to create CUDAExecutionProvider", text):
        return "onnxruntime could not start its CUDA provider (CUDA or cuDNN missing)"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "a CUDA session would not start"


@lru_cache(maxsize=1)
def preload_cuda() -> None:
    """Load the CUDA and cuDNN libraries of the ``nvidia-*`` wheels that
    ``onnxruntime-gpu[cuda,cudnn]`` installs, so that its CUDA provider finds them without
    ``LD_LIBRARY_PATH``. Libraries already on the loader's path are used as they are. What
    onnxruntime prints about libraries it did not find is dropped: a session that still cannot
    load them says so itself."""
    preload = getattr(onnxruntime(), "preload_dlls", None)  # onnxruntime-gpu 1.21 and later
    if preload is None:
        return
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):
        preload()


def cuda_probe() -> None:
    """In a child process: one tiny session on CUDA, run once. Prints ``cuda ok``, or exits 1
    with what went wrong on stderr (onnxruntime's own log lines included)."""
    import numpy as np
    from onnx import TensorProto, helper

    ort = onnxruntime()
    preload_cuda()
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=[(CUDA, CUDA_OPTIONS)])
    if CUDA not in session.get_providers():
        sys.stderr.write("onnxruntime ran the session on the CPU\n")
        sys.exit(1)
    out = session.run(None, {"x": np.array([[-1, 0, 1, 2]], np.float32)})[0]
    if out.tolist() != [[0.0, 0.0, 1.0, 2.0]]:
        sys.stderr.write(f"CUDA gave a wrong result: {out.tolist()}\n")
        sys.exit(1)
    print(_PROBE_OK)
