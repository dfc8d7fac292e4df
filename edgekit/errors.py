"""User-facing errors: the library raises these, only the CLI turns them into one line and exit 2
(exit 1 for a quality gate that failed, ``QualityGateError``).

Anything else that escapes is a bug: the CLI, the benchmark worker and the sweep's tasks report it
as one line naming a log file that holds its traceback (``describe_failure``); tests see it as it is.
"""

from pathlib import Path


class EdgekitError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


class QualityGateError(EdgekitError):
    """A quality gate that failed (an artifact below its parity floor, a regression): exit 1, not 2."""

    exit_code = 1


class UnknownModelError(EdgekitError):
    """A model name that does not parse or names no variant of the papers."""


class WeightsError(EdgekitError):
    """Weights that are missing, corrupt, unavailable offline or of another architecture."""


class DataError(EdgekitError):
    """An image or data folder that cannot be read."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first non-empty line of an exception's message (or its type): for one-line errors."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:limit] if lines else type(exc).__name__


def log_dir() -> Path:
    """Where bug reports go: ``$EDGEKIT_LOG_DIR``, else ``$XDG_STATE_HOME/edgekit/logs`` (``~/.local/state/...``)."""
    import os

    if os.environ.get("EDGEKIT_LOG_DIR"):
        return Path(os.environ["EDGEKIT_LOG_DIR"])
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "edgekit" / "logs"


def write_log(exc: BaseException, context: str) -> str | None:
    """Write ``exc``'s full traceback (its cause chain and notes, e.g. a converter's output) to a new file
    in ``log_dir()``; returns its path (None if nothing could be written: the caller still has one line)."""
    import os
    import tempfile
    import time
    import traceback

    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        fd, path = tempfile.mkstemp(dir=folder, prefix=time.strftime("%Y%m%d-%H%M%S-"), suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"edgekit: {context}\n\n")
            handle.write("".join(traceback.format_exception(exc)))
        return path
    except OSError:
        return None


def describe_failure(exc: BaseException, context: str) -> str:
    """One line for any failure: a user error (EdgekitError) as it is; anything else is a bug, named as one,
    with its traceback written to a log file the line names. A user error with a cause or captured
    converter output also gets its details logged."""
    if isinstance(exc, EdgekitError):
        if exc.__cause__ is None and not getattr(exc, "__notes__", None):
            return str(exc)
        path = write_log(exc, context)
        return f"{exc}" + (f" (details: {path})" if path else "")
    path = write_log(exc, context)
    where = f"; traceback in {path}" if path else ""
    return f"internal error in {context} ({type(exc).__name__}: {first_line(exc)}){where}"
