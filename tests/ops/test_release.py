"""Release artefacts: `python -m build` makes an sdist and a wheel (the wheel built from
the unpacked sdist, so a file missing from the sdist is missing from the wheel too); the
wheel carries every module and every file pyproject.toml declares as package data; it
installs into a fresh venv and runs; the sdist installs and runs too. The Dockerfile
builds its image from the same wheel (tests/ops/test_dockerfile.py).

The fresh venv gets the wheel with the extras `staffer demo --help` needs: the `demo`
extra when the wheel declares one (the lean-install split), none otherwise.
About a minute: the venv installs numpy, scipy and the rest (from the local index/cache).
"""

from __future__ import annotations

import email.parser
import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path
    venv: Path


def _run(cmd: list[str | Path], cwd: Path, timeout: float = 600) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    proc = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env
    )
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", out, ROOT], cwd=out)
    (wheel,) = out.glob(f"staffer-{VERSION}-*.whl")
    (sdist,) = out.glob(f"staffer-{VERSION}.tar.gz")
    venv = out / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=out)
    extras = "[demo]" if "demo" in wheel_extras(wheel) else ""
    _run([venv / "bin" / "pip", "install", "--no-compile", f"{wheel}{extras}"], cwd=out)
    return Dist(wheel, sdist, venv)


def wheel_extras(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(f"staffer-{VERSION}.dist-info/METADATA").decode()
    return email.parser.Parser().parsestr(meta).get_all("Provides-Extra") or []


def package_files() -> set[str]:
    """Every module and every declared package-data file of the source tree, as paths
    inside the wheel ("staffer/sim/scenarios/x.toml")."""
    files = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "staffer").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    data = PYPROJECT["tool"]["setuptools"].get("package-data", {})
    for package, patterns in data.items():
        base = ROOT / Path(*package.split("."))
        for pattern in patterns:
            matched = {p.relative_to(ROOT).as_posix() for p in base.glob(pattern) if p.is_file()}
            assert matched, f"package-data {package}: {pattern} matches no file"
            files |= matched
    return files


def test_the_wheel_carries_the_package_and_its_data(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as z:
        names = set(z.namelist())
    expected = package_files()
    assert expected - names == set(), "missing from the wheel"
    assert any(n.startswith("staffer/sim/scenarios/") and n.endswith(".toml") for n in names)
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]


def test_the_sdist_carries_what_the_wheel_is_built_from(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md"} <= names
    assert package_files() - names == set(), "missing from the sdist"


def _staffer(dist: Dist, *args: str) -> str:
    # run from an empty directory: the source tree must not be importable
    return _run([dist.venv / "bin" / "staffer", *args], cwd=dist.venv, timeout=120)


def test_the_installed_wheel_runs(dist: Dist) -> None:
    assert _staffer(dist, "--version") == f"staffer {VERSION}\n"
    assert "usage: staffer demo" in _staffer(dist, "demo", "--help")
    assert "usage: staffer run" in _staffer(dist, "run", "--help")
    where = _run(
        [
            dist.venv / "bin" / "python",
            "-c",
            "import staffer; from importlib.resources import files; print(staffer.__file__); "
            "print(sorted(p.name for p in files('staffer.sim').joinpath('scenarios').iterdir()))",
        ],
        cwd=dist.venv,
    )
    module, scenarios = where.splitlines()
    assert module.startswith(str(dist.venv)), module  # the installed copy, not the checkout
    expected = sorted(p.name for p in (ROOT / "staffer" / "sim" / "scenarios").glob("*.toml"))
    assert scenarios == repr(expected)


def test_the_sdist_installs_and_runs(dist: Dist) -> None:
    """Last: replaces the wheel's files in the venv with a build from the sdist."""
    pip = dist.venv / "bin" / "pip"
    _run([pip, "install", "--no-compile", "--no-deps", "--force-reinstall", dist.sdist], dist.venv)
    assert _staffer(dist, "--version") == f"staffer {VERSION}\n"
    assert "usage: staffer run" in _staffer(dist, "run", "--help")
