"""selfscan: find every photo of you in your own files, offline."""

import os

# onnxruntime (1.2x and later, Linux included) starts Microsoft's telemetry when it is imported:
# it writes a device id and an event queue under ~/.cache/Microsoft and tries to upload them
# about ten seconds later. Its own switch must be set before onnxruntime is loaded; worker
# processes inherit it. Set, not defaulted: nothing selfscan runs may reach the network.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

__version__ = "0.1.0"
