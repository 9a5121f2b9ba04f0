"""``python -m selfscan``."""

from .cli import main

main()
