"""One contract, two adapters: the same call events give the same observable desk state
whether the connector writes into this desk (LocalDesk) or drives a help desk over the Okdesk
API (OkdeskCloud, pointed here at Trubka's own /api/v1 served live).

Known differences, on purpose: Okdesk keeps only finished calls, so OkdeskCloud does not
record a call that is only ringing; and it cannot tell an ambiguous number from an unknown
one through the API, so ambiguity is checked for LocalDesk alone (test_call_processing).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from trubka.calls.models import CallPopup, PhoneCall
from trubka.clients.lookup import find_caller
from trubka.clients.models import Contact
from trubka.connector.gateways.base import CallReport, Gateway
from trubka.connector.gateways.local import LocalDesk
from trubka.connector.gateways.okdesk import OkdeskCloud
from trubka.okdesk_api.models import ApiKey
from trubka.tickets.models import Source, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

UNKNOWN = "+7 903 555-66-77"


@pytest.fixture(params=["local", "okdesk"])
def gateway(request, admin) -> Gateway:
    if request.param == "local":
        return LocalDesk()
    live_server = request.getfixturevalue("live_server")
    _key, token = ApiKey.issue(admin)
    return OkdeskCloud(live_server.url, token, zone="Europe/Moscow")


def report(**fields) -> CallReport:
    values = {
        "provider": "uis:1",
        "call_id": "contract-1",
        "direction": "in",
        "client_phone": "79161234567",
        "extension": "101",
        "started_at": timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5),
    }
    values.update(fields)
    return CallReport(**values)


def the_call(call_id: str = "contract-1") -> PhoneCall:
    return PhoneCall.objects.get(provider_call_id=call_id)


def test_a_known_number_in_another_format_finds_the_client(gateway, caller):
    found = gateway.ensure_client("+7 916 123-45-67")
    assert found.contact_id == caller.pk
    assert not found.created


def test_an_unknown_number_gets_a_new_client_card(gateway):
    made = gateway.ensure_client("79035556677")
    assert made.created
    contact = Contact.objects.get(pk=made.contact_id)
    assert contact.name == "Новый клиент +7 903 555-66-77"
    assert find_caller(UNKNOWN).contact == contact


def test_asking_twice_for_an_unknown_number_makes_one_card(gateway):
    first = gateway.ensure_client("79035556677")
    second = gateway.ensure_client("8 903 555 66 77")
    assert second.contact_id == first.contact_id
    assert not second.created


def test_a_popup_reaches_the_employee_with_that_extension_only(gateway, agent, agent2, caller):
    gateway.show_popup(report())
    popups = CallPopup.objects.all()
    assert [p.employee for p in popups] == [agent]
    assert popups[0].extension == "101"


def test_an_answered_call_is_recorded_with_its_employee_client_and_duration(gateway, agent, caller):
    gateway.record_call(report(answered=True, talk_duration=95))
    call = the_call()
    assert call.employee == agent
    assert call.contact == caller
    assert call.talk_duration == 95
    assert call.direction == "in"
    assert not call.is_missed
    assert abs(call.started_at - report().started_at) < timedelta(minutes=1)


def test_recording_the_same_call_twice_keeps_one_record(gateway, agent, caller):
    gateway.record_call(report(answered=True, talk_duration=95))
    gateway.record_call(report(answered=True, talk_duration=95))
    assert PhoneCall.objects.filter(provider_call_id="contract-1").count() == 1


def test_a_missed_call_opens_a_ticket_for_the_client(gateway, agent, caller):
    gateway.record_call(report(missed=True, missed_by=("Иванов Иван",)))
    ref = gateway.open_missed_call_ticket(report(missed=True, missed_by=("Иванов Иван",)))
    ticket = Ticket.objects.get(pk=ref.ticket_id)
    assert ref.created
    assert ticket.title == "Пропущенный звонок от +7 916 123-45-67"
    assert ticket.contact == caller
    assert "Иванов Иван" in ticket.description
    assert the_call().ticket == ticket


def test_asking_again_for_the_same_missed_call_returns_the_same_ticket(gateway, agent, caller):
    missed = report(missed=True)
    first = gateway.open_missed_call_ticket(missed)
    second = gateway.open_missed_call_ticket(missed)
    assert second.ticket_id == first.ticket_id
    assert Ticket.objects.filter(source__in=[Source.MISSED_CALL, Source.API]).count() == 1
    assert Ticket.objects.get(pk=first.ticket_id).comments.count() == 0


def test_another_missed_call_while_the_ticket_is_open_comments_on_it(gateway, agent, caller):
    first = gateway.open_missed_call_ticket(report(missed=True))
    again = gateway.open_missed_call_ticket(report(call_id="contract-2", missed=True))
    assert again.ticket_id == first.ticket_id
    assert not again.created
    assert Ticket.objects.get(pk=first.ticket_id).comments.count() == 1
