"""The user-facing pages promise what the repository has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import versioning

ROOT = versioning.ROOT
DISTS = versioning.distributions()
INSTALLATION = (ROOT / "docs" / "installation.md").read_text()
README = (ROOT / "README.md").read_text()
_LINK_RE = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("dist", DISTS)
def test_installation_page_lists_every_distribution_and_extra(dist: str) -> None:
    project = versioning.load(ROOT / "packages" / dist / "pyproject.toml")["project"]
    assert f"**{dist}**" in INSTALLATION, f"docs/installation.md does not list {dist}"
    for extra in project.get("optional-dependencies", {}):
        assert f"{dist}[{extra}]" in INSTALLATION, (
            f'docs/installation.md does not show `pip install "{dist}[{extra}]"`'
        )


def test_readme_has_the_two_fresh_machine_commands() -> None:
    commands = re.findall(r"```bash\n(python3 .*)\n```", README)
    assert len(commands) == 2
    assert commands == ["python3 noxw.py -s demo", "python3 noxw.py -s tests"]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.findall(r"```bash\n(python3 .*noxw.py -s tests)\n```", README)[0]
    assert command in ci


@pytest.mark.parametrize(
    "page",
    [ROOT / "README.md", *sorted((ROOT / "packages").glob("*/README.md"))],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_relative_links_of_readmes_point_to_existing_files(page: Path) -> None:
    for target in _LINK_RE.findall(page.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def _setting_keys(defaults: dict, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    keys = []
    for key, value in defaults.items():
        keys.append((*path, key))
        if isinstance(value, dict):
            keys += _setting_keys(value, (*path, key))
    return keys


def test_settings_reference_documents_every_key_with_its_default() -> None:
    from django.test import override_settings

    from restflow.settings import restflow_settings

    # Every key served with nothing set: core's and each installed dispatcher's block.
    with override_settings(RESTFLOW_SETTINGS={}):
        served = restflow_settings.to_dict()
    page = (ROOT / "docs" / "settings.md").read_text()
    sections = re.split(r"^#{2,4} ", page, flags=re.M)
    missing = []
    for path in _setting_keys(served):
        key = path[-1]
        if len(path) == 1:
            found = any(s.startswith(f"{key}\n") for s in sections)
        elif len(path) == 2 or path[-2] == "DISPATCHER_SETTINGS":
            # a top-level key of a section, or a dispatcher block: its own heading
            found = any(s.startswith(f"{key}\n") for s in sections)
        else:
            # a key inside a dispatcher block: a row of that block's table
            block = next((s for s in sections if s.startswith(f"{path[-2]}\n")), "")
            found = f"| `{key}` |" in block
        if not found:
            missing.append(".".join(path))
    assert missing == [], f"docs/settings.md does not document {missing}"
