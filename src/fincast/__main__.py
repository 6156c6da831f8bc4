"""``python -m fincast``."""

from .cli import run

run()
