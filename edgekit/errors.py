"""User-facing errors: the library raises these, only the CLI turns them into one line + exit 2.

Anything else that escapes is a bug and should show its traceback in tests.
"""


class EdgekitError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


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
