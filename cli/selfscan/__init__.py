"""selfscan: find every photo of you in your own files, offline."""

__version__ = "0.1.0"
