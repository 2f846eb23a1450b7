"""Atomic file writes: a temporary file in the target's directory, renamed over it.

The temporary file is named ``.<h>.<r>.tmp`` where ``<h>`` is 12 hex digits of a
hash of the target's name and ``<r>`` 8 random hex digits, so that

* the name is short whatever the target's (a 255-byte file name works), and
* the temporaries of one target are recognisable: a save killed half-way
  leaves one behind, and the next save of that target removes it.

A save holds an exclusive ``flock`` on its temporary file while it writes, so
the clean-up only removes files that no live save holds (a killed process
drops its locks); on systems without ``fcntl`` leftovers are not cleaned up.
"""
from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
from typing import IO, Callable, Optional, Union

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["write_atomic", "temp_prefix"]

PathLike = Union[str, "os.PathLike[str]"]
_SUFFIX = ".tmp"
_RANDOM_HEX = 8


def temp_prefix(target: PathLike) -> str:
    """The name prefix of the temporary files written for ``target``: ``".<12 hex digits>."``."""
    base = os.path.basename(os.fspath(target))
    return "." + hashlib.sha256(os.fsencode(base)).hexdigest()[:12] + "."


def _is_temp_of(name: str, prefix: str) -> bool:
    rand = name[len(prefix):-len(_SUFFIX)]
    return (name.startswith(prefix) and name.endswith(_SUFFIX) and len(rand) == _RANDOM_HEX
            and all(c in "0123456789abcdef" for c in rand))


def _lock(fd: int, blocking: bool) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        if e.errno in (errno.ENOLCK, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            return True  # a file system without flock: go on unlocked
        raise
    return True


def _remove_leftovers(directory: str, prefix: str) -> None:
    """Delete temporary files of this target that no live save holds (best effort)."""
    if fcntl is None:
        return
    try:
        names = [n for n in os.listdir(directory) if _is_temp_of(n, prefix)]
    except OSError:
        return
    for name in names:
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue  # gone already, a symlink, or unreadable: leave it
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode) and _lock(fd, blocking=False):
                os.unlink(path)  # its writer is dead (a live one holds the lock)
        except OSError:
            pass
        finally:
            os.close(fd)


def _create_temp(directory: str, prefix: str, mode: int) -> tuple[int, str]:
    """Create, open and lock a fresh temporary file; returns (fd, path)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    while True:
        path = os.path.join(directory, prefix + secrets.token_hex(_RANDOM_HEX // 2) + _SUFFIX)
        try:
            fd = os.open(path, flags, mode)
        except FileExistsError:
            continue
        try:
            _lock(fd, blocking=True)
            # a concurrent clean-up may have unlinked the file between its creation and our lock
            if fcntl is None or os.fstat(fd).st_nlink > 0:
                return fd, path
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _fsync_directory(directory: str) -> None:
    """Make the rename durable (POSIX); silently skipped where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(f)`` on a temporary file, fsync it, then rename it to ``path``.

    Readers see either the old file or the complete new one, never a partial
    write; on any error the temporary file is removed and ``path`` is untouched.

    * ``path`` a symlink: the link's target is replaced and the link kept.
    * ``path`` an existing file: its permission bits are kept (0600 stays 0600);
      a new file gets the usual ``0666 & ~umask``.
    * Temporary files left by an earlier save of the same target that was
      killed are removed first.
    """
    target = os.path.realpath(os.fspath(path))
    directory, base = os.path.split(target)
    prefix = temp_prefix(base)
    keep_mode: Optional[int] = None
    try:
        st = os.stat(target)
        if stat.S_ISREG(st.st_mode):
            keep_mode = stat.S_IMODE(st.st_mode) & 0o777  # rwx bits (no set-id bits)
    except FileNotFoundError:
        pass
    _remove_leftovers(directory, prefix)
    # a new file: 0o666 through the umask, as open() would give it (no process-wide umask juggling)
    fd, tmp = _create_temp(directory, prefix, 0o600 if keep_mode is not None else 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            if keep_mode is not None:  # 0o600 at creation, so never more open than the file it replaces
                if hasattr(os, "fchmod"):
                    os.fchmod(f.fileno(), keep_mode)
                else:  # pragma: no cover - Windows
                    os.chmod(tmp, keep_mode)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)
