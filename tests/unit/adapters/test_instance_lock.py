"""One store (one daemon) per state file: `staffer.adapters.instance_lock` through
`StateStore.open`, the way the daemon opens its state."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from staffer.adapters.instance_lock import InstanceLock, StateFileInUse, lock_path
from staffer.adapters.store import StateStore, StoreError
from staffer.settings import ConfigError


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def test_a_second_store_on_the_same_file_is_refused(db: Path) -> None:
    with StateStore.open(db) as first:
        first.next_command_id_sync("main")
        with pytest.raises(StateFileInUse) as err:
            StateStore.open(db)
        message = str(err.value)
        assert isinstance(err.value, ConfigError)  # exit 2, like a configuration error
        assert f"state file {db} is in use" in message and f"pid {os.getpid()} on " in message
        assert "\n" not in message
        assert first.next_command_id_sync("main").startswith("main-00000002-")  # untouched
    with StateStore.open(db) as again:  # released on close
        assert again.next_command_id_sync("main").startswith("main-00000003-")


def test_the_refused_store_never_touched_the_database(db: Path) -> None:
    with StateStore.open(db):
        before = db.read_bytes(), Path(f"{db}-wal").read_bytes()
        with pytest.raises(StateFileInUse):
            StateStore.open(db)
        assert (db.read_bytes(), Path(f"{db}-wal").read_bytes()) == before


def test_another_spelling_of_the_path_shares_the_lock(db: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.db"
    link.symlink_to(db)
    with StateStore.open(db), pytest.raises(StateFileInUse):
        StateStore.open(link)
    with StateStore.open(tmp_path / "." / "state.db"), pytest.raises(StateFileInUse):
        StateStore.open(db)


def test_a_read_only_reader_reads_while_the_store_holds_the_lock(db: Path) -> None:
    """What `staffer audit` does: an SQLite mode=ro connection, no lock of ours."""
    with StateStore.open(db) as store:
        store.save_plan_sync("main", '{"plan_id":"p1"}', 1.0)
        reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            assert reader.execute("SELECT plan FROM plans").fetchall() == [('{"plan_id":"p1"}',)]
        finally:
            reader.close()


def test_a_refused_open_releases_the_lock(db: Path) -> None:
    db.write_bytes(b"not a database" * 300)
    with pytest.raises(StoreError):
        StateStore.open(db)
    lock = InstanceLock.acquire(db)  # nobody holds it
    assert lock is not None
    lock.release()


def test_unusable_paths_leave_no_lock_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory"):
        StateStore.open(tmp_path)
    assert not lock_path(tmp_path).exists()
    with pytest.raises(StoreError, match="does not exist"):
        StateStore.open(tmp_path / "missing" / "state.db")


def test_the_lock_dies_with_its_process(db: Path) -> None:
    """kill -9 leaves nothing to clean up: the kernel drops the lock; the file stays."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from staffer.adapters.store import StateStore\n"
            "s = StateStore.open(sys.argv[1])\n"
            "print('held', flush=True)\n"
            "time.sleep(120)\n",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(StateFileInUse, match=f"pid {holder.pid} on "):
            StateStore.open(db)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
    with StateStore.open(db) as store:
        assert store.load_plans_sync() == {}
    assert lock_path(db).exists()
