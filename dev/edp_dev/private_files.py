"""Files that hold a secret, the logs next to them and their folders: private from the first byte.

A secret file is never written and then chmod-ed, because another account could open it in between and
keep reading.  It is created under a temporary name with O_EXCL and its final mode, written, fsync-ed and
renamed over the final name, so that name only ever shows a complete file with the right mode.  Its folder is
created 0700 (tightened when it exists wider), so nobody else reaches even the name.  Only the development
package needs this: the shipped package (plugins/edp) writes no secret file.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path, mode: int = PRIVATE_DIR) -> Path:
    """Create `path` with `mode` (missing parents get the default mode), or take from an existing folder every
    bit `mode` lacks; a folder narrower than `mode` stays as it is."""
    path.mkdir(mode=mode, parents=True, exist_ok=True)
    current = stat.S_IMODE(path.stat().st_mode)
    if current & ~mode:
        os.chmod(path, current & mode)
    return path


def write_private(path: Path, data: str | bytes, mode: int = PRIVATE_FILE,
                  folder_mode: int | None = PRIVATE_DIR) -> Path:
    """Replace `path` atomically with `data`, the file `mode` from its creation on, in a `folder_mode` folder
    (None: leave the folder as it is, for a caller whose folder another account must traverse)."""
    if folder_mode is not None:
        private_dir(path.parent, folder_mode)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have narrowed `mode`; the file is still empty here
        with os.fdopen(fd, "wb") as out:
            out.write(data.encode() if isinstance(data, str) else data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def open_private_append(path: Path, folder_mode: int | None = PRIVATE_DIR) -> int:
    """A descriptor appending to the log `path`, 0600 in a `folder_mode` folder (an older, wider log is
    tightened before the first new byte goes in)."""
    if folder_mode is not None:
        private_dir(path.parent, folder_mode)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    return fd


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable, so a crash leaves the old file or the new one."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
