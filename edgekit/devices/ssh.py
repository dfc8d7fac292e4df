"""A device reached with the system OpenSSH client (a Raspberry Pi on the bench, a board in a rack).

The system ``ssh`` honours the user's ~/.ssh/config, keys, agent and known_hosts. We always add
BatchMode (never hang on a password prompt) and a connect timeout, and never turn host-key
checking off unless the profile asks. Artifacts go to a cache on the device named by their
sha256 (a second run of the same file copies nothing); the benchmark worker then runs there and
speaks the same JSON lines as locally, so its fingerprint is the device's own.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

from edgekit.devices.profiles import DeviceError, Profile
from edgekit.devices.wire import EXIT_REFUSED, PROTOCOL
from edgekit.files import sha256_file

HOW_TO = ("set its host with --host user@host[:port] or in ./edgekit.toml "
          "([devices.{name}] ssh = \"pi@192.168.1.20\"), and check that 'ssh -o BatchMode=yes {target} true' works")
MIN_VERSION = "0.2.0"  # the first edgekit with the device side (edgekit.devices.remote)
# What ssh prints on stderr -> the reason we give
SSH_REASONS = (
    ("permission denied", "authentication failed (no key the device accepts; BatchMode never asks for a password)"),
    ("host key verification failed", "host key unknown or changed (add it with 'ssh {target}' once, "
                                      "or set host_key_checking = \"accept-new\" in the profile)"),
    ("connection refused", "connection refused (no SSH server on that port)"),
    ("timed out", "connection timed out"),
    ("could not resolve hostname", "unknown host name"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "network unreachable"),
)


class SshDevice:
    """A device reached with the system's ssh client: artifacts copied into a sha256 cache, workers run there."""
    remote = True

    def __init__(self, profile: Profile):
        self.profile = profile
        self.name = profile.name
        self.target = profile.ssh
        self.delegate = profile.delegate
        self.staged: dict[str, str] = {}  # artifact path -> "copied" | "cached"

    # ssh plumbing -------------------------------------------------------------------------------
    def ssh_command(self) -> list[str]:
        """The ssh command line for this device (batch mode, timeouts, its port)."""
        p = self.profile
        cmd = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={p.connect_timeout}",
               "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"]
        if p.host_key_checking != "yes":  # only when the user asked for it
            cmd += ["-o", f"StrictHostKeyChecking={p.host_key_checking}"]
        if self.target.port:
            cmd += ["-p", str(self.target.port)]
        return [*cmd, *p.ssh_options, self.target.destination]

    def _remote(self, *args: str) -> str:
        return " ".join(shlex.quote(a) for a in (self.profile.python, *args))

    def _run(self, args: list[str], stdin=None, timeout: float = 120) -> subprocess.CompletedProcess:
        try:
            return subprocess.run([*self.ssh_command(), self._remote(*args)], stdin=stdin, capture_output=True,
                                  timeout=timeout)
        except FileNotFoundError:
            raise DeviceError("the OpenSSH client 'ssh' is not installed (apt install openssh-client)") from None
        except subprocess.TimeoutExpired:
            raise DeviceError(f"device '{self.name}' ({self.target}) did not answer within {timeout:.0f} s") from None

    def _fail(self, done: subprocess.CompletedProcess, doing: str) -> DeviceError:
        err = done.stderr.decode(errors="replace") if isinstance(done.stderr, bytes) else (done.stderr or "")
        lines = [line.strip() for line in err.splitlines() if line.strip()]
        low = err.lower()
        target = str(self.target)
        if done.returncode == 255:  # ssh's own failure: never reached the device
            reason = next((r for key, r in SSH_REASONS if key in low), lines[-1] if lines else "ssh failed")
            port = f"-p {self.target.port} " if self.target.port else ""
            return DeviceError(f"device '{self.name}' unreachable at {target}: {reason.format(target=target)}; "
                               + HOW_TO.format(name=self.name, target=port + self.target.destination))
        if "no module named edgekit.devices" in low or "no module named 'edgekit.devices" in low:
            return DeviceError(f"device '{self.name}' ({target}) has an edgekit too old for remote runs: "
                               f"pip install -U 'edgekit>={MIN_VERSION}' there")
        if "no module named edgekit" in low or "no module named 'edgekit" in low:
            return DeviceError(f"device '{self.name}' ({target}) has no edgekit for {self.profile.python}: "
                               f"run 'pip install edgekit' there (the runtime-only install, no TensorFlow)")
        if done.returncode == 127:
            return DeviceError(f"device '{self.name}' ({target}): {self.profile.python} not found there "
                               f"(set python = \"/path/to/venv/bin/python\" in its profile)")
        last = lines[-1] if lines else f"exit status {done.returncode}"
        return DeviceError(f"device '{self.name}' ({target}): {doing} failed: {last.removeprefix('edgekit: ')}")

    # the device interface -----------------------------------------------------------------------
    def check(self, sha: str | None = None, suffix: str = "") -> dict:
        """Reach the device and its edgekit; the answer carries the device's fingerprint."""
        args = ["-m", "edgekit.devices.remote", "probe", "--cache", self.profile.cache]
        if sha:
            args += ["--sha", sha, "--suffix", suffix]
        done = self._run(args, timeout=self.profile.connect_timeout + 60)
        if done.returncode != 0:
            raise self._fail(done, "probe")
        try:
            answer = json.loads(done.stdout.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise DeviceError(f"device '{self.name}' ({self.target}): its edgekit answered nothing readable; "
                              f"pip install -U 'edgekit>={MIN_VERSION}' there") from None
        if answer.get("protocol", 0) < PROTOCOL:
            raise DeviceError(f"device '{self.name}' ({self.target}) has edgekit {answer.get('edgekit', '?')} "
                              f"(protocol {answer.get('protocol', 0)}); this host needs protocol {PROTOCOL}: "
                              f"pip install -U 'edgekit>={MIN_VERSION}' there")
        return answer

    def stage(self, artifact: Path) -> str:
        """Copy ``artifact`` into the device cache unless the same bytes are there; return its remote path."""
        artifact = Path(artifact)
        sha, size, suffix = sha256_file(artifact), artifact.stat().st_size, artifact.suffix.lower()
        limit = self.profile.cache_limit_mb
        if limit is not None and size > limit * 2**20:
            raise DeviceError(f"device '{self.name}': {artifact.name} is {size / 2**20:.1f} MiB, more than its "
                              f"cache limit of {limit:g} MiB (raise cache_limit_mb in the profile)")
        probe = self.check(sha, suffix)
        remote = f"{probe['cache'].rstrip('/')}/{sha}{suffix}"
        if probe.get("cached"):
            self.staged[str(artifact)] = "cached"
            return remote
        args = ["-m", "edgekit.devices.remote", "receive", "--cache", self.profile.cache, "--sha", sha,
                "--suffix", suffix, "--size", str(size)]
        if limit is not None:
            args += ["--limit-mb", str(limit)]
        with open(artifact, "rb") as stream:
            done = self._run(args, stdin=stream, timeout=max(120, size / 1e6))
        if done.returncode != 0:
            raise self._fail(done, f"copying {artifact.name}" if done.returncode == EXIT_REFUSED else "copy")
        self.staged[str(artifact)] = "copied"
        return remote

    def worker_command(self) -> list[str]:
        """The command that starts a benchmark worker on the device over ssh."""
        return [*self.ssh_command(), self._remote("-m", "edgekit.measure.worker")]

    def admit(self, artifact: Path) -> None:
        """Everything runs there that runs here (the worker says otherwise in one line)."""

    def describe(self) -> dict:
        return {"reach": f"ssh {self.target}"}
