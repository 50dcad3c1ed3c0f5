"""Case-insensitive search that works the same on SQLite and PostgreSQL.

SQLite folds case for ASCII letters only, so ``icontains`` would not find «иванов» in
«Иванов». Models that are searched keep a lower-cased ``search_text`` column instead, and
queries compare against the lower-cased term.
"""

from __future__ import annotations

import re

_SPACES = re.compile(r"\s+")


def search_text(*parts: str | None) -> str:
    return _SPACES.sub(" ", " ".join(p for p in parts if p)).strip().lower()


def search_term(query: str) -> str:
    return _SPACES.sub(" ", query).strip().lower()
