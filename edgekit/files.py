"""Files: atomic writes, hashing, and the one reader of TOML grid files (suites and sweeps).

An output is never half-written: bytes go to a hidden temporary file in the target folder, created
with the process's umask applied by the kernel (no process-wide umask flip), then ``os.replace``
moves it into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tomllib
from pathlib import Path

from edgekit.errors import EdgekitError


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def ensure_writable(folder: Path) -> None:
    """Create ``folder`` if needed; one line of EdgekitError if it cannot be created or written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EdgekitError(f"cannot create output folder {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK):
        raise EdgekitError(f"output folder is not writable: {folder}")


def write_temp(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to a hidden temporary file in ``folder`` (same file system as the target).

    The file is created with mode 0666 and the kernel applies the umask, so it ends up with the
    permissions of an ordinary file without reading (and so flipping) the process's umask.
    """
    ensure_writable(folder)
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise EdgekitError(f"cannot write {folder / name}: {exc.strerror or exc}") from None
    else:  # pragma: no cover - 100 collisions of 48 random bits
        raise EdgekitError(f"cannot create a temporary file in {folder}")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:  # a full disk, a quota: the user's, said with the path; nothing half-written stays
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise EdgekitError(f"cannot write {folder / name} ({len(data):,} bytes): {exc.strerror or exc}; "
                           f"nothing was written") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def data_dir() -> Path:
    """Where edgekit keeps what it records by default: ``$XDG_DATA_HOME/edgekit`` (``~/.local/share/edgekit``)."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "edgekit"


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, then a rename."""
    path = Path(path)
    tmp = write_temp(path.parent, path.name, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# --- grid files (benchmark suites and sweeps) ---------------------------------------------------

def expand_path(text: str, what: str, error: type[EdgekitError] = EdgekitError) -> str:
    """``${EDGEKIT_DATA}`` and ``~`` in a path; an unset variable is an error, not an empty string."""
    expanded = os.path.expanduser(os.path.expandvars(text))
    if "$" in expanded:
        raise error(f"{what} path {text!r} uses an unset environment variable")
    return expanded


def read_toml(path: Path, known: set[str], what: str, error: type[EdgekitError]) -> dict:
    """A TOML file whose top-level keys are all in ``known``; anything else is one line of ``error``."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} file not found: {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise error(f"cannot read {what} {path}: {exc}") from None
    unknown = set(data) - known
    if unknown:
        raise error(f"{what} {path}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    return data


def typed_table(table, keys: dict[str, type], where: str, what: str, error: type[EdgekitError],
                paths: tuple[str, ...] = ()) -> dict:
    """A ``[where]`` table whose keys are in ``keys`` with values of those types (int accepted as float);
    the keys in ``paths`` are expanded as paths."""
    if not isinstance(table, dict):
        raise error(f"{what} [{where}] must be a table")
    out = {}
    for key, value in table.items():
        if key not in keys:
            raise error(f"{what} [{where}]: unknown key {key!r} (known: {', '.join(keys)})")
        want = keys[key]
        value = float(value) if want is float and isinstance(value, int) and not isinstance(value, bool) else value
        if not isinstance(value, want) or isinstance(value, bool):
            raise error(f"{what} [{where}]: {key} must be {want.__name__}, got {value!r}")
        out[key] = expand_path(value, what, error) if key in paths else value
    return out


# --- scratch folders ---------------------------------------------------------------------------

SCRATCH = ".edgekit-scratch"  # under an output folder: where a conversion's intermediate files live


def scratch_dir(root: str | Path, prefix: str):
    """A temporary folder for intermediate files under ``<root>/.edgekit-scratch/`` (the output's own file
    system, not the system temp folder), removed on every way out of the block that Python sees. A process
    killed outright (kill -9) cannot remove its own: the next scratch folder made under the same root
    removes those whose process is gone."""
    import tempfile

    area = Path(root).absolute() / SCRATCH  # absolute: a tool run inside the folder (onnx2tf) must still find it
    try:
        area.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EdgekitError(f"cannot create a scratch folder in {root}: {exc.strerror or exc}") from None
    _remove_orphans(area)
    return _Scratch(tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-", dir=area), area)


class _Scratch:
    """A TemporaryDirectory that also removes the scratch area when it is left empty."""

    def __init__(self, folder, area: Path):
        self.folder, self.area, self.name = folder, area, folder.name

    def __enter__(self) -> str:
        return self.folder.__enter__()

    def __exit__(self, *exc):
        self.folder.__exit__(*exc)
        with contextlib.suppress(OSError):
            self.area.rmdir()  # only when empty: another conversion's scratch stays


def _remove_orphans(area: Path) -> None:
    """Scratch folders of processes that no longer exist (their pid is in the name)."""
    import shutil

    for folder in area.iterdir():
        pid = folder.name.rsplit("-", 2)[-2] if folder.name.count("-") >= 2 else ""
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process: alive
        return True
    return True
