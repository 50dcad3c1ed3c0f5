"""calls/missed_calls.py: the wording of a missed call and the ticket it opens or reuses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import translation

from trubka.calls.actions import do_log_call
from trubka.calls.missed_calls import do_open_missed_call_ticket, missed_call_texts
from trubka.calls.models import PhoneCall
from trubka.tickets.actions import do_change_ticket_status
from trubka.tickets.models import Source, Status, Ticket, TicketComment

MOMENT = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)  # 12:05 in Moscow


def missed(call_id: str, number: str = "+7 916 123-45-67") -> PhoneCall:
    return do_log_call(
        provider="uis:900",
        provider_call_id=call_id,
        started_at=MOMENT,
        client_number=number,
        is_missed=True,
        finished_at=MOMENT,
    )


# --- Wording ---------------------------------------------------------------------------


def test_the_wording_is_in_the_desks_language_whatever_is_active(settings):
    settings.LANGUAGE_CODE = "ru"
    with translation.override("en"):
        texts = missed_call_texts(
            client_number="89123456789", when="2026-03-02 12:05", missed_by=("Иванов Иван",)
        )
    assert texts.title == "Пропущенный звонок от +7 912 345-67-89"
    assert texts.details == (
        "Пропущенный звонок 2026-03-02 12:05 от +7 912 345-67-89. Не ответили: Иванов Иван."
    )
    assert texts.repeat_comment == "Ещё один пропущенный звонок. " + texts.details


def test_a_hidden_number_and_nobody_named(settings):
    settings.LANGUAGE_CODE = "en"
    texts = missed_call_texts(client_number="", when="now")
    assert (texts.title, texts.details) == (
        "Missed call from a hidden number",
        "Missed call at now from a hidden number.",
    )


def test_a_moment_is_shown_in_the_desks_time_zone_and_format(settings):
    settings.LANGUAGE_CODE = "en"
    settings.TIME_ZONE = "Europe/Moscow"
    texts = missed_call_texts(client_number="89123456789", when=MOMENT)
    assert texts.details == "Missed call at March 2, 2026, 12:05 p.m. from +7 912 345-67-89."


# --- The ticket ------------------------------------------------------------------------


def test_a_missed_call_of_a_contact_opens_a_ticket_and_links_the_call(caller, settings):
    settings.LANGUAGE_CODE = "en"
    call = missed("a")
    ticket, created = do_open_missed_call_ticket(call, missed_by=["Петров Пётр"])
    assert created is True
    ticket = Ticket.objects.get()
    assert (ticket.source, ticket.contact, ticket.title) == (
        Source.MISSED_CALL,
        caller,
        "Missed call from +7 916 123-45-67",
    )
    assert ticket.description.endswith("Not answered by: Петров Пётр.")
    assert PhoneCall.objects.get(pk=call.pk).ticket == ticket


def test_the_next_missed_call_of_the_client_is_a_comment_on_the_open_ticket(caller, settings):
    settings.TRUBKA_MISSED_CALL_REUSE_OPEN_TICKET = True
    settings.LANGUAGE_CODE = "en"
    first, _ = do_open_missed_call_ticket(missed("a"))
    second, created = do_open_missed_call_ticket(missed("b"))
    assert (second, created, Ticket.objects.count()) == (first, False, 1)
    comment = TicketComment.objects.get()
    assert comment.content.startswith("Another missed call. Missed call at ")
    assert comment.public is False
    assert PhoneCall.objects.get(provider_call_id="b").ticket == first


def test_without_reuse_each_missed_call_opens_its_own_ticket(caller, settings):
    settings.TRUBKA_MISSED_CALL_REUSE_OPEN_TICKET = False
    do_open_missed_call_ticket(missed("a"))
    do_open_missed_call_ticket(missed("b"))
    assert (Ticket.objects.count(), TicketComment.objects.count()) == (2, 0)


@pytest.mark.parametrize("done", [Status.COMPLETED, Status.CLOSED])
def test_a_done_ticket_is_not_reused(caller, settings, done):
    settings.TRUBKA_MISSED_CALL_REUSE_OPEN_TICKET = True
    first, _ = do_open_missed_call_ticket(missed("a"))
    do_change_ticket_status(first, done)
    second, created = do_open_missed_call_ticket(missed("b"))
    assert (created, second != first) == (True, True)


def test_unknown_numbers_share_a_ticket_by_their_number_only(db, settings):
    settings.TRUBKA_MISSED_CALL_REUSE_OPEN_TICKET = True
    first, _ = do_open_missed_call_ticket(missed("a", number="+7 999 000-11-22"))
    again, reused = do_open_missed_call_ticket(missed("b", number="8 999 000 11 22"))
    other, created = do_open_missed_call_ticket(missed("c", number="+7 999 000-11-33"))
    assert (again, reused) == (first, False)
    assert (created, other != first) == (True, True)


def test_a_call_with_a_ticket_keeps_it_and_changes_nothing(caller):
    call = missed("a")
    ticket, _ = do_open_missed_call_ticket(call)
    again, created = do_open_missed_call_ticket(PhoneCall.objects.get(pk=call.pk))
    assert (again, created, Ticket.objects.count(), TicketComment.objects.count()) == (
        ticket,
        False,
        1,
        0,
    )
