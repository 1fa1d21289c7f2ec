"""Find the fenced Python examples of the documentation.

Every block fenced as ```python (or ```py) in ``docs/**/*.md``, the top-level README and
each ``packages/*/README.md`` is an example that ``test_examples.py`` runs. A block that
is only a fragment is fenced as ```text, ```toml, ```bash...; a single block may opt out
with an HTML comment on the line just before its fence::

    <!-- not-executed: needs a running Celery worker -->
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON_LANGS = {"python", "py", "python3"}
_FENCE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_OPT_OUT_RE = re.compile(r"^\s*<!--\s*not-executed:\s*(?P<reason>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Example:
    path: str  # relative to the repository root
    line: int  # 1-based line of the opening fence
    code: str
    opt_out: str | None  # the reason, when the block opts out

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"


def markdown_files(root: Path = ROOT) -> list[Path]:
    files = sorted((root / "docs").rglob("*.md"))
    files += sorted((root / "packages").glob("*/README.md"))
    if (root / "README.md").is_file():
        files.append(root / "README.md")
    return files


def extract(text: str, path: str) -> list[Example]:
    """The Python blocks of one markdown text, with their opt-out reason if any."""
    lines = text.splitlines()
    found: list[Example] = []
    i = 0
    while i < len(lines):
        opening = _FENCE_RE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, indent = opening["fence"], opening["indent"]
        info = opening["info"].strip()
        lang = info.split()[0].lstrip(".{").rstrip("}").lower() if info else ""
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = lines[j].strip()
            if closing.startswith(fence[0] * len(fence)) and not closing.strip(fence[0]):
                break
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        else:
            raise ValueError(f"{path}:{i + 1}: code fence never closed")
        if lang in PYTHON_LANGS:
            previous = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
            opt_out = _OPT_OUT_RE.match(previous)
            reason = opt_out["reason"] if opt_out else None
            if opt_out and not reason:
                raise ValueError(f"{path}:{i + 1}: `not-executed:` needs a reason")
            code = textwrap.dedent("\n".join(body)) + "\n"
            found.append(Example(path, i + 1, code, reason))
        i = j + 1
    return found


def all_examples(root: Path = ROOT) -> list[Example]:
    examples: list[Example] = []
    for file in markdown_files(root):
        examples += extract(file.read_text(encoding="utf-8"), file.relative_to(root).as_posix())
    return examples
