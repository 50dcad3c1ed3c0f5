"""A first-time caller gets a card made for them, and the «+» fills it in.

The guide: «если он звонит впервые, создается новая» and «Если звонок был с неизвестного
номера, можно заполнить данные в карточке, кликнув на плюс в поле Клиент».
"""

from __future__ import annotations

from playwright.sync_api import expect

from trubka.calls.models import PhoneCall
from trubka.clients.models import Contact

NUMBER = "79035550101"
DISPLAY = "+7 903 555-01-01"


def test_unknown_number_gets_a_card_and_the_plus_fills_it_in(desk, uis):
    # Two earlier calls from the number: the first one made the card.
    for _ in range(2):
        call = uis.call(NUMBER, extension="101")
        uis.ring(call)
        uis.answer(call, duration=40)
    uis.wait_processed()
    made = Contact.objects.get(from_unknown_call_at__isnull=False)
    assert made.name == f"Новый клиент {DISPLAY}"

    page = desk.open("/tickets/")
    uis.ring(uis.call(NUMBER, extension="101"))

    popup = page.locator("#live-calls .popup")
    expect(popup.locator(".popup-phone")).to_have_text(DISPLAY)
    expect(popup.locator(".popup-client")).to_have_text(f"Новый клиент {DISPLAY}")
    plus = popup.locator("a.add-client")
    expect(plus).to_have_text("+")
    expect(plus).to_have_attribute("title", "Заполнить карточку клиента")
    # The card made for the number opens beside the page, with its own «+».
    card = page.frame_locator("#call-panel iframe")
    expect(card.get_by_role("heading", level=1)).to_have_text(f"Новый клиент {DISPLAY}")
    expect(card.locator(".unknown-caller a.add-client")).to_be_visible()
    expect(card.locator("table.calls tbody tr")).to_have_count(3)
    desk.shot("unknown-caller-popup")

    plus.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Кто звонит с номера {DISPLAY}?")
    expect(page.get_by_text("3 звонка с этого номера будут привязаны")).to_be_visible()
    new_contact = page.locator(
        "section.card", has=page.get_by_role("heading", name="Новый контакт")
    )
    new_contact.get_by_label("Фамилия").fill("Кузнецова")
    new_contact.get_by_label("Имя").fill("Ольга")
    new_contact.get_by_label("Должность").fill("Главный бухгалтер")
    desk.shot("fill-in-form")
    new_contact.get_by_role("button", name="Сохранить").click()

    expect(page).to_have_url(desk.url(f"/clients/contacts/{made.pk}/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Кузнецова Ольга")
    expect(page.locator(".messages")).to_contain_text(
        f"Номер {DISPLAY} теперь принадлежит клиенту Кузнецова Ольга"
    )
    expect(page.locator(".unknown-caller")).to_have_count(0)
    expect(page.locator(".props")).to_contain_text("Главный бухгалтер")
    calls = page.locator("table.calls tbody tr")
    expect(calls).to_have_count(3)
    for row in calls.all():
        expect(row).to_contain_text(DISPLAY)
    expect(calls.filter(has_text="40 с")).to_have_count(2)  # the two answered earlier
    desk.shot("card-filled-in-with-its-calls")

    # The card made for the call became the client: no second contact for the number.
    assert Contact.objects.count() == 1
    assert PhoneCall.objects.filter(contact=made).count() == 3
    desk.assert_clean()
