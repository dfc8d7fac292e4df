"""This machine as a device: the worker is a child Python process.

Also the Edge TPU (a Coral USB Accelerator or Dev Board attached here): the same local worker,
with the ``libedgetpu.so.1`` delegate loaded, accepting only Edge TPU compiler output.
"""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

from edgekit.devices.profiles import DeviceError, Profile


class LocalDevice:
    """This machine as a device: workers run as local child processes; the Edge TPU profile adds its delegate."""
    remote = False

    def __init__(self, profile: Profile | None = None):
        self.profile = profile or Profile("host", "this machine")
        self.name = self.profile.name
        self.delegate = self.profile.delegate
        self.staged: dict[str, str] = {}

    def worker_command(self) -> list[str]:
        """The command that starts a benchmark worker here."""
        return [sys.executable, "-m", "edgekit.measure.worker"]

    def check(self) -> dict:
        """Raise a DeviceError if a benchmark cannot run here (e.g. no Edge TPU runtime)."""
        if self.delegate:
            try:
                ctypes.CDLL(self.delegate)
            except OSError:
                raise DeviceError(
                    f"device '{self.name}' needs the {self.delegate} delegate, which is not installed here "
                    f"(Coral: apt install libedgetpu1-std, then plug in the accelerator)") from None
        return {}

    def admit(self, artifact: Path) -> None:
        """Refuse, in one line, what an Edge TPU cannot run. (Compiler output on a CPU is refused by
        LiteRT itself, see run/litert.py, so that holds on every device.)"""
        if self.profile.needs != "edgetpu-compiled":
            return
        from edgekit.run.tflite_graph import looks_edgetpu_compiled

        if Path(artifact).suffix.lower() != ".tflite":
            raise DeviceError(f"device '{self.name}' runs only Edge-TPU-compiled .tflite files")
        if not looks_edgetpu_compiled(artifact):
            raise DeviceError("not compiled for the Edge TPU: export with "
                              "'edgekit convert --int8 --edgetpu' and compile it with edgetpu_compiler "
                              "(or check the mapping first: edgekit edgetpu-check)")

    def stage(self, artifact: Path) -> str:
        """The path under which the worker reads ``artifact`` (here: the file itself)."""
        self.staged[str(artifact)] = "local"
        return str(Path(artifact).resolve())

    def describe(self) -> dict:
        return {"reach": "local"}
