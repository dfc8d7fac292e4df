"""Device profiles: the built-in ones (``profiles.toml``) merged with the user's own files.

A profile is data, not code: which machine, how to reach it, its default threads and what runs
there. Validated when loaded, so a malformed host fails with one line before any work starts.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.vocab import RUNTIME_NAMES

BUILTIN = Path(__file__).with_name("profiles.toml")
FIELDS = {"description", "ssh", "detect", "threads", "runtimes", "delegate", "needs", "python", "cache",
          "cache_limit_mb", "connect_timeout", "host_key_checking", "ssh_options"}
# user@host[:port]; host is a name, an IPv4 address or a bracketed IPv6 address
_TARGET = re.compile(r"^(?:(?P<user>[A-Za-z0-9._-]+)@)?(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])"
                     r"(?::(?P<port>\d{1,5}))?$")


class DeviceError(EdgekitError):
    """A device that is unknown, malformed, unreachable or not set up."""


@dataclass(frozen=True)
class SshTarget:
    """user@host[:port] of an SSH device."""
    host: str
    user: str | None = None
    port: int | None = None

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host

    def __str__(self) -> str:
        return self.destination + (f":{self.port}" if self.port else "")


def parse_target(text: str, device: str = "device") -> SshTarget:
    """``user@host[:port]`` -> SshTarget, or a DeviceError that shows the expected form."""
    match = _TARGET.match(text.strip())
    port = int(match["port"]) if match and match["port"] else None
    if not match or (port is not None and not 1 <= port <= 65535):
        raise DeviceError(f"device '{device}': malformed ssh host '{text}' (expected user@host[:port], "
                          f"e.g. pi@raspberrypi.local:22)")
    return SshTarget(match["host"].strip("[]"), match["user"], port)


@dataclass(frozen=True)
class Profile:
    """A device profile (built-in or from edgekit.toml): architecture, threads, runtimes, how to reach it."""
    name: str
    description: str = ""
    ssh: SshTarget | None = None
    detect: str | None = None
    threads: int = 1
    runtimes: tuple[str, ...] = ("litert", "onnxruntime")
    delegate: str | None = None
    needs: str | None = None
    python: str = "python3"
    cache: str = "~/.cache/edgekit/artifacts"
    cache_limit_mb: float | None = None
    connect_timeout: int = 8
    host_key_checking: str = "yes"
    ssh_options: tuple[str, ...] = ()
    source: str = field(default="built-in", compare=False)

    @property
    def remote(self) -> bool:
        return self.ssh is not None

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description,
                "reach": f"ssh {self.ssh}" if self.ssh else "local", "threads": self.threads,
                "runtimes": list(self.runtimes), "delegate": self.delegate, "needs": self.needs,
                "source": self.source}


def user_files() -> list[Path]:
    """User profile files that exist, highest precedence first."""
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    candidates = [os.environ.get("EDGEKIT_DEVICES"), "edgekit.toml", config / "edgekit" / "devices.toml"]
    return [Path(c) for c in candidates if c and Path(c).is_file()]


def _read(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise DeviceError(f"cannot read device file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DeviceError(f"device file {path} is not valid TOML: {exc}") from None
    devices = data.get("devices", {})
    if not isinstance(devices, dict) or not all(isinstance(v, dict) for v in devices.values()):
        raise DeviceError(f"device file {path}: expected [devices.NAME] tables")
    return devices


def _profile(name: str, raw: dict, source: str) -> Profile:
    unknown = set(raw) - FIELDS
    if unknown:
        raise DeviceError(f"device '{name}' ({source}): unknown field(s) {', '.join(sorted(unknown))} "
                          f"(known: {', '.join(sorted(FIELDS))})")
    kw = dict(raw)
    if kw.get("ssh") is not None:
        if not isinstance(kw["ssh"], str):
            raise DeviceError(f"device '{name}' ({source}): ssh must be a string user@host[:port]")
        kw["ssh"] = parse_target(kw["ssh"], name) if kw["ssh"].strip() else None
    threads = kw.get("threads", 1)
    if not isinstance(threads, int) or threads < 1:
        raise DeviceError(f"device '{name}' ({source}): threads must be a whole number >= 1")
    runtimes = tuple(kw.get("runtimes", ("litert", "onnxruntime")))
    if not set(runtimes) <= set(RUNTIME_NAMES):
        raise DeviceError(f"device '{name}' ({source}): unknown runtime(s) "
                          f"{', '.join(sorted(set(runtimes) - set(RUNTIME_NAMES)))} (known: {', '.join(RUNTIME_NAMES)})")
    kw["runtimes"] = runtimes
    if kw.get("host_key_checking", "yes") not in ("yes", "accept-new", "no"):
        raise DeviceError(f"device '{name}' ({source}): host_key_checking must be yes, accept-new or no")
    kw["ssh_options"] = tuple(str(o) for o in kw.get("ssh_options", ()))
    return Profile(name=name, source=source, **kw)


def load_profiles(files: list[Path] | None = None) -> dict[str, Profile]:
    """Every known device: built-ins overridden field by field by the user files."""
    merged: dict[str, dict] = {name: dict(raw) for name, raw in _read(BUILTIN).items()}
    sources = {name: "built-in" for name in merged}
    for path in reversed(user_files() if files is None else files):  # lowest precedence first
        for name, raw in _read(path).items():
            merged[name] = {**merged.get(name, {}), **raw}
            sources[name] = str(path)
    return {name: _profile(name, raw, sources[name]) for name, raw in merged.items()}


def board_model() -> str:
    """What this board says it is (``/proc/device-tree/model``; empty on a PC)."""
    try:
        return Path("/proc/device-tree/model").read_bytes().rstrip(b"\0").decode(errors="replace")
    except OSError:
        return ""
