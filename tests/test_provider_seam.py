"""A telephony provider is a folder plus one registry line.

The test-only dummy PBX (``tests/providers/dummy/``: its reading of bodies, its call reports,
its webhook view and route) is registered here with one line in ``PROVIDERS``, and its calls
ring, are answered and are missed through the same intake, queue and handling as UIS's.
"""

from __future__ import annotations

import importlib
import json

import pytest
from django.test import Client
from django.urls import clear_url_caches
from django.utils import timezone

from trubka.calls.models import CallPopup, PhoneCall
from trubka.clients.models import Contact
from trubka.connector import providers
from trubka.connector.models import CallEvent, EventKind, EventStatus, Integration
from trubka.connector.queue.worker import drain
from trubka.tickets.models import Source, Ticket

CALLER = "+79161112233"


def _reload_urls() -> None:
    import trubka.connector.urls
    import trubka.urls

    importlib.reload(trubka.connector.urls)
    importlib.reload(trubka.urls)
    clear_url_caches()


@pytest.fixture
def dummy(db, monkeypatch):
    """An enabled account of the dummy PBX, with the provider registered (one line)."""
    monkeypatch.setitem(providers.PROVIDERS, "dummy", "providers.dummy")
    _reload_urls()
    yield Integration.objects.create(
        provider="dummy", account_id="acme-1", enabled_at=timezone.now()
    )
    monkeypatch.delitem(providers.PROVIDERS, "dummy")
    _reload_urls()


def send(integration: Integration, **body: object):
    return Client().post(
        f"/dummy-pbx/{integration.webhook_token}/",
        json.dumps(body),
        content_type="application/json",
    )


def test_a_ring_of_the_dummy_pbx_pops_the_call_up_for_its_extension(dummy, agent):
    assert send(dummy, event="ring", call="c1", to="101", **{"from": CALLER}).status_code == 200

    assert drain() == 1
    call = PhoneCall.objects.get()
    assert call.provider == "dummy:acme-1"
    assert call.employee == agent
    assert CallPopup.objects.filter(employee=agent, call=call).exists()
    # A first-time caller gets a new card, as with UIS.
    assert call.contact == Contact.objects.get()


def test_the_dummy_pbx_reports_an_answered_call_with_its_talk_time(dummy, agent):
    send(dummy, event="ring", call="c1", to="101", **{"from": CALLER})
    send(dummy, event="answer", call="c1", to="101", talk=42, **{"from": CALLER})

    assert drain() == 2
    call = PhoneCall.objects.get()
    assert (call.talk_duration, call.is_missed) == (42, False)
    assert call.answered_at is not None


def test_a_missed_call_of_the_dummy_pbx_becomes_a_ticket(dummy, agent):
    send(dummy, event="ring", call="c2", to="101", **{"from": CALLER})
    send(dummy, event="miss", call="c2", **{"from": CALLER})

    drain()

    call = PhoneCall.objects.get()
    assert call.is_missed
    ticket = Ticket.objects.get()
    assert (ticket.source, call.ticket) == (Source.MISSED_CALL, ticket)


def test_the_dummy_pbx_gets_the_shared_de_duplication_and_ignoring(dummy):
    first = send(dummy, event="ring", call="c3", to="101", **{"from": CALLER})
    again = send(dummy, event="ring", call="c3", to="101", **{"from": CALLER})
    other = send(dummy, event="transfer", call="c3", **{"from": CALLER})
    bad = Client().post(f"/dummy-pbx/{dummy.webhook_token}/", "{", content_type="text/plain")

    assert (first.json()["status"], again.json()) == ("pending", {"status": "duplicate"})
    assert other.json()["status"] == EventStatus.IGNORED
    assert bad.status_code == 400
    kinds = dict(CallEvent.objects.values_list("action", "kind"))
    assert kinds == {"ring": EventKind.RING, "transfer": "", "": ""}
