"""What a telephony provider offers the connector, and all the connector asks of one.

A provider (a virtual PBX: UIS and the platforms that share it; Mango Office, an Asterisk
bridge…) is one folder under ``connector/providers/`` plus one line in ``PROVIDERS``
(``connector/providers/__init__.py``). The folder owns everything that knows the provider:
its webhook views and ``urls.py``, how a body is read, the setup form and the bodies shown
on the setup page, the simulator, its real-shaped fixtures and its tests. ``uis/`` is the
folder to copy; ``CONTRIBUTING.md`` has the checklist.

Outside the folder the connector speaks only this module's words:

- the provider's webhook view authenticates the request (finding the ``Integration``) and
  hands the body to ``connector.intake.accept`` with its ``Provider``; ``Provider.read``
  turns the body into a ``Notification``: the provider's own name of the event (kept for the
  event log), its neutral ``EventKind``, the call and the leg that tell repeats apart;
- the stored ``CallEvent`` carries that kind, which is all the queue and the handling look
  at (rings first, then the rest);
- the worker hands the stored event back to its provider (``Provider.report``) for a
  ``CallReport``: what the call now is, in the desk's terms, with no provider words left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from trubka.connector.gateways.base import CallReport
    from trubka.connector.models import CallEvent, Integration


class NotificationError(ValueError):
    """The body cannot be used; the message says why (it is answered with a 400 and kept on
    the recorded event). ``fields`` holds what was understood anyway (``action``,
    ``call_id``, ``parsed``), so the event log can still show it."""

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.fields = fields


@dataclass(frozen=True)
class Notification:
    """One notification as its provider understood it."""

    #: The provider's own name for the event (``wait``, ``history``…), shown in the event log.
    action: str
    #: What it means for the call (``EventKind``); empty for events Trubka does not act on,
    #: which are recorded as ignored.
    kind: str
    call_id: str
    #: Tells apart two notifications of one call and action that are not repeats of each
    #: other (two ringing extensions, two recordings); a repeat has the same leg.
    leg: str
    #: What was understood, stored as ``CallEvent.parsed`` and read back by ``report``.
    parsed: dict[str, Any] = field(default_factory=dict)
    #: Remarks for the event log (e.g. a body naming another account).
    notes: tuple[str, ...] = ()


class Provider(Protocol):
    #: ``Integration.provider`` of the accounts of this provider; also its key in PROVIDERS.
    name: str
    #: How people call it («UIS»).
    label: str

    def read(
        self, raw: bytes, query: list[tuple[str, str]], integration: Integration
    ) -> Notification:
        """Understand a webhook body (and the URL's query parameters) sent for
        ``integration``. Raises ``NotificationError`` for a body that cannot be used."""
        ...

    def report(self, event: CallEvent) -> CallReport:
        """What the stored ``event`` says of its call. Raises ``PermanentDeliveryError``
        when it cannot say (the event is then failed, not retried)."""
        ...

    def known_actions(self) -> tuple[str, ...]:
        """The provider's names of the events it acts on (labels in /metrics)."""
        ...
