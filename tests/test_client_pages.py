"""Client pages: creating a contact with its numbers, finding clients, the client cards."""

from __future__ import annotations

import io
import wave
from datetime import UTC, datetime

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from trubka.calls.actions import do_log_call
from trubka.calls.models import CallRecording, PhoneCall
from trubka.clients.models import Contact, PhoneNumber
from trubka.tickets.actions import do_create_ticket

NEW_NUMBER = "8 (916) 765-43-21"


def contact_form_data(
    phones: list[tuple[str, str]] = (("mobile", NEW_NUMBER),), **fields: str
) -> dict[str, str]:
    """What the new contact form posts: the contact's fields and the ``phones`` formset."""
    data = {
        "last_name": "Кузнецова",
        "first_name": "Ольга",
        "patronymic": "",
        "company": "",
        "position": "",
        "email": "",
        "comment": "",
        "active": "on",
        "phones-TOTAL_FORMS": str(len(phones)),
        "phones-INITIAL_FORMS": "0",
        "phones-MIN_NUM_FORMS": "0",
        "phones-MAX_NUM_FORMS": "1000",
    }
    for index, (kind, raw) in enumerate(phones):
        data[f"phones-{index}-kind"] = kind
        data[f"phones-{index}-raw"] = raw
    return {**data, **fields}


def wav_bytes(frames: int = 800) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(2 * frames))
    return buffer.getvalue()


def listed(response) -> list:
    return list(response.context["page"].object_list)


