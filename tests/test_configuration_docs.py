"""Every environment variable the code reads is documented for operators."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READ_PATTERN = re.compile(r'env_(?:str|bool|int|list|choice|parsed)\(\s*"([A-Z0-9_]+)"')


def variables_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "src").rglob("*.py"):
        names.update(READ_PATTERN.findall(path.read_text()))
    return names


def test_the_code_reads_its_settings_through_the_typed_helpers():
    assert {"DATABASE_URL", "TRUBKA_PHONE_MATCH_DIGITS", "TRUBKA_PORT"} <= (
        variables_read_by_the_code()
    )


def test_every_variable_is_listed_in_env_example():
    documented = (ROOT / ".env.example").read_text()
    missing = {name for name in variables_read_by_the_code() if name not in documented}
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_every_variable_is_in_the_readme_configuration_table():
    readme = (ROOT / "README.md").read_text()
    missing = {name for name in variables_read_by_the_code() if f"`{name}`" not in readme}
    assert not missing, f"README.md lacks {sorted(missing)}"
