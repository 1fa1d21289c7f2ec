#!/usr/bin/env python3
"""Run this workspace's nox sessions from a private environment: ``python3 noxw.py -s tests``.

Every argument goes to nox. The first run creates ``.nox/_noxw`` (a virtual environment
holding nox and uv) with this Python; later runs reuse it. No ``pip install --user``:
that is refused on system Pythons that follow PEP 668 (Debian, Ubuntu, Fedora). Where
the standard library's ``ensurepip`` is missing (Debian without ``python3-venv``), the
environment is made without pip and filled by this Python's own pip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
ENV = ROOT / ".nox" / "_noxw"
REQUIREMENT = "nox[uv]>=2025.2.9"


def _python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _ready(python: Path) -> bool:
    if not python.exists():
        return False
    probe = [str(python), "-c", "import nox, uv"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def _has_pip(python: Path) -> bool:
    probe = [str(python), "-m", "pip", "--version"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def _create() -> Path:
    print(f"noxw: creating {ENV.relative_to(ROOT)} with {REQUIREMENT}", file=sys.stderr)
    python = _python(ENV)
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(ENV)
    except subprocess.CalledProcessError:  # no ensurepip: an environment without pip
        venv.EnvBuilder(with_pip=False, clear=True).create(ENV)
    if _has_pip(python):
        install = [str(python), "-m", "pip", "install", "--quiet", REQUIREMENT]
    elif _has_pip(Path(sys.executable)):
        install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                   REQUIREMENT]
    else:
        sys.exit("noxw: neither the new environment nor this Python has pip; install pip "
                 "(Debian/Ubuntu: apt install python3-pip python3-venv) and run again")
    subprocess.run(install, check=True)
    if not _ready(python):
        sys.exit(f"noxw: {REQUIREMENT} did not install into {ENV}")
    return python


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        sys.exit(f"noxw: restflow needs Python 3.11+, this is {sys.version.split()[0]}")
    python = _python(ENV)
    if not _ready(python):
        python = _create()
    return subprocess.call([str(python), "-m", "nox", *argv], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
