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
