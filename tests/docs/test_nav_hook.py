"""docs/_hooks/nav.py keeps mkdocs' nav in step with the pages that exist."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("restflow_docs_nav", ROOT / "docs/_hooks/nav.py")
assert _spec is not None
assert _spec.loader is not None
nav_hook = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nav_hook)


def _site(tmp_path: Path, pages: list[str]) -> Path:
    for page in pages:
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / page).write_text("# page\n")
    return tmp_path


def _run(docs: Path, nav: list[Any]) -> list[Any]:
    return nav_hook.on_config({"docs_dir": str(docs), "nav": nav})["nav"]


def test_missing_pages_and_empty_sections_are_dropped(tmp_path: Path) -> None:
    docs = _site(tmp_path, ["index.md", "guide/a.md"])
    nav = [
        {"Home": "index.md"},
        {"Gone": "gone.md"},
        {"Guide": [{"A": "guide/a.md"}, {"B": "guide/b.md"}]},
        {"Empty": [{"X": "x.md"}]},
        {"Site": "https://example.com/"},
    ]
    assert _run(docs, nav) == [
        {"Home": "index.md"},
        {"Guide": [{"A": "guide/a.md"}]},
        {"Site": "https://example.com/"},
    ]


def test_unlisted_pages_join_their_folder_section_or_more(tmp_path: Path) -> None:
    docs = _site(tmp_path, ["index.md", "guide/a.md", "guide/new-page.md", "extra.md"])
    nav = [{"Home": "index.md"}, {"Guide": [{"A": "guide/a.md"}]}]
    assert _run(docs, nav) == [
        {"Home": "index.md"},
        {"Guide": [{"A": "guide/a.md"}, {"New page": "guide/new-page.md"}]},
        {"More": [{"Extra": "extra.md"}]},
    ]


def test_private_folders_are_not_pages(tmp_path: Path) -> None:
    docs = _site(tmp_path, ["index.md", "_hooks/notes.md"])
    assert _run(docs, [{"Home": "index.md"}]) == [{"Home": "index.md"}]
