"""Run ``staffer`` subcommands as real child processes from async tests (exit code, stdout,
stderr), with a clean environment and a working directory without a config file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

RUN_TIMEOUT_S = 60.0  # generous: the machine may be loaded


@dataclass(frozen=True)
class Done:
    rc: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAFFER_")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


async def _spawn(argv: tuple[str, ...], cwd: Path, env: dict[str, str] | None):
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "staffer",
        *argv,
        cwd=cwd,
        env=env or clean_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def staffer(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> Done:
    """``python -m staffer ARGV`` to completion."""
    proc = await _spawn(argv, cwd, env)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"staffer {' '.join(argv)} did not finish") from None
    return Done(proc.returncode or 0, out.decode(), err.decode())


@contextlib.asynccontextmanager
async def staffer_background(
    *argv: str, cwd: Path, ready: str, env: dict[str, str] | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Start ``python -m staffer ARGV`` and wait until its stderr shows ``ready``; it is
    killed at the end of the block if still running."""
    proc = await _spawn(argv, cwd, env)
    assert proc.stderr is not None
    try:
        line = await asyncio.wait_for(proc.stderr.readline(), RUN_TIMEOUT_S)
        assert ready in line.decode(), line
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
