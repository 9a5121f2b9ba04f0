"""Import insightface without its downloader.

insightface imports ``requests`` for a model downloader selfscan never uses, and importing
``requests`` makes urllib3 bind a loopback socket to probe for IPv6. selfscan opens no socket, so
insightface is imported with ``requests`` replaced by a stub that refuses to be used: the import
works, and any download attempt fails loudly instead of reaching the network.
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


def import_insightface() -> None:
    """Import the insightface modules selfscan uses, with the downloader disabled."""
    if "insightface" in sys.modules:
        return
    real = sys.modules.get("requests")
    if real is None:
        sys.modules["requests"] = _NoDownloads("requests")
    try:
        import insightface.model_zoo.arcface_onnx
        import insightface.model_zoo.scrfd
        import insightface.utils.face_align  # noqa: F401
    finally:
        if real is None:
            sys.modules.pop("requests", None)
