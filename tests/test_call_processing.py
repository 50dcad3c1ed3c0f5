"""What UIS notifications do to the desk once the worker processes them (LocalDesk)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, OperationalError
from django.utils import timezone

from providers.uis import bodies as uis
from trubka.calls.models import CallPopup, CallRecording, PhoneCall
from trubka.clients.actions import do_create_company, do_create_contact
from trubka.clients.models import Contact
from trubka.connector import handling
from trubka.connector.gateways.base import (
    PermanentDeliveryError,
    TemporaryDeliveryError,
    new_client_name,
)
from trubka.connector.gateways.local import LocalDesk
from trubka.connector.models import CallEvent, EventStatus, Integration, Target
from trubka.connector.providers.uis.report import report_of
from trubka.connector.queue.claim import claim_batch
from trubka.connector.queue.outcome import backoff, retry_event, run_event
from trubka.connector.queue.worker import Worker, drain
from trubka.tickets.actions import do_change_ticket_status
from trubka.tickets.models import Source, Status, Ticket, TicketComment

UNKNOWN = "79990001122"
UNKNOWN_E164 = "+79990001122"


@pytest.fixture
def desk(agent, agent2, caller):
    """Two employees on extensions 101 and 102, and the known caller."""
    return caller


@pytest.fixture
def english(settings):
    settings.LANGUAGE_CODE = "en"


def deliver(account: Integration, *bodies: str | bytes) -> None:
    """Post each body to the webhook as UIS does, then let the worker process the queue."""
    for body in bodies:
        response = uis.send(account, body)
        assert response.status_code == 200, response.content
    drain()


def the_call() -> PhoneCall:
    (call,) = PhoneCall.objects.all()
    return call


def the_ticket() -> Ticket:
    (ticket,) = Ticket.objects.all()
    return ticket


# --- A call rings -----------------------------------------------------------------------


def test_a_ringing_call_from_a_known_caller_is_logged_with_the_employee_of_the_extension(
    account, desk, agent
):
    deliver(account, uis.wait())
    call = the_call()
    assert (call.employee, call.our_number, call.direction) == (agent, "101", "in")


def test_a_ringing_call_from_a_known_caller_is_linked_to_the_caller_and_company(
    account, desk, caller, company
):
    deliver(account, uis.wait())
    call = the_call()
    assert (call.contact, call.company, call.client_e164) == (caller, company, uis.CALLER_E164)


def test_a_ringing_call_is_logged_under_the_accounts_provider_and_uis_call_id(account, desk):
    deliver(account, uis.wait())
    call = the_call()
    assert (call.provider, call.provider_call_id) == (f"uis:{uis.APP_ID}", str(uis.CALL_ID))


def test_a_ringing_call_is_neither_answered_nor_missed_yet(account, desk):
    deliver(account, uis.wait())
    call = the_call()
    assert (call.answered_at, call.finished_at, call.is_missed) == (None, None, False)


def test_a_ringing_call_pops_up_for_the_employee_of_the_extension(account, desk, agent, caller):
    deliver(account, uis.wait())
    popup = CallPopup.objects.get(extension="101")
    assert (popup.employee, popup.call, popup.contact) == (agent, the_call(), caller)


def test_a_ringing_call_does_not_pop_up_for_other_extensions(account, desk, agent2):
    deliver(account, uis.wait())
    assert not CallPopup.objects.filter(extension="102").exists()
    assert not CallPopup.objects.filter(employee=agent2).exists()


def test_a_processed_event_is_marked_processed(account, desk):
    deliver(account, uis.wait())
    event = CallEvent.objects.get()
    assert (event.status, event.attempts, event.last_error) == (EventStatus.PROCESSED, 1, "")
    assert event.processed_at is not None


def test_a_ringing_call_on_an_extension_nobody_has_pops_up_for_nobody_but_is_kept(account, desk):
    deliver(account, uis.wait(extension_phone_number="109"))
    popup = CallPopup.objects.get()
    assert (popup.extension, popup.employee, the_call().employee) == ("109", None, None)


def test_two_ringing_legs_pop_up_for_both_extensions(account, desk, agent, agent2):
    deliver(
        account,
        uis.wait(extension_phone_number="101"),
        uis.wait(extension_phone_number="102"),
    )
    assert set(CallPopup.objects.values_list("employee", flat=True)) == {agent.pk, agent2.pk}


# --- A call from a number nobody has --------------------------------------------------


def test_a_call_from_an_unknown_number_creates_a_new_client_card(account, desk):
    deliver(account, uis.wait(contact_phone_number=UNKNOWN))
    contact = Contact.objects.exclude(pk=desk.pk).get()
    assert contact.last_name == new_client_name(UNKNOWN)


def test_the_new_client_card_is_named_new_client_in_russian(account, desk):
    deliver(account, uis.wait(contact_phone_number=UNKNOWN))
    assert Contact.objects.exclude(pk=desk.pk).get().last_name == "Новый клиент"


def test_the_new_client_card_is_named_new_client_in_english(account, desk, english):
    deliver(account, uis.wait(contact_phone_number=UNKNOWN))
    assert Contact.objects.exclude(pk=desk.pk).get().last_name == "New client"


def test_the_new_client_card_has_the_number_in_e164(account, desk):
    deliver(account, uis.wait(contact_phone_number=UNKNOWN))
    contact = Contact.objects.exclude(pk=desk.pk).get()
    assert [p.e164 for p in contact.phones.all()] == [UNKNOWN_E164]


def test_a_call_from_an_unknown_number_is_linked_to_the_new_card(account, desk):
    deliver(account, uis.wait(contact_phone_number=UNKNOWN))
    assert the_call().contact == Contact.objects.exclude(pk=desk.pk).get()


def test_a_call_from_an_unknown_number_pops_up_with_the_new_card(account, desk, agent):
    deliver(account, uis.wait(contact_phone_number=UNKNOWN))
    popup = CallPopup.objects.get()
    assert (popup.employee, popup.contact) == (agent, Contact.objects.exclude(pk=desk.pk).get())


def test_a_second_call_from_the_new_number_creates_no_second_card(account, desk):
    deliver(
        account,
        uis.wait(contact_phone_number=UNKNOWN),
        uis.wait(contact_phone_number=UNKNOWN, call_session_id=2),
    )
    assert Contact.objects.exclude(pk=desk.pk).count() == 1


def test_a_call_without_a_number_creates_no_card(account, desk):
    deliver(account, uis.wait(contact_phone_number=None))
    assert Contact.objects.count() == 1


@pytest.fixture
def shared_number(db):
    """Two contacts of two companies with the same mobile number."""
    return [
        do_create_contact(
            first_name="Тест",
            last_name=last_name,
            company=do_create_company(name=name),
            phones=[("mobile", "8 916 555 44 33")],
        )
        for last_name, name in (("Альфов", "Альфа"), ("Бетов", "Бета"))
    ]


def test_a_call_from_a_number_two_contacts_share_creates_nobody(account, agent, shared_number):
    deliver(account, uis.wait(contact_phone_number="79165554433"))
    assert Contact.objects.count() == 2


def test_a_call_from_a_number_two_contacts_share_is_linked_to_nobody(account, agent, shared_number):
    deliver(account, uis.wait(contact_phone_number="79165554433"))
    call = the_call()
    assert (call.contact, call.company) == (None, None)


def test_a_call_from_a_number_two_contacts_share_pops_up_with_nobody(account, agent, shared_number):
    deliver(account, uis.wait(contact_phone_number="79165554433"))
    popup = CallPopup.objects.get()
    assert (popup.employee, popup.contact, popup.company) == (agent, None, None)


# --- A recorded conversation ------------------------------------------------------------


def test_a_recorded_conversation_completes_the_same_call(account, desk):
    deliver(account, uis.wait(), uis.history())
    assert PhoneCall.objects.count() == 1


def test_a_recorded_conversation_gives_the_talk_duration(account, desk):
    deliver(account, uis.wait(), uis.history())
    assert the_call().talk_duration == uis.DURATION


def test_a_recorded_conversation_gives_the_recording_link(account, desk):
    deliver(account, uis.wait(), uis.history())
    recording = CallRecording.objects.get()
    assert (recording.call, recording.source_url, recording.duration) == (
        the_call(),
        uis.RECORDING,
        uis.DURATION,
    )


def test_a_recorded_conversation_marks_the_call_answered_and_finished(account, desk):
    deliver(account, uis.wait(), uis.history())
    call = the_call()
    assert call.answered_at is not None
    assert call.finished_at is not None
    assert call.is_missed is False


def test_a_recorded_conversation_keeps_the_employee_and_client(account, desk, agent, caller):
    deliver(account, uis.wait(), uis.history())
    call = the_call()
    assert (call.employee, call.contact) == (agent, caller)


def test_every_recording_link_of_a_list_is_kept(account, desk):
    deliver(account, uis.body("history_file_link_list.json"))
    assert set(CallRecording.objects.values_list("source_url", flat=True)) == {
        uis.RECORDING,
        uis.SECOND_RECORDING,
    }


def test_a_recorded_conversation_sent_as_a_form_is_processed_like_json(account, desk):
    response = uis.send(
        account, uis.body("history_form.txt"), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    drain()
    assert (the_call().talk_duration, CallRecording.objects.get().source_url) == (
        uis.DURATION,
        uis.RECORDING,
    )


def test_the_start_time_is_read_in_the_accounts_zone(account, desk):
    account.timezone = "Asia/Yekaterinburg"
    account.save()
    deliver(account, uis.history(start_time="2026-03-01 10:00:00.123456"))
    assert the_call().started_at == datetime(2026, 3, 1, 5, 0, 0, 123456, tzinfo=UTC)


def test_the_start_time_of_a_moscow_account_is_three_hours_ahead_of_utc(account, desk):
    deliver(account, uis.history(start_time="2026-03-01 10:00:00"))
    assert the_call().started_at == datetime(2026, 3, 1, 7, 0, tzinfo=UTC)


# --- A lost call -------------------------------------------------------------------------


def test_a_lost_call_is_logged_as_missed(account, desk):
    deliver(account, uis.wait(), uis.lost())
    assert the_call().is_missed is True


def test_a_lost_call_names_the_employees_who_did_not_answer(account, desk):
    deliver(account, uis.wait(), uis.lost())
    assert the_call().missed_by == "Иванов Иван, Петрова Мария"


def test_a_lost_call_opens_a_missed_call_ticket(account, desk, english):
    deliver(account, uis.wait(), uis.lost())
    assert the_ticket().title == f"Missed call from {uis.CALLER_DISPLAY}"


def test_a_lost_call_opens_a_missed_call_ticket_in_russian(account, desk):
    deliver(account, uis.wait(), uis.lost())
    assert the_ticket().title == f"Пропущенный звонок от {uis.CALLER_DISPLAY}"


def test_the_missed_call_ticket_has_the_missed_call_source_and_the_client(
    account, desk, caller, company
):
    deliver(account, uis.wait(), uis.lost())
    ticket = the_ticket()
    assert (ticket.source, ticket.contact, ticket.company, ticket.status) == (
        Source.MISSED_CALL,
        caller,
        company,
        Status.OPENED,
    )


def test_the_missed_call_ticket_names_the_employees_who_did_not_answer(account, desk):
    deliver(account, uis.wait(), uis.lost())
    description = the_ticket().description
    assert "Иванов Иван" in description
    assert "Петрова Мария" in description


def test_the_missed_call_ticket_names_the_number(account, desk):
    deliver(account, uis.wait(), uis.lost())
    assert uis.CALLER_DISPLAY in the_ticket().description


def test_the_missed_call_is_linked_to_its_ticket(account, desk):
    deliver(account, uis.wait(), uis.lost())
    assert the_call().ticket == the_ticket()


def test_a_lost_call_with_bare_placeholders_is_processed(account, desk):
    deliver(account, uis.body("lost_unsubstituted.txt"))
    assert (the_call().is_missed, Ticket.objects.count()) == (True, 1)


def test_a_lost_call_from_an_unknown_number_opens_a_ticket_for_the_new_card(account, desk):
    deliver(account, uis.lost(contact_phone_number=UNKNOWN))
    assert the_ticket().contact == Contact.objects.exclude(pk=desk.pk).get()


def test_a_repeated_missed_call_while_the_ticket_is_open_adds_a_comment(account, desk, english):
    deliver(account, uis.lost(), uis.lost(call_session_id=2))
    comment = TicketComment.objects.get()
    assert (Ticket.objects.count(), comment.ticket) == (1, the_ticket())
    assert comment.content.startswith("Another missed call.")


def test_a_repeated_missed_call_is_linked_to_the_open_ticket(account, desk):
    deliver(account, uis.lost(), uis.lost(call_session_id=2))
    assert set(PhoneCall.objects.values_list("ticket", flat=True)) == {the_ticket().pk}


def test_a_repeated_missed_call_opens_a_new_ticket_when_reuse_is_off(account, desk, settings):
    settings.TRUBKA_MISSED_CALL_REUSE_OPEN_TICKET = False
    deliver(account, uis.lost(), uis.lost(call_session_id=2))
    assert (Ticket.objects.count(), TicketComment.objects.count()) == (2, 0)


@pytest.mark.parametrize("done", [Status.COMPLETED, Status.CLOSED])
def test_a_missed_call_after_the_ticket_was_done_opens_a_new_ticket(account, desk, done):
    deliver(account, uis.lost())
    do_change_ticket_status(the_ticket(), done)
    deliver(account, uis.lost(call_session_id=2))
    assert Ticket.objects.filter(status=Status.OPENED).count() == 1
    assert Ticket.objects.count() == 2


def test_a_missed_call_of_another_client_opens_its_own_ticket(account, desk):
    deliver(account, uis.lost(), uis.lost(call_session_id=2, contact_phone_number=UNKNOWN))
    assert Ticket.objects.count() == 2


def test_asking_twice_for_the_ticket_of_one_missed_call_gives_the_same_ticket(account, desk):
    deliver(account, uis.lost())
    event = CallEvent.objects.get()
    report = report_of(event)
    again = LocalDesk().open_missed_call_ticket(report)
    assert (again.ticket_id, again.created, Ticket.objects.count()) == (
        the_ticket().pk,
        False,
        1,
    )


# --- Out of order and repeated ---------------------------------------------------------


def recent(seconds_ago: int = 60) -> str:
    """A UIS start time shortly before now, in the account's (Moscow) zone."""
    moment = timezone.localtime(timezone.now() - timedelta(seconds=seconds_ago))
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def test_a_recording_before_the_ring_still_makes_one_coherent_call(account, desk, agent, caller):
    deliver(account, uis.history(start_time=recent()), uis.wait())
    call = the_call()
    assert (call.employee, call.contact, call.talk_duration, call.is_missed) == (
        agent,
        caller,
        uis.DURATION,
        False,
    )
    assert call.answered_at is not None
    assert CallRecording.objects.get().call == call


