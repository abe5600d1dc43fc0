"""Atomic file writes shared by the DIMACS and .npz writers (DESIGN.md, "Files").

A write goes to a temporary file in the destination folder, is fsync'ed, then
renamed over the target with ``os.replace``; on any failure the temporary file
is removed, so a reader sees either the old file or the complete new one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import BinaryIO, Callable

from sethlab.errors import InvalidInstance


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(f)`` on a temporary file, then atomically move it to ``path``."""
    target = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise InvalidInstance(f"path {os.fspath(path)!r}: folder {folder!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename durable where the OS allows it
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
