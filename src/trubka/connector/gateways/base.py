"""The seam between what a call means and where the help desk lives.

The connector decides *what* to do with a notification (find or create the client, log the
call, pop it up, open a missed-call ticket); a ``Gateway`` does it in one help desk. This
Trubka is ``LocalDesk`` (``gateways/local.py``); an Okdesk cloud account is the other
adapter. Adapters raise ``TemporaryDeliveryError`` for failures worth retrying (the desk is
down, times out, rate-limits) and ``PermanentDeliveryError`` for requests the desk will never
accept; the worker retries or records accordingly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from trubka.core.jobs import PermanentFailure, TemporaryFailure


class DeliveryError(Exception):
    """The help desk did not take the change."""


class TemporaryDeliveryError(DeliveryError, TemporaryFailure):
    """Worth retrying later: network trouble, timeouts, 5xx, rate limits."""


class PermanentDeliveryError(DeliveryError, PermanentFailure):
    """Retrying will not help: the desk refuses the request as it is."""


def new_client_name(phone: str) -> str:
    """The last name of the card made for a number nobody has, in the desk's language (the
    number itself goes into the first name)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _("New client")


@dataclass(frozen=True)
class ClientRef:
    """The client behind a number in the target desk; ids are the desk's own.

    ``found`` is what the adapter that made the ref looked up (``LocalDesk`` keeps its
    ``CallerMatch`` there), so handing the ref back to the same adapter in
    ``CallReport.client`` spares it a second lookup of the same number. Other adapters ignore
    it; it takes no part in comparisons.
    """

    contact_id: int | None = None
    company_id: int | None = None
    created: bool = False
    ambiguous: bool = False
    found: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class CallReport:
    """What is known of one call after a notification, in the desk's terms."""

    provider: str
    call_id: str
    direction: str
    client_phone: str
    extension: str | None = None
    started_at: datetime | None = None
    talk_duration: int | None = None
    answered: bool = False
    missed: bool = False
    missed_by: tuple[str, ...] = ()
    recording_urls: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)
    #: The client of ``client_phone`` as ``ensure_client`` just found or made it, when the
    #: connector asked first (one lookup per event); None: the adapter looks it up itself.
    client: ClientRef | None = None


@dataclass(frozen=True)
class TicketRef:
    ticket_id: int
    created: bool


class Gateway(Protocol):
    #: The desk is this database (``LocalDesk``): its effects are written in the event's own
    #: transaction. Otherwise (another system's desk, over HTTP) the worker calls it outside
    #: any transaction, under a claim.
    in_process: bool

    def ensure_client(self, phone: str) -> ClientRef:
        """Find the client by number; when nobody has it, create «Новый клиент <number>».

        An ambiguous number (several clients) creates nobody and links nobody.
        """
        ...

    def record_call(self, report: CallReport) -> None:
        """Create or merge the call ``report.call_id`` with what the report says."""
        ...

    def show_popup(self, report: CallReport) -> None:
        """Pop the ringing call up for the employees with ``report.extension``."""
        ...

    def open_missed_call_ticket(self, report: CallReport) -> TicketRef:
        """Open «Пропущенный звонок от …» for the call's client, or, when the desk is set to
        and the client's missed-call ticket is still open, comment on that one instead.
        Asking again for the same call returns the same ticket."""
        ...