def test_a_ring_that_arrives_after_the_recording_keeps_the_recorded_start_time(account, desk):
    start = recent()
    deliver(account, uis.history(start_time=start), uis.wait())
    expected = datetime.strptime(start, "%Y-%m-%d %H:%M:%S.%f").replace(
        tzinfo=timezone.get_default_timezone()
    )
    assert the_call().started_at == expected


def test_a_ring_that_arrives_after_the_recording_pops_nothing_up(account, desk):
    deliver(account, uis.history(start_time=recent()), uis.wait())
    assert CallPopup.objects.count() == 0


def test_a_lost_call_before_the_ring_makes_one_missed_call(account, desk):
    deliver(account, uis.lost(start_time=recent()), uis.wait())
    call = the_call()
    assert (PhoneCall.objects.count(), call.is_missed) == (1, True)


def test_a_lost_call_before_the_ring_opens_one_ticket(account, desk):
    deliver(account, uis.lost(start_time=recent()), uis.wait())
    assert (Ticket.objects.count(), the_call().ticket) == (1, the_ticket())


def test_a_ring_that_arrives_after_the_lost_call_pops_nothing_up(account, desk):
    deliver(account, uis.lost(start_time=recent()), uis.wait())
    assert CallPopup.objects.count() == 0


def test_processing_a_processed_event_again_changes_nothing(account, desk):
    deliver(account, uis.wait(), uis.lost())
    event = CallEvent.objects.get(action="lost")
    before = (
        PhoneCall.objects.count(),
        Ticket.objects.count(),
        TicketComment.objects.count(),
        CallPopup.objects.count(),
    )
    status = run_event(event.pk)
    after = (
        PhoneCall.objects.count(),
        Ticket.objects.count(),
        TicketComment.objects.count(),
        CallPopup.objects.count(),
    )
    refreshed = CallEvent.objects.get(pk=event.pk)
    assert (status, after, refreshed.attempts) == (EventStatus.PROCESSED, before, 1)


