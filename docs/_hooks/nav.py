"""MkDocs hook: the nav in mkdocs.yml, less the pages that do not exist, plus the pages it does not list.

Pages are written in separate changes (several people add pages at once), so the nav may list a page
before it exists, and a new page may exist before someone places it in the nav. MkDocs would warn about
either, which fails the strict build; this hook drops a listed page that is missing and adds an unlisted
one under "More", so every page stays reachable and the build stays strict about links and anchors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MORE = "More"


def _is_page(value: str, docs: Path) -> bool:
    return "://" in value or (docs / value).is_file()


def existing(entries: list[Any], docs: Path) -> list[Any]:
    """`entries` (a nav list) without the pages that are not files under `docs`, and without empty sections."""
    kept: list[Any] = []
    for entry in entries:
        if isinstance(entry, str):
            if _is_page(entry, docs):
                kept.append(entry)
            continue
        ((title, value),) = entry.items()
        if isinstance(value, list):
            children = existing(value, docs)
            if children:
                kept.append({title: children})
        elif _is_page(value, docs):
            kept.append(entry)
    return kept


def listed(entries: list[Any]) -> set[str]:
    found: set[str] = set()
    for entry in entries:
        value = entry if isinstance(entry, str) else next(iter(entry.values()))
        found |= listed(value) if isinstance(value, list) else {value}
    return found


def unlisted(entries: list[Any], docs: Path) -> list[str]:
    """Markdown pages under `docs` that the nav does not name (folders starting with `_` are not pages)."""
    pages = (p.relative_to(docs).as_posix() for p in docs.rglob("*.md"))
    return sorted(p for p in pages if not p.startswith("_") and "/_" not in p and p not in listed(entries))


def on_config(config: Any, **_: Any) -> Any:
    if config.nav:
        docs = Path(config.docs_dir)
        nav = existing(config.nav, docs)
        extra = unlisted(nav, docs)
        config.nav = nav + ([{MORE: extra}] if extra else [])
    return config
