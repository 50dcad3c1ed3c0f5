"""Where a missed call becomes a ticket.

A missed call opens a ticket for its client («Missed call from …»), or, when
``TRUBKA_MISSED_CALL_REUSE_OPEN_TICKET`` is on and the client already has an open missed-call
ticket, adds a private comment («Another missed call. …») to that one instead. The client is
the call's contact, else its company (tickets of the company with no contact), else, for an
unknown number, the tickets that calls from the same number were linked to.

The wording is the desk's (``LANGUAGE_CODE``), whoever's request the call arrived in, and it
is shared with the gateway that writes these tickets into an Okdesk cloud account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from trubka.calls.actions import do_link_call_to_ticket
from trubka.calls.models import PhoneCall
from trubka.core.phones import normalize_phone
from trubka.tickets.actions import do_add_ticket_comment, do_create_ticket
from trubka.tickets.models import Source, Ticket, TicketType


@dataclass(frozen=True)
class MissedCallTexts:
    """The wording of a missed call, in the desk's language."""

    title: str  # of a new ticket
    details: str  # a new ticket's description
    repeat_comment: str  # the comment on the client's open ticket


def missed_call_texts(
    *, client_number: str, when: datetime | str, missed_by: Sequence[str] = ()
) -> MissedCallTexts:
    """The wording for a call from ``client_number`` (hidden when empty) missed ``when`` (a
    moment, shown in the desk's time zone and format, or a text shown as it is) by the
    employees ``missed_by``."""
    with translation.override(settings.LANGUAGE_CODE):
        if isinstance(when, datetime):
            when = formats.date_format(timezone.localtime(when), "DATETIME_FORMAT")
        number = normalize_phone(client_number).display or _("a hidden number")
        details = _("Missed call at %(when)s from %(number)s.") % {"when": when, "number": number}
        names = ", ".join(missed_by)
        if names:
            details += " " + _("Not answered by: %(names)s.") % {"names": names}
        return MissedCallTexts(
            title=_("Missed call from %(number)s") % {"number": number},
            details=details,
            repeat_comment=_("Another missed call.") + " " + details,
        )


def open_missed_call_ticket_of(call: PhoneCall) -> Ticket | None:
    """The open missed-call ticket of ``call``'s client that a new missed call goes to, or
    None when each missed call opens its own (the setting is off) or there is none."""
    if not settings.TRUBKA_MISSED_CALL_REUSE_OPEN_TICKET:
        return None
    tickets = Ticket.objects.open().filter(source=Source.MISSED_CALL)
    if call.contact_id:
        tickets = tickets.filter(contact_id=call.contact_id)
    elif call.company_id:
        tickets = tickets.filter(company_id=call.company_id, contact__isnull=True)
    elif call.client_match_key:
        tickets = tickets.filter(
            contact__isnull=True,
            company__isnull=True,
            phone_calls__client_match_key=call.client_match_key,
        )
    else:
        return None
    return tickets.order_by("-created_at").first()


@transaction.atomic
def do_open_missed_call_ticket(
    call: PhoneCall, *, missed_by: Sequence[str] = ()
) -> tuple[Ticket, bool]:
    """Give the missed ``call`` its ticket: a new one, or a comment on the client's open
    missed-call ticket (see the module's docstring). Returns the ticket and whether it is new.
    A call that has a ticket already keeps it and changes nothing, so a retry opens nothing
    twice."""
    if call.ticket_id:
        assert call.ticket is not None
        return call.ticket, False
    texts = missed_call_texts(
        client_number=call.client_number, when=call.started_at, missed_by=missed_by
    )
    # The ticket is written in the desk's language too, as it always was.
    with translation.override(settings.LANGUAGE_CODE):
        ticket = open_missed_call_ticket_of(call)
        if ticket is not None:
            do_add_ticket_comment(ticket, content=texts.repeat_comment, public=False)
            created = False
        else:
            ticket = do_create_ticket(
                title=texts.title,
                description=texts.details,
                contact=call.contact,
                company=call.company,
                source=Source.MISSED_CALL,
                type=TicketType.INCIDENT,
            )
            created = True
    do_link_call_to_ticket(call, ticket)
    return ticket, created
