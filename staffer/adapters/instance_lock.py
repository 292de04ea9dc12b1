"""One daemon per state file (contract §16): an exclusive lock on ``<state path>.lock``.

Two daemons on one state database would both move the same agents, so the store takes
this lock before it opens the database, and a second ``staffer run`` on a file in use
stops at once (`StateFileInUse`, exit 2) without reading, writing or connecting anything:
the first keeps running untouched.

* ``flock(2)`` on a sidecar file, never on the database: SQLite keeps its own POSIX locks
  on the database and its ``-wal``/``-shm`` files (a POSIX lock of ours on the same file
  would be dropped whenever SQLite closed a descriptor of it), and read-only readers such
  as ``staffer audit`` (an SQLite ``mode=ro`` connection) never look at the lock file, so
  they keep reading while the daemon runs.
* The kernel releases the lock when the holder's process ends, however it ends
  (``kill -9`` included): there is no stale lock to clean up by hand.
* The file holds the holder's pid and host name, for the message. It is never deleted:
  removing it would let a third process lock a new file of the same name while a second
  one still holds the old one.
* The lock follows symlinks (the path is resolved), so two spellings of one database
  share one lock. On NFS, Linux emulates ``flock`` with byte-range locks, which also work
  across hosts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from pathlib import Path

from staffer.settings import ConfigError


class StateFileInUse(ConfigError):
    """Another process holds the state file's lock (exit 2, like a configuration error:
    two daemons were given one ``[state] path``)."""


def lock_path(db: Path) -> Path:
    """The sidecar lock file of a state database."""
    resolved = db.resolve()
    return resolved.with_name(resolved.name + ".lock")


class InstanceLock:
    """A held lock; `release` (or process exit) gives it up."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, db: Path) -> InstanceLock | None:
        """Lock ``db`` for this process, or raise `StateFileInUse` naming the holder.

        None (nothing locked) when ``db`` cannot be a database file at all (a directory,
        a missing directory): the store refuses that path with its own message.
        """
        if db.is_dir() or not db.parent.is_dir():
            return None
        path = lock_path(db)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise StateFileInUse(
                f"state file {db} is in use by another staffer ({holder}, lock {path}); "
                "stop it first, or give this daemon its own [state] path"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        return cls(fd)

    def release(self) -> None:
        """Give the lock up (idempotent). The file stays, see the module docstring."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)


def _holder(fd: int) -> str:
    """The holder as the lock file names it ("pid N on HOST"); it may be mid-write."""
    try:
        words = os.pread(fd, 256, 0).decode("utf-8", "replace").split()
    except OSError:
        words = []
    if not words or not words[0].isdigit():
        return "pid unknown"
    return f"pid {words[0]}" + (f" on {words[1]}" if len(words) > 1 else "")
