"""mkdocs hook: keep the ``nav`` of mkdocs.yml in step with the pages that exist.

Entries naming a missing page are dropped (strict mode would fail on them); pages that
exist but are not listed are appended to the section holding their folder's other
pages, or to a trailing "More" section. Sections left empty disappear.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

NavItem = str | dict[str, Any]


def _pages(docs: Path, excluded: tuple[str, ...]) -> set[str]:
    found = set()
    for path in docs.rglob("*.md"):
        rel = path.relative_to(docs).as_posix()
        if not rel.startswith(excluded):
            found.add(rel)
    return found


def _prune(items: list[NavItem], pages: set[str], used: set[str]) -> list[NavItem]:
    kept: list[NavItem] = []
    for item in items:
        if isinstance(item, str):
            target: Any = item
            title = None
        else:
            ((title, target),) = item.items()
        if isinstance(target, list):
            children = _prune(target, pages, used)
            if children:
                kept.append({title: children})
        elif "://" in str(target):
            kept.append(item)
        elif target in pages:
            used.add(target)
            kept.append(item)
    return kept


def _title(page: str) -> str:
    stem = Path(page).stem
    if stem == "index":
        stem = Path(page).parent.name or "home"
    return stem.replace("-", " ").replace("_", " ").capitalize()


def _section_for(items: list[NavItem], folder: str) -> list[NavItem] | None:
    for item in items:
        if isinstance(item, dict):
            ((_, target),) = item.items()
            if isinstance(target, list):
                flat = [next(iter(c.values())) if isinstance(c, dict) else c for c in target]
                if any(isinstance(t, str) and t.startswith(f"{folder}/") for t in flat):
                    return target
                found = _section_for(target, folder)
                if found is not None:
                    return found
    return None


def on_config(config: Any, **_: Any) -> Any:
    if not config.get("nav"):
        return config
    docs = Path(config["docs_dir"])
    pages = _pages(docs, ("_",))
    used: set[str] = set()
    nav = _prune(config["nav"], pages, used)
    more: list[NavItem] = []
    for page in sorted(pages - used):
        folder = page.rsplit("/", 1)[0] if "/" in page else ""
        section = _section_for(nav, folder) if folder else None
        (section if section is not None else more).append({_title(page): page})
    if more:
        nav.append({"More": more})
    config["nav"] = nav
    return config
