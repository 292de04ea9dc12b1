"""The Dockerfile cannot be built here (no container engine): lint it with hadolint and
check, by parsing it, the properties the deployment relies on."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess

import pytest

from staffer.settings import HttpSettings, settings_from_dict

from .conftest import ROOT, require_tool

DOCKERFILE = ROOT / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


@pytest.fixture(scope="module")
def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for ins in instructions(DOCKERFILE.read_text()):
        if ins[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(ins)
    return result


def args_of(stage: list[tuple[str, str]], name: str) -> list[str]:
    return [a for i, a in stage if i == name]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for arg in args_of(stage, "ENV"):
        env.update(dict(re.findall(r"(\w+)=(\S+)", arg)))
    return env


def test_hadolint_passes() -> None:
    hadolint = require_tool("hadolint")
    proc = subprocess.run(
        [hadolint, "--config", str(ROOT / ".hadolint.yaml"), str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path) -> None:
    """The lint gate is real: the same config rejects a root, unpinned image."""
    hadolint = require_tool("hadolint")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install flask\nUSER root\n")
    proc = subprocess.run(
        [hadolint, "--config", str(ROOT / ".hadolint.yaml"), str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "DL3002" in proc.stdout and "DL3007" in proc.stdout


def test_multi_stage_slim_python_311(stages) -> None:
    text = DOCKERFILE.read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", text, re.M)
    assert base and re.fullmatch(r"python:3\.11-slim(-\w+)?", base.group(1)), base
    assert len(stages) >= 2
    assert all(args_of(s, "FROM")[0].startswith("${PYTHON_IMAGE}") for s in stages)


def test_build_stage_makes_the_release_wheel(stages) -> None:
    """The image is built from the wheel `python -m build` makes (tests/ops/test_release.py
    installs that wheel in a fresh venv), not from the source tree."""
    build = stages[0]
    assert args_of(build, "FROM")[0].endswith(" AS build")
    runs = " && ".join(args_of(build, "RUN"))
    assert re.search(r"pip install --no-cache-dir build==\d[\w.]*", runs), runs
    assert "python -m build --wheel --outdir /dist ." in runs


def test_runtime_stage_installs_only_that_wheel(stages) -> None:
    runtime = stages[-1]
    installs = [r for r in args_of(runtime, "RUN") if "pip install" in r]
    assert len(installs) == 1, installs
    (install,) = installs
    # the wheel is bind-mounted from the build stage: it is never a layer of the image
    assert install.startswith("--mount=type=bind,from=build,source=/dist,target=/dist ")
    assert 'wheel="$(ls /dist/staffer-*.whl)"' in install
    # the wheel itself, with the optional extras of `--build-arg EXTRAS=demo`
    assert '/opt/staffer/bin/pip install --no-cache-dir "${wheel}${EXTRAS:+[$EXTRAS]}"' in install
    # nothing from the build context (no sources) reaches the runtime stage
    assert all(c.startswith("--from=") for c in args_of(runtime, "COPY"))


def test_runs_as_non_root_with_state_volume(stages) -> None:
    runtime = stages[-1]
    user = args_of(runtime, "USER")[-1]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, user
    volumes = json.loads(args_of(runtime, "VOLUME")[-1])
    assert "/var/lib/staffer" in volumes
    assert env_of(runtime)["STAFFER_STATE__PATH"].startswith("/var/lib/staffer/")


def test_entrypoint_and_config_path(stages) -> None:
    runtime = stages[-1]
    assert json.loads(args_of(runtime, "ENTRYPOINT")[-1]) == ["staffer", "run"]
    assert json.loads(args_of(runtime, "CMD")[-1]) == ["-c", "/etc/staffer/staffer.toml"]


def test_env_is_valid_configuration_and_binds_all_interfaces(stages) -> None:
    env = {k: v for k, v in env_of(stages[-1]).items() if k.startswith("STAFFER_")}
    settings = settings_from_dict({}, env=env)
    assert settings.http.host == "0.0.0.0"
    assert str(settings.state.path).startswith("/var/lib/staffer/")
    assert settings.http.port in [int(p.split("/")[0]) for p in args_of(stages[-1], "EXPOSE")]


def test_healthcheck_probes_healthz_with_python(stages) -> None:
    hc = args_of(stages[-1], "HEALTHCHECK")[-1]
    cmd = json.loads(hc[hc.index("CMD") + 3 :].strip())
    assert cmd[:2] == ["python", "-c"]
    assert "/healthz" in cmd[2] and "urllib.request" in cmd[2] and "curl" not in hc
    assert str(HttpSettings().port) in cmd[2]
    compile(cmd[2], "<healthcheck>", "exec")  # the one-liner is valid Python


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; a matched directory covers its files."""
    parts = path.split("/")
    ignored = False
    for pat in patterns:
        neg = pat.startswith("!")
        pat = pat.lstrip("!").rstrip("/")
        if pat.startswith("**/"):
            hit = any(fnmatch.fnmatch(part, pat[3:]) for part in parts)
        else:
            hit = any(fnmatch.fnmatch("/".join(parts[:n]), pat) for n in range(1, len(parts) + 1))
        if hit:
            ignored = not neg
    return ignored


def test_dockerignore_keeps_sources_and_drops_the_rest(stages) -> None:
    patterns = [
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    sources = [src for a in args_of(stages[0], "COPY") for src in a.split()[:-1]]
    for src in sources:
        assert (ROOT / src).exists(), src
        assert not _ignored(src, patterns), f"{src} is excluded by .dockerignore"
    assert not _ignored("staffer/settings.py", patterns)
    for junk in (
        ".venv/bin/python",
        ".git/config",
        "tests/__init__.py",
        "staffer/__pycache__/x.pyc",
        "deploy/compose.yaml",
    ):
        assert _ignored(junk, patterns), junk
