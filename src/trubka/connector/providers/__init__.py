"""The telephony providers Trubka takes calls from: one line each (see ``providers/base.py``).

A provider is a package (its folder): its ``provider`` module has ``PROVIDER``, an object
offering ``providers.base.Provider``; it may have ``urls`` (its webhook routes, included by
``connector/urls.py``) and ``asgi`` (a fast lane in front of Django, see ``trubka/asgi.py``).
The package's ``__init__`` imports nothing, so the CLI can reach its parts before Django is
set up.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trubka.connector.providers.base import Provider

#: Every provider by ``Integration.provider``, as the module path of its folder.
PROVIDERS: dict[str, str] = {
    "uis": "trubka.connector.providers.uis",
}


class UnknownProviderError(LookupError):
    """An account names a provider this Trubka does not have."""


def get(name: str) -> Provider:
    try:
        path = PROVIDERS[name]
    except KeyError:
        raise UnknownProviderError(f"no telephony provider {name!r}") from None
    provider: Provider = import_module(f"{path}.provider").PROVIDER
    return provider


def every() -> list[Provider]:
    return [get(name) for name in PROVIDERS]


def submodules(part: str) -> list[ModuleType]:
    """Each provider's ``part`` module (``urls``, ``asgi``) where it has one."""
    found = []
    for path in PROVIDERS.values():
        if find_spec(f"{path}.{part}") is not None:
            found.append(import_module(f"{path}.{part}"))
    return found


def url_patterns() -> list[Any]:
    return [pattern for urls in submodules("urls") for pattern in urls.urlpatterns]