def test_a_repeated_ring_is_processed_once(account, desk):
    deliver(account, uis.wait(), uis.wait())
    assert (CallEvent.objects.get().repeats, CallPopup.objects.count()) == (1, 1)


def test_ignored_and_rejected_events_are_never_processed(account, desk):
    uis.send(account, uis.wait().replace('"action": "wait"', '"action": "other"'))
    uis.send(account, b"{broken")
    assert (drain(), PhoneCall.objects.count()) == (0, 0)


# --- Failures, retries and the queue ---------------------------------------------------


class FailingDesk:
    """A gateway whose every method raises ``error``."""

    in_process = False

    def __init__(self, error: Exception) -> None:
        self.error = error

    def _fail(self, *args: object) -> None:
        raise self.error

    ensure_client = record_call = show_popup = open_missed_call_ticket = _fail


@pytest.fixture
def failing_desk(monkeypatch):
    def install(error: Exception) -> None:
        monkeypatch.setattr(handling, "gateway_for", lambda integration: FailingDesk(error))

    return install


def queued(account: Integration, body: str | None = None) -> CallEvent:
    assert uis.send(account, body or uis.wait()).status_code == 200
    return CallEvent.objects.get()


def due_now(event: CallEvent) -> None:
    """Let the event's next attempt come (instead of waiting for the backoff)."""
    CallEvent.objects.filter(pk=event.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_temporary_failure_leaves_the_event_pending_after_one_attempt(
    account, desk, failing_desk
):
    failing_desk(TemporaryDeliveryError("the desk answered 503"))
    event = queued(account)
    drain()
    event.refresh_from_db()
    assert (event.status, event.attempts, event.claimed_until) == (EventStatus.PENDING, 1, None)


def test_a_temporary_failure_records_the_error(account, desk, failing_desk):
    failing_desk(TemporaryDeliveryError("the desk answered 503"))
    event = queued(account)
    drain()
    event.refresh_from_db()
    assert "the desk answered 503" in event.last_error


def test_a_temporary_failure_schedules_the_next_attempt_later(account, desk, failing_desk):
    failing_desk(TemporaryDeliveryError("the desk answered 503"))
    event = queued(account)
    drain()
    event.refresh_from_db()
    assert event.next_attempt_at > timezone.now()


def test_a_failed_event_is_not_claimed_again_before_its_next_attempt(account, desk, failing_desk):
    failing_desk(TemporaryDeliveryError("the desk answered 503"))
    queued(account)
    drain()
    assert claim_batch() == []


def test_a_failed_event_is_claimed_again_once_its_next_attempt_has_come(
    account, desk, failing_desk
):
    failing_desk(TemporaryDeliveryError("the desk answered 503"))
    event = queued(account)
    drain()
    due_now(event)
    assert claim_batch() == [event.pk]


def test_the_backoff_grows_with_each_attempt_up_to_an_hour():
    assert timedelta(seconds=4) <= backoff(1) <= timedelta(seconds=6)
    assert timedelta(seconds=8) <= backoff(2) <= timedelta(seconds=12)
    assert backoff(100) <= timedelta(seconds=3600 * 1.2)


def test_an_event_fails_after_the_maximum_number_of_attempts(account, desk, failing_desk, settings):
    settings.TRUBKA_EVENT_MAX_ATTEMPTS = 3
    failing_desk(TemporaryDeliveryError("the desk answered 503"))
    event = queued(account)
    for _ in range(3):
        due_now(event)
        drain()
    event.refresh_from_db()
    assert (event.status, event.attempts, event.next_attempt_at) == (EventStatus.FAILED, 3, None)
    assert event.failed_at is not None


def test_an_event_is_still_pending_one_attempt_before_the_maximum(
    account, desk, failing_desk, settings
):
    settings.TRUBKA_EVENT_MAX_ATTEMPTS = 3
    failing_desk(TemporaryDeliveryError("the desk answered 503"))
    event = queued(account)
    for _ in range(2):
        due_now(event)
        drain()
    event.refresh_from_db()
    assert (event.status, event.attempts) == (EventStatus.PENDING, 2)


def test_a_permanent_failure_fails_the_event_at_once_with_the_reason(account, desk, failing_desk):
    failing_desk(PermanentDeliveryError("the desk refuses this client"))
    event = queued(account)
    drain()
    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == (
        EventStatus.FAILED,
        1,
        "the desk refuses this client",
    )


def test_a_database_error_is_temporary(account, desk, failing_desk):
    failing_desk(DatabaseError("database is locked"))
    event = queued(account)
    drain()
    event.refresh_from_db()
    assert (event.status, event.attempts) == (EventStatus.PENDING, 1)
    assert "database is locked" in event.last_error


def test_a_failed_attempt_leaves_no_half_done_changes(account, desk, monkeypatch):
    def popup_fails(self, report):
        raise TemporaryDeliveryError("the desk went away mid-call")

    # The call is recorded first, then the popup fails: the attempt must leave no call behind.
    monkeypatch.setattr(LocalDesk, "show_popup", popup_fails)
    queued(account)
    drain()
    assert PhoneCall.objects.count() == 0


def test_an_okdesk_account_without_its_api_key_fails_permanently_with_a_clear_message(db, desk):
    account = Integration.objects.create(
        account_id=uis.APP_ID,
        target=Target.OKDESK,
        okdesk_account="romashka",
        enabled_at=timezone.now(),
    )
    event = queued(account)
    drain()
    event.refresh_from_db()
    assert (event.status, event.attempts) == (EventStatus.FAILED, 1)
    assert "Okdesk" in event.last_error
    assert "API key" in event.last_error


def test_an_okdesk_account_that_cannot_be_reached_is_retried_later(db, desk):
    from providers.uis.fake_uis import closed_port_url

    account = Integration.objects.create(
        account_id=uis.APP_ID,
        target=Target.OKDESK,
        okdesk_account=closed_port_url().removesuffix("/v2.0"),
        okdesk_api_key="okdesk-secret",
        enabled_at=timezone.now(),
    )
    event = queued(account)
    drain()
    event.refresh_from_db()
    assert (event.status, event.attempts) == (EventStatus.PENDING, 1)
    assert "okdesk-secret" not in event.last_error


def test_retrying_a_failed_event_puts_it_back_with_a_fresh_budget(account, desk, failing_desk):
    failing_desk(PermanentDeliveryError("the desk refuses this client"))
    event = queued(account)
    drain()
    before = timezone.now()
    retry_event(CallEvent.objects.get(pk=event.pk))
    event.refresh_from_db()
    assert (event.status, event.attempts, event.failed_at) == (EventStatus.PENDING, 0, None)
    # Due at once, and counted as waiting from the retry, not from its first arrival.
    assert before <= event.next_attempt_at <= timezone.now()


def test_a_retried_event_is_processed_once_the_desk_takes_it(
    account, desk, failing_desk, monkeypatch
):
    failing_desk(PermanentDeliveryError("the desk refuses this client"))
    event = queued(account)
    drain()
    monkeypatch.undo()
    retry_event(CallEvent.objects.get(pk=event.pk))
    drain()
    event.refresh_from_db()
    assert (event.status, event.last_error, PhoneCall.objects.count()) == (
        EventStatus.PROCESSED,
        "",
        1,
    )


def test_retrying_an_event_that_did_not_fail_changes_nothing(account, desk):
    event = queued(account)
    drain()
    retry_event(CallEvent.objects.get(pk=event.pk))
    event.refresh_from_db()
    assert (event.status, event.attempts) == (EventStatus.PROCESSED, 1)


def test_an_event_whose_claim_expired_is_claimed_again(account, desk):
    event = queued(account)
    assert claim_batch() == [event.pk]
    # The worker that claimed it was killed: its lease runs out.
    CallEvent.objects.filter(pk=event.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert claim_batch() == [event.pk]


def test_an_event_under_a_live_claim_is_not_claimed_again(account, desk):
    queued(account)
    claim_batch()
    assert claim_batch() == []


def test_claimed_events_come_oldest_first(account, desk):
    uis.send(account, uis.wait(call_session_id=1))
    uis.send(account, uis.wait(call_session_id=2))
    first, second = CallEvent.objects.order_by("id")
    CallEvent.objects.filter(pk=second.pk).update(
        received_at=first.received_at - timedelta(seconds=5)
    )
    assert claim_batch() == [second.pk, first.pk]


# --- The worker -------------------------------------------------------------------------


def wait_for(condition, timeout: float = 20.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass.

    The test database is SQLite in shared-cache memory, where a reader can briefly find a
    table locked by the worker's write: that counts as «not yet».
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OperationalError:
            pass
        time.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_running_worker_processes_an_event_posted_after_it_started(agent, caller):
    account = Integration.objects.create(account_id=uis.APP_ID, enabled_at=timezone.now())
    # A long idle poll: the event must be picked up because the webhook wakes the worker.
    worker = Worker(idle_seconds=30)
    thread = worker.start_thread()
    try:
        assert uis.send(account, uis.wait()).status_code == 200
        processed = wait_for(
            lambda: CallEvent.objects.filter(status=EventStatus.PROCESSED).exists()
        )
    finally:
        worker.stop()
        thread.join(timeout=20)
    assert processed
    assert not thread.is_alive()
    assert PhoneCall.objects.get().employee == agent


@pytest.mark.django_db(transaction=True)
def test_a_stopped_worker_ends_its_thread():
    worker = Worker(idle_seconds=30)
    thread = worker.start_thread()
    worker.stop()
    thread.join(timeout=20)
    assert (thread.is_alive(), worker.stopping) == (False, True)


def test_a_worker_started_in_a_thread_is_a_daemon(monkeypatch):
    started = threading.Event()
    monkeypatch.setattr(Worker, "run", lambda self: started.set())
    thread = Worker().start_thread()
    thread.join(timeout=10)
    assert (started.is_set(), thread.daemon) == (True, True)
