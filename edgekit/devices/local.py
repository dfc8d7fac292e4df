"""The machine edgekit runs on: the worker is a child Python process."""

from __future__ import annotations

import sys
from pathlib import Path


class LocalDevice:
    name = "host"

    def worker_command(self) -> list[str]:
        return [sys.executable, "-m", "edgekit.measure.worker"]

    def stage(self, artifact: Path) -> str:
        """The path under which the worker reads ``artifact`` (here: the file itself)."""
        return str(Path(artifact).resolve())
