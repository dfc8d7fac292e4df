"""Keep native libraries' start-up chatter off the terminal: TensorFlow, absl, oneDNN and LiteRT write
from C++ straight to file descriptor 2 ("WARNING: All log messages before absl::InitializeLog()...",
"oneDNN custom operations are on", "failed call to cuInit", "INFO: Created TensorFlow Lite XNNPACK
delegate for CPU."), where no Python setting reaches them; ``TF_CPP_MIN_LOG_LEVEL`` does not silence
absl's early lines. Users read them as failures, and they break "one line on stderr" for every error.

``capture()`` points descriptor 2 at a scratch file for the rest of the process and gives Python's
``sys.stderr`` the terminal back, so edgekit's own messages, warnings and progress bars still show
and the libraries' lines do not. ``--verbose`` (or ``EDGEKIT_VERBOSE=1``) leaves descriptor 2 alone;
``captured()`` returns what was caught, for a bug report's log.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile

_sink = None  # the scratch file descriptor 2 points at, once captured


def capture(verbose: bool = False) -> bool:
    """Route descriptor 2 to a scratch file (once per process); returns whether it is captured now."""
    global _sink
    if _sink is not None:
        return True
    if verbose or os.environ.get("EDGEKIT_VERBOSE") not in (None, "", "0"):
        return False
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
        sink = tempfile.TemporaryFile()
        os.dup2(sink.fileno(), 2)
    except (OSError, ValueError, AttributeError):  # no descriptor 2 (an embedded interpreter): nothing to do
        return False
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    sys.stderr = io.TextIOWrapper(os.fdopen(terminal, "wb", buffering=0), encoding=encoding, errors="replace",
                                  line_buffering=True, write_through=True)
    _sink = sink
    _quiet_known_warnings()
    return True


def _quiet_known_warnings() -> None:
    """Python warnings from libraries that the user cannot act on (shown again with --verbose)."""
    import logging
    import warnings

    # TensorFlow's Python logger ("5 out of the last 18 calls ... triggered tf.function retracing")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)

    # the converters' own debuggers still construct tf.lite.Interpreter; nothing of ours does
    warnings.filterwarnings("ignore", message=r"\s*Warning: tf\.lite\.Interpreter is deprecated", category=UserWarning)


def captured(limit: int = 4000) -> str:
    """The tail of what native code wrote to descriptor 2 since ``capture()`` ('' when not captured)."""
    if _sink is None:
        return ""
    try:
        _sink.flush()
        size = os.fstat(_sink.fileno()).st_size
        _sink.seek(max(0, size - limit))
        return _sink.read().decode("utf-8", "replace")
    except OSError:
        return ""
