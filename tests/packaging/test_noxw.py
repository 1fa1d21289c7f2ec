"""``noxw.py``, the README's entry point: nox from a private environment, never ``--user``."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOX_VERSION = re.compile(r"^\d{4}\.\d+\.\d+$", re.MULTILINE)  # what ``nox --version`` prints

# Runs noxw.main() with ensurepip failing the way it does on Debian without python3-venv.
WITHOUT_ENSUREPIP = """
import subprocess, sys, venv
def no_ensurepip(self, context):
    raise subprocess.CalledProcessError(1, ["python", "-m", "ensurepip"])
venv.EnvBuilder._setup_pip = no_ensurepip
sys.path.insert(0, ".")
import noxw
sys.exit(noxw.main(["--version"]))
"""


def _copy(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "noxw.py", tmp_path / "noxw.py")
    return tmp_path


def _run(where: Path, *cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *cmd], cwd=where, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A copy of noxw.py in a directory of its own, after its first run."""
    where = _copy(tmp_path_factory.mktemp("noxw"))
    return where, _run(where, "noxw.py", "--version")


def test_first_run_builds_the_environment_and_later_runs_reuse_it(
    built: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    where, first = built
    assert first.returncode == 0, first.stderr
    assert "noxw: creating .nox/_noxw" in first.stderr
    env_python = where / ".nox" / "_noxw" / "bin" / "python"
    assert subprocess.run([env_python, "-c", "import nox, uv"], check=False).returncode == 0
    again = _run(where, "noxw.py", "--version")
    assert again.returncode == 0, again.stderr
    assert "creating" not in again.stderr
    found = NOX_VERSION.findall(first.stdout + first.stderr)
    assert found
    assert NOX_VERSION.findall(again.stdout + again.stderr) == found  # the same nox answers


def test_without_ensurepip_the_environment_is_filled_by_this_pythons_pip(tmp_path: Path) -> None:
    where = _copy(tmp_path)
    result = _run(where, "-c", WITHOUT_ENSUREPIP)
    assert result.returncode == 0, result.stderr
    env_python = where / ".nox" / "_noxw" / "bin" / "python"
    no_pip = subprocess.run([env_python, "-m", "pip", "--version"], capture_output=True, check=False)
    assert no_pip.returncode != 0  # made without pip ...
    assert subprocess.run([env_python, "-c", "import nox, uv"], check=False).returncode == 0  # ... filled
    assert NOX_VERSION.search(result.stdout + result.stderr)  # and nox ran: it printed its version


def test_arguments_and_exit_status_pass_through(
    built: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    where, _first = built
    (where / "noxfile.py").write_text(
        "import nox\n\n@nox.session(python=False)\ndef fails(session):\n    session.error('no')\n"
    )
    listed = _run(where, "noxw.py", "-l")
    assert listed.returncode == 0, listed.stderr
    assert "fails" in listed.stdout
    failed = _run(where, "noxw.py", "-s", "fails")
    assert failed.returncode == 1
    assert "Session fails aborted" in failed.stderr
