"""A real OpenSSH server on 127.0.0.1 for the device tests, with throw-away host and user keys.

The client side is the system ``ssh`` with a config file of its own: the user key, and a
known_hosts file that holds the server's host key, so host-key checking stays on. The remote
Python is a wrapper that runs this venv's interpreter in its own UTS namespace with another
hostname, so a result recorded with the *device's* fingerprint is told apart from the host's.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
DEVICE_HOSTNAME = "edgekit-fake-pi"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@dataclass
class SshServer:
    root: Path
    port: int
    user: str
    client_config: Path
    user_key: Path
    remote_python: Path
    process: subprocess.Popen

    def profile(self, name: str = "testpi", **fields) -> str:
        """A [devices.NAME] table pointing at this server (fields override)."""
        values = {"ssh": f"{self.user}@127.0.0.1:{self.port}", "python": str(self.remote_python),
                  "cache": str(self.root / "device-cache"), "threads": 1, "connect_timeout": 5,
                  "ssh_options": ["-F", str(self.client_config)], **fields}
        lines = [f"[devices.{name}]"]
        for key, value in values.items():
            if isinstance(value, list):
                lines.append(f"{key} = [{', '.join(repr_toml(v) for v in value)}]")
            else:
                lines.append(f"{key} = {repr_toml(value)}")
        return "\n".join(lines) + "\n"


def repr_toml(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def start(root: Path) -> SshServer:
    if not Path(SSHD).exists():
        raise RuntimeError(f"{SSHD} not found: 'make test-deps' installs Debian's openssh-server")
    root.mkdir(parents=True, exist_ok=True)
    host_key, user_key = keygen(root / "host_key"), keygen(root / "user_key")
    (root / "authorized_keys").write_text((root / "user_key.pub").read_text())
    os.chmod(root / "authorized_keys", 0o600)
    port, user = free_port(), getpass.getuser()
    config = root / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}", f"PidFile {root / 'sshd.pid'}",
        f"AuthorizedKeysFile {root / 'authorized_keys'}", "StrictModes no", "UsePAM no",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
        "PermitRootLogin prohibit-password", "AllowTcpForwarding no", "X11Forwarding no",
        f"AllowUsers {user}", "LogLevel ERROR", "",
    ]))
    Path("/run/sshd").mkdir(exist_ok=True) if os.geteuid() == 0 else None  # privilege separation dir
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=open(root / "sshd.log", "w"))
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(root / 'sshd.log').read_text()[-500:]}")
            time.sleep(0.1)
    host_pub = (root / "host_key.pub").read_text().split()
    (root / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    client = root / "ssh_config"
    client.write_text("\n".join([
        "Host 127.0.0.1", f"  IdentityFile {user_key}", "  IdentitiesOnly yes",
        f"  UserKnownHostsFile {root / 'known_hosts'}", "  GlobalKnownHostsFile /dev/null", "  LogLevel ERROR", "",
    ]))
    python = root / "device-python"
    python.write_text("#!/bin/sh\n"
                      f"exec unshare --uts sh -c 'hostname {DEVICE_HOSTNAME} && exec \"$0\" \"$@\"' "
                      f"{sys.executable} \"$@\"\n")
    python.chmod(0o755)
    return SshServer(root, port, user, client, user_key, python, process)


def stop(server: SshServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.process.kill()
