"""``python -m yuantou.cli``: how local networks start their nodes."""

from yuantou.cli import app

app()
