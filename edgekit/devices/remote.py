"""The device side of an SSH device: ``python -m edgekit.devices.remote probe|receive``.

Runs on the board with the runtime-only install (no TensorFlow). ``probe`` answers one JSON line:
edgekit's version and protocol, the device's fingerprint, and whether an artifact is already in
the cache. ``receive`` reads an artifact from stdin into the cache: it checks the size limit and
free space first, writes a temporary file, checks size and sha256, then renames, so a dropped
connection never leaves a file that looks complete.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from edgekit.devices.wire import EXIT_REFUSED, PROTOCOL


def cached_path(cache: str, sha: str, suffix: str) -> Path:
    """Where an artifact with this sha256 lies in the device's cache."""
    return Path(cache).expanduser() / f"{sha}{suffix}"


def probe(cache: str, sha: str | None, suffix: str) -> dict:
    """What the device side reports about itself: edgekit version, runtimes, fingerprint."""
    from edgekit.version import __version__
    from edgekit.environment import fingerprint

    folder = Path(cache).expanduser()
    answer = {"edgekit": __version__, "protocol": PROTOCOL, "python": sys.executable,
              "environment": fingerprint(), "cache": str(folder)}
    if sha:
        answer["cached"] = cached_path(cache, sha, suffix).is_file()
    try:
        answer["free_bytes"] = shutil.disk_usage(folder if folder.exists() else folder.parent).free
    except OSError:
        answer["free_bytes"] = None
    return answer


def receive(cache: str, sha: str, suffix: str, size: int, limit_mb: float | None, stream) -> Path:
    """Copy ``stream`` into the cache as ``<sha><suffix>``; raise ValueError with the reason if refused."""
    if limit_mb is not None and size > limit_mb * 1024 * 1024:
        raise ValueError(f"artifact is {size / 2**20:.1f} MiB, more than the device cache limit of {limit_mb:g} MiB")
    folder = Path(cache).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if size > free:
        raise ValueError(f"artifact is {size / 2**20:.1f} MiB but {folder} has {free / 2**20:.1f} MiB free")
    digest, got = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            while block := stream.read(1 << 20):
                out.write(block)
                digest.update(block)
                got += len(block)
            out.flush()
            os.fsync(out.fileno())
        if got != size or digest.hexdigest() != sha:
            raise ValueError(f"copy arrived damaged ({got} of {size} bytes, sha256 "
                             f"{'matches' if digest.hexdigest() == sha else 'differs'})")
        target = cached_path(cache, sha, suffix)
        os.replace(tmp, target)
        return target
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def main(argv: list[str] | None = None) -> int:
    """The device-side entry point (``python -m edgekit.devices.remote``) the SSH device runs."""
    parser = argparse.ArgumentParser(prog="python -m edgekit.devices.remote")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("probe")
    p.add_argument("--cache", required=True)
    p.add_argument("--sha")
    p.add_argument("--suffix", default="")
    r = sub.add_parser("receive")
    r.add_argument("--cache", required=True)
    r.add_argument("--sha", required=True)
    r.add_argument("--suffix", default="")
    r.add_argument("--size", type=int, required=True)
    r.add_argument("--limit-mb", type=float)
    args = parser.parse_args(argv)
    if args.cmd == "probe":
        print(json.dumps(probe(args.cache, args.sha, args.suffix)))
        return 0
    try:
        path = receive(args.cache, args.sha, args.suffix, args.size, args.limit_mb, sys.stdin.buffer)
    except (ValueError, OSError) as exc:
        print(f"edgekit: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(json.dumps({"path": str(path)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
