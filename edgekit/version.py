"""The package version (one place; ``edgekit.__version__`` re-exports it)."""

__version__ = "0.2.0"
