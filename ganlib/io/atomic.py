"""Atomic file writes: a temporary file in the target's directory, renamed over it."""
from __future__ import annotations

import os
import tempfile
from typing import Callable, IO


def _default_mode() -> int:
    """0o666 minus the process umask: the mode open() would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: str, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(f)`` on a temporary file, fsync it, then rename it to ``path``.

    Readers see either the old file or the complete new one, never a partial
    write; on any error the temporary file is removed and ``path`` is untouched.
    The file gets the usual permissions (mkstemp would leave it owner-only).
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