@pytest.fixture
def created_contact(agent_client, company) -> Contact:
    response = agent_client.post(
        reverse("clients:contact_create"), contact_form_data(company=str(company.pk))
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    return Contact.objects.get(last_name="Кузнецова")


@pytest.fixture
def call_with_recording(caller) -> PhoneCall:
    call = do_log_call(
        provider="manual",
        provider_call_id="client-1",
        started_at=datetime(2025, 3, 10, 9, 0, tzinfo=UTC),
        client_number="+7 916 123 45 67",
    )
    assert call.contact == caller
    recording = CallRecording.objects.create(call=call, content_type="audio/wav")
    recording.file.save("call.wav", ContentFile(wav_bytes()))
    return call


# --- Creating a contact ------------------------------------------------------------------


def test_creating_a_contact_through_the_form_opens_its_card(agent_client, company):
    response = agent_client.post(
        reverse("clients:contact_create"), contact_form_data(company=str(company.pk))
    )

    contact = Contact.objects.get(last_name="Кузнецова")
    assert response.status_code == 302
    assert response["Location"] == reverse("clients:contact", args=[contact.pk])


def test_a_contact_created_through_the_form_keeps_its_number(created_contact):
    phone = created_contact.phones.get()

    assert phone.kind == PhoneNumber.Kind.MOBILE
    assert phone.e164 == "+79167654321"


def test_a_contact_created_through_the_form_belongs_to_the_chosen_company(created_contact, company):
    assert created_contact.company == company


@pytest.mark.parametrize("query", ["+7 916 765 43 21", "9167654321", "79167654321"])
def test_the_client_list_finds_a_contact_by_its_number_in_another_format(
    agent_client, created_contact, caller, query
):
    response = agent_client.get(reverse("clients:list"), {"q": query})

    assert listed(response) == [created_contact]
    assert reverse("clients:contact", args=[created_contact.pk]) in response.content.decode()


def test_the_client_list_finds_a_capitalised_name_by_a_lower_case_cyrillic_query(
    agent_client, caller, created_contact
):
    response = agent_client.get(reverse("clients:list"), {"q": "сидоров"})

    assert listed(response) == [caller]


def test_the_client_list_finds_a_company_by_name_on_the_company_tab(agent_client, company):
    response = agent_client.get(reverse("clients:list"), {"q": "ромашка", "kind": "company"})

    assert response.context["kind"] == "company"
    assert listed(response) == [company]
    assert reverse("clients:company", args=[company.pk]) in response.content.decode()


def test_the_same_number_twice_in_one_form_is_rejected(agent_client):
    response = agent_client.post(
        reverse("clients:contact_create"),
        contact_form_data(phones=[("mobile", NEW_NUMBER), ("work", "+7 916 765 43 21")]),
    )

    assert response.status_code == 200
    formset = response.context["formset"]
    assert formset.forms[1].errors["raw"]
    assert 'class="error"' in response.content.decode()


def test_the_same_number_twice_in_one_form_saves_nothing(agent_client):
    agent_client.post(
        reverse("clients:contact_create"),
        contact_form_data(phones=[("mobile", NEW_NUMBER), ("work", "+7 916 765 43 21")]),
    )

    assert not Contact.objects.filter(last_name="Кузнецова").exists()
    assert not PhoneNumber.objects.filter(e164="+79167654321").exists()


def test_a_contact_with_neither_first_nor_last_name_is_rejected(agent_client):
    response = agent_client.post(
        reverse("clients:contact_create"),
        contact_form_data(first_name="", last_name="", patronymic="Ивановна"),
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not Contact.objects.filter(patronymic="Ивановна").exists()
    assert not PhoneNumber.objects.filter(e164="+79167654321").exists()


def test_the_new_contact_form_is_prefilled_with_the_number_from_the_query(agent_client):
    response = agent_client.get(reverse("clients:contact_create"), {"phone": "8 (903) 555-00-11"})

    assert response.status_code == 200
    first = response.context["formset"].forms[0]
    assert first["raw"].value() == "8 (903) 555-00-11"
    assert first["kind"].value() == PhoneNumber.Kind.MOBILE
    assert 'name="phones-0-raw" value="8 (903) 555-00-11"' in response.content.decode()


# --- The contact card --------------------------------------------------------------------


def test_the_contact_card_shows_its_phones(agent_client, caller):
    response = agent_client.get(reverse("clients:contact", args=[caller.pk]))

    assert response.status_code == 200
    assert "+7 916 123-45-67" in response.content.decode()


def test_the_contact_card_links_to_its_company(agent_client, caller, company):
    response = agent_client.get(reverse("clients:contact", args=[caller.pk]))

    html = response.content.decode()
    assert f'href="{reverse("clients:company", args=[company.pk])}"' in html
    assert "ООО Ромашка" in html


def test_the_contact_card_lists_its_tickets(agent_client, caller):
    ticket = do_create_ticket(title="Не печатает принтер", contact=caller)

    response = agent_client.get(reverse("clients:contact", args=[caller.pk]))

    html = response.content.decode()
    assert f'href="{reverse("tickets:detail", args=[ticket.pk])}"' in html
    assert "Не печатает принтер" in html


def test_the_contact_card_shows_its_call_history(agent_client, caller, call_with_recording):
    response = agent_client.get(reverse("clients:contact", args=[caller.pk]))

    assert list(response.context["calls"]) == [call_with_recording]


def test_the_contact_card_plays_a_stored_recording(agent_client, caller, call_with_recording):
    recording = call_with_recording.recordings.get()

    response = agent_client.get(reverse("clients:contact", args=[caller.pk]))

    html = response.content.decode()
    assert "<audio" in html
    assert f'src="{reverse("calls:recording", args=[recording.uuid])}"' in html


def test_the_contact_card_does_not_show_calls_of_other_clients(agent_client, caller):
    do_log_call(
        provider="manual",
        provider_call_id="client-other",
        started_at=datetime(2025, 3, 10, 9, 0, tzinfo=UTC),
        client_number="+7 903 000 11 22",
    )

    response = agent_client.get(reverse("clients:contact", args=[caller.pk]))

    assert list(response.context["calls"]) == []


# --- The company card --------------------------------------------------------------------


def test_the_company_card_lists_its_contacts(agent_client, company, caller):
    response = agent_client.get(reverse("clients:company", args=[company.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{reverse("clients:contact", args=[caller.pk])}"' in html
    assert "Сидоров Пётр" in html


def test_the_company_card_shows_the_calls_of_its_contacts(
    agent_client, company, call_with_recording
):
    # A call tied to the contact only still belongs to the contact's company.
    PhoneCall.objects.filter(pk=call_with_recording.pk).update(company=None)
    recording = call_with_recording.recordings.get()

    response = agent_client.get(reverse("clients:company", args=[company.pk]))

    assert list(response.context["calls"]) == [call_with_recording]
    assert f'src="{reverse("calls:recording", args=[recording.uuid])}"' in (
        response.content.decode()
    )


# --- Editing -----------------------------------------------------------------------------


def edit_data(contact: Contact, phones: list[dict[str, str]], **fields: str) -> dict[str, str]:
    """The edit form of ``contact`` as posted: its fields, then ``phones`` rows in order.

    Each row is a dict with ``kind`` and ``raw``, plus ``id`` and ``DELETE`` for stored rows.
    """
    stored = [row for row in phones if row.get("id")]
    data = {
        "last_name": contact.last_name,
        "first_name": contact.first_name,
        "patronymic": contact.patronymic,
        "company": str(contact.company_id or ""),
        "position": contact.position,
        "email": contact.email,
        "comment": contact.comment,
        "active": "on" if contact.active else "",
        "phones-TOTAL_FORMS": str(len(phones)),
        "phones-INITIAL_FORMS": str(len(stored)),
        "phones-MIN_NUM_FORMS": "0",
        "phones-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(phones):
        for name, value in row.items():
            data[f"phones-{index}-{name}"] = value
        if row.get("id"):
            data[f"phones-{index}-contact"] = str(contact.pk)
    return {**data, **fields}


def stored_row(phone: PhoneNumber, **overrides: str) -> dict[str, str]:
    return {"id": str(phone.pk), "kind": phone.kind, "raw": phone.raw, **overrides}


def test_editing_a_contact_renames_it_and_keeps_its_number(agent_client, caller):
    phone = caller.phones.get()

    response = agent_client.post(
        reverse("clients:contact_edit", args=[caller.pk]),
        edit_data(caller, [stored_row(phone)], last_name="Сидоренко"),
    )

    assert response.status_code == 302
    caller.refresh_from_db()
    assert caller.last_name == "Сидоренко"
    assert list(caller.phones.values_list("e164", flat=True)) == ["+79161234567"]


def test_editing_a_contact_adds_a_second_number(agent_client, caller):
    phone = caller.phones.get()

    agent_client.post(
        reverse("clients:contact_edit", args=[caller.pk]),
        edit_data(caller, [stored_row(phone), {"kind": "work", "raw": NEW_NUMBER}]),
    )

    assert set(caller.phones.values_list("e164", flat=True)) == {"+79161234567", "+79167654321"}


def test_editing_a_contact_removes_a_number_marked_for_removal(agent_client, caller):
    phone = caller.phones.get()

    agent_client.post(
        reverse("clients:contact_edit", args=[caller.pk]),
        edit_data(caller, [stored_row(phone, DELETE="on")]),
    )

    assert not caller.phones.exists()


def test_adding_a_number_the_card_already_has_is_rejected(agent_client, caller):
    phone = caller.phones.get()

    response = agent_client.post(
        reverse("clients:contact_edit", args=[caller.pk]),
        edit_data(caller, [stored_row(phone), {"kind": "work", "raw": "+7 916 123 45 67"}]),
    )

    assert response.status_code == 200
    assert response.context["formset"].forms[1].errors["raw"]
    assert caller.phones.count() == 1


def test_a_renamed_contact_is_found_by_its_new_name(agent_client, caller):
    phone = caller.phones.get()
    agent_client.post(
        reverse("clients:contact_edit", args=[caller.pk]),
        edit_data(caller, [stored_row(phone)], last_name="Сидоренко"),
    )

    response = agent_client.get(reverse("clients:list"), {"q": "сидоренко"})

    assert listed(response) == [caller]


def company_form_data(phones: list[tuple[str, str]] = (), **fields: str) -> dict[str, str]:
    data = {
        "name": "ООО Лютик",
        "additional_name": "",
        "email": "",
        "site": "",
        "address": "",
        "comment": "",
        "active": "on",
        "phones-TOTAL_FORMS": str(len(phones)),
        "phones-INITIAL_FORMS": "0",
        "phones-MIN_NUM_FORMS": "0",
        "phones-MAX_NUM_FORMS": "1000",
    }
    for index, (kind, raw) in enumerate(phones):
        data[f"phones-{index}-kind"] = kind
        data[f"phones-{index}-raw"] = raw
    return {**data, **fields}


def test_a_company_created_through_the_form_is_found_by_its_number(agent_client, db):
    agent_client.post(
        reverse("clients:company_create"), company_form_data([("work", "8 (495) 765-43-21")])
    )

    response = agent_client.get(reverse("clients:list"), {"q": "4957654321", "kind": "company"})

    assert [c.name for c in listed(response)] == ["ООО Лютик"]


def test_a_contact_is_found_by_its_companys_new_name_after_the_company_is_renamed(
    agent_client, caller, company
):
    phone = company.phones.get()
    agent_client.post(
        reverse("clients:company_edit", args=[company.pk]),
        company_form_data(
            name="ООО Лютик",
            **{
                "phones-TOTAL_FORMS": "1",
                "phones-INITIAL_FORMS": "1",
                "phones-0-id": str(phone.pk),
                "phones-0-company": str(company.pk),
                "phones-0-kind": phone.kind,
                "phones-0-raw": phone.raw,
            },
        ),
    )
    company.refresh_from_db()
    assert company.name == "ООО Лютик"

    # Contacts are searchable by their company's name (the contact list shows it).
    response = agent_client.get(reverse("clients:list"), {"q": "лютик"})

    assert listed(response) == [caller]
