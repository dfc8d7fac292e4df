"""Silence the converters' chatter (Keras prints every captured variable; TF's C++ logs to fd 2).

TensorFlow's converters write from C++ straight to file descriptors 1 and 2, which no Python-level
redirect reaches, so the output is captured at the descriptor level, but only for the span of one
conversion: the block is re-entrant (a nested ``quiet()`` reuses the outer capture instead of
redirecting again) and serialised by a lock, so two threads never swap each other's descriptors.
When the block fails, the tail of what was captured is attached to the exception as a note (and
written to stderr with EDGEKIT_DEBUG=1), so a converter error keeps its cause.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading

_LOCK = threading.RLock()
_depth = 0


@contextlib.contextmanager
def quiet():
    """Capture fds 1 and 2 for the block; on failure attach the tail of the output to the exception."""
    global _depth
    with _LOCK:
        if _depth:  # already captured by an enclosing quiet()
            _depth += 1
            try:
                yield
            finally:
                _depth -= 1
            return
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        with tempfile.TemporaryFile(mode="w+b") as sink:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            _depth = 1
            try:
                yield
            except BaseException as exc:
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                sink.seek(0)
                tail = sink.read()[-4000:].decode("utf-8", "replace")
                if tail.strip():
                    exc.add_note("converter output (last lines):\n" + "\n".join(tail.strip().splitlines()[-20:]))
                    if os.environ.get("EDGEKIT_DEBUG"):
                        sys.stderr.write(tail)
                raise
            finally:
                _depth = 0
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])
