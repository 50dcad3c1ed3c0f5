"""``trubka demo-data`` and the generated recordings it stores."""

from __future__ import annotations

import io
import sys
import wave
from array import array

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from conftest import logged_in
from trubka.calls.audio import make_tone_wav
from trubka.calls.models import CallRecording, PhoneCall
from trubka.clients.lookup import find_caller
from trubka.clients.models import Company, Contact, PhoneNumber
from trubka.staff.models import Employee
from trubka.tickets.models import Source, Status, Ticket, TicketComment

DEMO_PASSWORD = "x-long-password-123"
MODELS = (Employee, Company, Contact, PhoneNumber, Ticket, TicketComment, PhoneCall, CallRecording)


def run_demo_data(*args: str) -> str:
    out = io.StringIO()
    call_command("demo_data", "--password", DEMO_PASSWORD, *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def wav_frames(data: bytes) -> tuple[int, int, int, int]:
    with wave.open(io.BytesIO(data), "rb") as audio:
        return (
            audio.getnchannels(),
            audio.getsampwidth(),
            audio.getframerate(),
            audio.getnframes(),
        )


@pytest.fixture
def demo(db) -> str:
    return run_demo_data()


def test_demo_data_creates_employees_with_extensions_who_can_log_in(demo):
    employees = Employee.objects.exclude(extension=None).order_by("extension")
    assert [e.extension for e in employees] == ["101", "102", "103", "104", "105"]
    assert all(e.last_name and e.first_name and e.position for e in employees)
    assert employees[0].username == "ivanov"
    assert all(e.check_password(DEMO_PASSWORD) for e in employees)
    assert not any(e.is_staff for e in employees)  # `trubka serve` still creates the admin
    assert DEMO_PASSWORD not in demo  # a password given on the command line is not echoed


def test_demo_contacts_are_found_by_their_number_typed_in_another_format(demo):
    phones = PhoneNumber.objects.filter(contact__isnull=False).select_related("contact")
    assert Contact.objects.count() >= 20
    assert Contact.objects.filter(company__isnull=False).count() > Contact.objects.count() / 2
    assert any(p.contact.phones.count() == 2 for p in phones)
    raw_formats = {p.raw[:2] for p in phones}
    assert len(raw_formats) >= 3  # "8 (", "+7", "79", "91"…: typed every which way
    for phone in phones:
        national = phone.e164[2:]
        for other_format in (f"8 ({national[:3]}) {national[3:]}", f"+7{national}"):
            match = find_caller(other_format)
            assert match.contact == phone.contact, (phone.raw, other_format)
            assert match.company == phone.contact.company


def test_demo_tickets_have_several_statuses_and_missed_call_tickets(demo):
    tickets = Ticket.objects.all()
    assert tickets.count() >= 25
    assert set(tickets.values_list("status", flat=True)) == set(Status.values)
    assert set(tickets.values_list("source", flat=True)) >= {
        Source.MANUAL,
        Source.PHONE,
        Source.MISSED_CALL,
    }
    assert tickets.filter(old_status=Status.COMPLETED, status=Status.OPENED).exists()  # reopened
    assert TicketComment.objects.filter(public=True).exists()
    assert TicketComment.objects.filter(public=False).exists()
    for ticket in tickets.filter(source=Source.MISSED_CALL):
        call = ticket.phone_calls.get(is_missed=True)
        assert ticket.title == f"Пропущенный звонок от {call.client_display}"
        assert call.missed_by
    closed = tickets.filter(status=Status.CLOSED)
    assert all(t.created_at <= t.completed_at <= t.closed_at for t in closed)


def test_demo_calls_span_the_month_and_include_unknown_callers(demo):
    calls = PhoneCall.objects.all()
    assert calls.count() >= 50
    assert set(calls.values_list("provider", flat=True)) == {"demo"}
    assert set(calls.values_list("direction", flat=True)) == {"in", "out"}
    assert calls.filter(is_missed=True, ticket__source=Source.MISSED_CALL).exists()
    assert calls.filter(contact=None, company=None).count() >= 2
    first, last = calls.order_by("started_at").first(), calls.order_by("started_at").last()
    assert first is not None
    assert last is not None
    assert (last.started_at - first.started_at).days >= 14
    for call in calls.filter(answered_at__isnull=False):
        assert call.employee is not None
        assert call.talk_duration
        assert call.started_at <= call.answered_at <= call.finished_at


def test_answered_demo_calls_have_a_recording_that_plays_as_wav(demo):
    recordings = CallRecording.objects.select_related("call")
    assert recordings.count() == PhoneCall.objects.filter(answered_at__isnull=False).count()
    recording = recordings.first()
    assert recording is not None
    assert recording.archived_at is not None
    with recording.file.open("rb") as handle:
        channels, width, rate, frames = wav_frames(handle.read())
    assert (channels, width, rate) == (1, 2, 8000)
    assert frames > 0
    assert abs(frames / rate - recording.duration) <= 0.5
    employee = Employee.objects.get(username="ivanov")
    response = logged_in(employee).get(reverse("calls:recording", args=[recording.uuid]))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"


def test_running_demo_data_twice_without_reset_fails_clearly(demo):
    before = counts()
    with pytest.raises(CommandError, match=r"already here.*--reset"):
        run_demo_data()
    assert counts() == before


def test_demo_data_with_reset_makes_the_same_desk_again(demo):
    before = counts()
    out = run_demo_data("--reset")
    assert "re-created" in out
    assert counts() == before
    assert Employee.objects.filter(extension="101").count() == 1


def test_reset_leaves_real_clients_alone(demo):
    real = Company.objects.create(name="ООО «Настоящая»", email="office@real.ru")
    run_demo_data("--reset")
    assert Company.objects.filter(pk=real.pk).exists()


def test_demo_data_refuses_when_a_real_employee_has_a_demo_extension(db):
    Employee.objects.create_user(username="boss", password=DEMO_PASSWORD, extension="103")
    with pytest.raises(CommandError, match="boss"):
        run_demo_data()
    assert not PhoneCall.objects.exists()
    assert not Company.objects.exists()


def test_same_seed_gives_the_same_desk(db):
    run_demo_data("--seed", "7")
    first = list(Ticket.objects.order_by("pk").values_list("title", "status"))
    run_demo_data("--seed", "7", "--reset")
    again = list(Ticket.objects.order_by("pk").values_list("title", "status"))
    assert first == again


def test_without_password_one_is_generated_and_shown_once(db):
    out = io.StringIO()
    call_command("demo_data", stdout=out)
    password = out.getvalue().strip().splitlines()[-1].split()[-1]
    assert out.getvalue().count(password) == 1
    assert Employee.objects.get(username="petrova").check_password(password)


@pytest.mark.parametrize(("seconds", "rate"), [(0.0, 8000), (0.05, 8000), (3.3, 8000), (2, 16000)])
def test_make_tone_wav_returns_a_wav_of_the_requested_duration(seconds, rate):
    channels, width, framerate, frames = wav_frames(make_tone_wav(seconds, sample_rate=rate))
    assert (channels, width, framerate) == (1, 2, rate)
    assert abs(frames - seconds * rate) <= 1


def test_make_tone_wav_makes_sound_with_pauses():
    data = make_tone_wav(1.0)
    samples = array("h")
    with wave.open(io.BytesIO(data), "rb") as audio:
        samples.frombytes(audio.readframes(audio.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    assert max(samples) > 5000  # audible
    assert samples[3200:4000].tolist() == [0] * 800  # 0.40–0.50 s: the pause between beeps
    assert data == make_tone_wav(1.0)  # deterministic


@pytest.mark.parametrize(
    ("seconds", "frequency", "rate"),
    [(-1, 440, 8000), (float("nan"), 440, 8000), (1, 0, 8000), (1, 3000, 8000), (1, 440, 0)],
)
def test_make_tone_wav_rejects_impossible_arguments(seconds, frequency, rate):
    with pytest.raises(ValueError, match="must"):
        make_tone_wav(seconds, frequency, rate)
