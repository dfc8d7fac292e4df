"""Where a benchmark runs. A device starts the benchmark worker (``edgekit.measure.worker``) and
makes an artifact reachable to it; the worker speaks JSON lines over its stdin/stdout, so a
device is little more than "how to start a process there": a child process here
(``local``), or the same worker behind the system ``ssh`` (``ssh``). Profiles are data
(``profiles.toml`` plus the user's ``edgekit.toml``).
"""

from __future__ import annotations

from dataclasses import replace

from edgekit.devices.local import LocalDevice
from edgekit.devices.profiles import DeviceError, Profile, board_model, load_profiles, parse_target
from edgekit.devices.ssh import SshDevice

__all__ = ["DeviceError", "LocalDevice", "SshDevice", "get_device", "load_profiles", "reachability"]


def get_device(name: str | None, host: str | None = None, profiles: dict[str, Profile] | None = None):
    """The device called ``name`` (default ``host``); ``host`` overrides its SSH target.

    On the board a profile describes (``detect`` matches /proc/device-tree/model) the device runs
    locally with that profile's settings; elsewhere a profile with ``ssh`` goes over SSH.
    """
    profiles = load_profiles() if profiles is None else profiles
    name = "host" if name in (None, "local") else name
    if name not in profiles:
        raise DeviceError(f"unknown device '{name}' (known: {', '.join(sorted(profiles))}; "
                          f"add one in ./edgekit.toml under [devices.{name}])")
    profile = profiles[name]
    if host:
        profile = replace(profile, ssh=parse_target(host, name))
    if profile.detect and board_model().startswith(profile.detect) and not host:
        return LocalDevice(replace(profile, ssh=None))
    return SshDevice(profile) if profile.ssh else LocalDevice(profile)


def reachability(profile: Profile) -> tuple[bool, str]:
    """Whether a benchmark on ``profile`` could start right now, and why (not)."""
    try:
        device = get_device(profile.name, profiles={profile.name: profile})
        answer = device.check()
    except DeviceError as exc:
        return False, str(exc)
    if isinstance(device, SshDevice):
        env = answer["environment"]
        return True, f"edgekit {answer['edgekit']} on {env.get('cpu', '?')} ({env.get('machine', '?')}), {env.get('os', '?')}"
    if device.delegate:
        return True, f"{device.delegate} loads"
    return True, "this machine" if not profile.detect else f"this board ({board_model()})"
