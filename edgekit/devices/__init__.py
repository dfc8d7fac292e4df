"""Where a benchmark runs. A device starts the benchmark worker (``edgekit.measure.worker``) and
makes an artifact reachable to it; the worker speaks JSON lines over its stdin/stdout, so a
device is little more than "how to start a process there".
"""

from __future__ import annotations

from edgekit.devices.local import LocalDevice
from edgekit.errors import EdgekitError


class DeviceError(EdgekitError):
    """A device that is unknown, unreachable or not set up."""


def get_device(name: str | None) -> LocalDevice:
    if name in (None, "host", "local"):
        return LocalDevice()
    raise DeviceError(f"unknown device '{name}' (known: host)")
