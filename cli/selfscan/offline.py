"""Import insightface without its downloader and without the parts selfscan does not use.

insightface imports ``requests`` for a model downloader selfscan never uses, and importing
``requests`` makes urllib3 bind a loopback socket to probe for IPv6. selfscan opens no socket, so
insightface is imported with ``requests`` replaced by a stub that refuses to be used: the import
works, and any download attempt fails loudly instead of reaching the network.

insightface's package also imports its ``app`` subpackage (``FaceAnalysis``, which downloads
missing packs, and a liveness add-on that pulls in SciPy) and ``thirdparty``: about 0.25 s of the
0.5 s that importing insightface takes in every process that loads the models (measured with
``python -X importtime``). selfscan uses
the detector and recognizer classes and the alignment only, so those subpackages are stood in
for by empty modules while insightface is imported (and the plain import is used if that fails,
should a later insightface need them).
"""

from __future__ import annotations

import sys
import types
from typing import NoReturn

from .errors import ModelError


class _NoDownloads(types.ModuleType):
    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__"):
            raise AttributeError(name)
        raise ModelError("selfscan never downloads at run time; use 'selfscan models install'")


# insightface subpackages its package imports that selfscan never uses.
UNUSED = ("insightface.app", "insightface.thirdparty")


def import_insightface() -> None:
    """Import the insightface modules selfscan uses, with the downloader disabled."""
    if "insightface" in sys.modules:
        return
    real = sys.modules.get("requests")
    if real is None:
        sys.modules["requests"] = _NoDownloads("requests")
    try:
        try:
            _import_without(UNUSED)
        except Exception:  # an insightface that needs them: import it whole
            for name in [
                m for m in sys.modules if m == "insightface" or m.startswith("insightface.")
            ]:
                del sys.modules[name]
            _import_without(())
    finally:
        if real is None:
            sys.modules.pop("requests", None)


def _import_without(unused: tuple[str, ...]) -> None:
    stubs = {name: types.ModuleType(name) for name in unused if name not in sys.modules}
    sys.modules.update(stubs)
    try:
        import insightface.model_zoo.arcface_onnx
        import insightface.model_zoo.scrfd
        import insightface.utils.face_align  # noqa: F401
    finally:
        for name, stub in stubs.items():
            if sys.modules.get(name) is stub:
                del sys.modules[name]
