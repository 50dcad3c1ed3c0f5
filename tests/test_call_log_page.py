"""Settings → Telephony integration → Phone call list: the calls and their filters."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.template.defaultfilters import urlencode
from django.urls import reverse

from conftest import logged_in
from trubka.calls.actions import do_log_call
from trubka.calls.models import Direction, PhoneCall

MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.fixture(autouse=True)
def _site_in_moscow(settings):
    settings.TIME_ZONE = "Europe/Moscow"


def log_call(name: str, **fields) -> PhoneCall:
    """A call whose provider id is ``name``, so that the listing can be read back by name."""
    fields.setdefault("started_at", datetime(2025, 3, 10, 12, 0, tzinfo=MOSCOW))
    fields.setdefault("client_number", "+7 903 000 11 22")
    return do_log_call(provider="manual", provider_call_id=name, **fields)


def listed(response) -> set[str]:
    return {call.provider_call_id for call in response.context["page"].object_list}


def get_log(client, **params):
    return client.get(reverse("calls:log"), params)


# --- Listing -----------------------------------------------------------------------------


def test_the_call_log_lists_the_calls(agent_client, caller):
    log_call("first", client_number="8 (916) 123-45-67")
    log_call("second")

    response = get_log(agent_client)

    assert response.status_code == 200
    assert listed(response) == {"first", "second"}
    assert "+7 916 123-45-67" in response.content.decode()


def test_the_call_log_lists_the_newest_call_first(agent_client):
    log_call("older", started_at=datetime(2025, 3, 10, 9, 0, tzinfo=UTC))
    log_call("newer", started_at=datetime(2025, 3, 10, 10, 0, tzinfo=UTC))

    response = get_log(agent_client)

    assert [c.provider_call_id for c in response.context["page"].object_list] == [
        "newer",
        "older",
    ]


def test_the_call_log_shows_times_in_the_site_time_zone(agent_client):
    log_call("late", started_at=datetime(2025, 3, 10, 20, 30, tzinfo=UTC))

    response = get_log(agent_client)

    assert "10.03.2025 23:30" in response.content.decode()


# --- Filters -----------------------------------------------------------------------------


@pytest.fixture
def around_one_day(db):
    """Calls on both sides of the local midnights around 10 March 2025 (UTC+3 in Moscow)."""
    log_call("day-before-late", started_at=datetime(2025, 3, 9, 23, 50, tzinfo=MOSCOW))
    log_call("day-early", started_at=datetime(2025, 3, 10, 0, 10, tzinfo=MOSCOW))
    # 23:30 in Moscow is 20:30 UTC, still 10 March in both zones; 00:30 on the 11th in
    # Moscow is 21:30 UTC on the 10th, which a UTC-day filter would wrongly include.
    log_call("day-late", started_at=datetime(2025, 3, 10, 23, 30, tzinfo=MOSCOW))
    log_call("day-after-early", started_at=datetime(2025, 3, 11, 0, 30, tzinfo=MOSCOW))


def test_a_one_day_range_keeps_exactly_that_local_day(agent_client, around_one_day):
    response = get_log(agent_client, date_from="2025-03-10", date_to="2025-03-10")

    assert listed(response) == {"day-early", "day-late"}


def test_a_call_at_23_30_local_time_is_inside_that_day(agent_client, around_one_day):
    response = get_log(agent_client, date_to="2025-03-10")

    assert "day-late" in listed(response)
    assert "day-after-early" not in listed(response)


def test_a_call_just_after_local_midnight_starts_the_next_day(agent_client, around_one_day):
    response = get_log(agent_client, date_from="2025-03-11")

    assert listed(response) == {"day-after-early"}


def test_a_range_starts_at_local_midnight(agent_client, around_one_day):
    response = get_log(agent_client, date_from="2025-03-10")

    assert listed(response) == {"day-early", "day-late", "day-after-early"}


def test_an_invalid_date_is_pointed_out(agent, around_one_day):
    response = get_log(logged_in(agent, "en"), date_from="10 March")

    assert response.status_code == 200
    assert response.context["form"].errors["date_from"]
    assert "Check the filters:" in response.content.decode()


@pytest.mark.parametrize(
    ("direction", "expected"), [(Direction.INCOMING, {"in"}), (Direction.OUTGOING, {"out"})]
)
def test_the_call_log_filters_by_direction(agent_client, direction, expected):
    log_call("in", direction=Direction.INCOMING)
    log_call("out", direction=Direction.OUTGOING)

    response = get_log(agent_client, direction=direction)

    assert listed(response) == expected


@pytest.mark.parametrize(("missed", "expected"), [("yes", {"missed"}), ("no", {"answered"})])
def test_the_call_log_filters_missed_calls(agent_client, missed, expected):
    log_call("missed", is_missed=True)
    log_call("answered", answered_at=datetime(2025, 3, 10, 9, 1, tzinfo=UTC), talk_duration=30)

    response = get_log(agent_client, missed=missed)

    assert listed(response) == expected


def test_the_call_log_filters_by_employee(agent_client, agent, agent2):
    log_call("agents", employee=agent)
    log_call("agent2s", employee=agent2)
    log_call("nobodys")

    response = get_log(agent_client, employee=agent.pk)

    assert listed(response) == {"agents"}


@pytest.mark.parametrize("typed", ["+7 916 123 45 67", "9161234567", "79161234567"])
def test_the_call_log_finds_a_number_typed_in_another_format(agent_client, typed):
    log_call("wanted", client_number="8 (916) 123-45-67")
    log_call("other", client_number="8 (916) 765-43-21")

    response = get_log(agent_client, phone=typed)

    assert listed(response) == {"wanted"}


def test_the_filters_combine(agent_client, agent):
    log_call("match", employee=agent, is_missed=True, direction=Direction.INCOMING)
    log_call("answered", employee=agent, direction=Direction.INCOMING)
    log_call("outgoing", employee=agent, is_missed=True, direction=Direction.OUTGOING)

    response = get_log(agent_client, employee=agent.pk, missed="yes", direction="in")

    assert listed(response) == {"match"}


# --- The client column -------------------------------------------------------------------


def test_a_call_from_a_known_client_links_to_the_client(agent_client, caller):
    log_call("known", client_number="+7 916 123 45 67")

    response = get_log(agent_client)

    assert f'href="{reverse("clients:contact", args=[caller.pk])}"' in response.content.decode()


def add_client_link(response) -> str | None:
    match = re.search(
        r'<a class="add-client" href="([^"]*)"[^>]*>\+</a>', response.content.decode()
    )
    return html.unescape(match.group(1)) if match else None


def test_a_call_with_no_client_offers_the_plus_link_to_fill_in_the_client(agent_client, db):
    call = log_call("unknown", client_number="+7 903 000-11-22")
    assert call.contact is None
    assert call.company is None

    link = add_client_link(get_log(agent_client))

    assert link == f"{reverse('clients:fill_in')}?phone={urlencode(call.client_number)}"


def test_the_plus_link_opens_the_fill_in_page_for_that_number(agent_client, db):
    log_call("unknown", client_number="+7 903 000-11-22")
    link = add_client_link(get_log(agent_client))
    assert link is not None

    page = agent_client.get(link)

    assert page.status_code == 200
    assert page.context["phone"].e164 == "+79030001122"


def test_a_call_from_a_known_client_has_no_plus_link(agent_client, caller):
    log_call("known", client_number="+7 916 123 45 67")

    assert add_client_link(get_log(agent_client)) is None


# --- Pagination --------------------------------------------------------------------------


@pytest.fixture
def many_calls(db):
    start = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
    PhoneCall.objects.bulk_create(
        [
            PhoneCall(
                provider="manual",
                provider_call_id=f"in-{n}",
                direction=Direction.INCOMING,
                client_number="+7 903 000 11 22",
                started_at=start + timedelta(minutes=n),
            )
            for n in range(55)
        ]
        + [
            PhoneCall(
                provider="manual",
                provider_call_id=f"out-{n}",
                direction=Direction.OUTGOING,
                client_number="+7 903 000 11 22",
                started_at=start + timedelta(minutes=n),
            )
            for n in range(5)
        ]
    )


def next_page_link(response) -> str:
    links = re.findall(r'<nav class="pagination">.*?</nav>', response.content.decode(), re.S)
    assert links, "no pagination on the page"
    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]*)"', links[0])]
    return hrefs[-1]


def test_the_next_page_link_keeps_the_filters(agent_client, many_calls):
    response = get_log(agent_client, direction="in", missed="no")

    query = parse_qs(urlsplit(next_page_link(response)).query)

    assert query == {"direction": ["in"], "missed": ["no"], "page": ["2"]}


def test_the_second_page_shows_the_rest_of_the_filtered_calls(agent_client, many_calls):
    first = get_log(agent_client, direction="in")

    second = agent_client.get(reverse("calls:log") + next_page_link(first))

    assert first.context["page"].paginator.count == 55
    assert len(second.context["page"].object_list) == 5
    assert all(c.direction == Direction.INCOMING for c in second.context["page"].object_list)
    assert listed(first).isdisjoint(listed(second))
