"""Atomic file writes shared by the DIMACS and .npz writers (docs/design.md, "Conventions").

A write goes to a temporary file in the destination folder, is fsync'ed, then
renamed over the target with ``os.replace``; on any failure the temporary file
is removed, so a reader sees either the old file or the complete new one.
Only regular files are ever replaced: a FIFO, a device node, a folder or a
symbolic link at the target is refused (`check_output`).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from typing import BinaryIO, Callable

from sethlab.errors import InvalidInstance


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def check_output(path: str | os.PathLike, inputs=()) -> None:
    """Refuse an output path that is not a regular file or a new name (a FIFO, a device, a folder, a
    symbolic link), or that is one of the `inputs` (the same file, also through links)."""
    name = os.fspath(path)
    try:
        st = os.lstat(name)
    except FileNotFoundError:
        return
    except OSError as e:
        raise InvalidInstance(f"{name}: cannot use as output ({e.strerror or e})") from None
    if stat.S_ISLNK(st.st_mode):
        raise InvalidInstance(f"{name}: is a symbolic link; sethlab writes regular files only and never replaces "
                              f"a link (give the target's own path or a new name)")
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInstance(f"{name}: is not a regular file; sethlab writes regular files only")
    for other in inputs:
        try:
            same = os.path.samefile(name, other)
        except OSError:
            same = False
        if same:
            raise InvalidInstance(f"{name}: is the input {os.fspath(other)}; give another output path")


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(f)`` on a temporary file, then atomically move it to ``path`` (a regular file or a new name)."""
    target = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise InvalidInstance(f"path {os.fspath(path)!r}: folder {folder!r} does not exist")
    check_output(path)
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
