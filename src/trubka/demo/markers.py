"""How demo objects are recognised, deleted and kept apart from real ones.

Calls of the provider ``demo``; employees, companies and contacts whose e-mail is in the
reserved ``.example`` domain (employees also need one of the demo usernames); and the tickets
of those clients and calls.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.files.storage import default_storage
from django.core.management.base import CommandError
from django.db.models import Q, QuerySet

from trubka.calls.models import CallRecording, PhoneCall
from trubka.clients.models import Company, Contact
from trubka.demo.seeds import DEMO_EMAIL_SUFFIX, DEMO_PROVIDER, DEMO_USERNAMES, EMPLOYEES
from trubka.staff.models import Employee
from trubka.tickets.models import Ticket


def demo_employees() -> QuerySet[Employee]:
    return Employee.objects.filter(username__in=DEMO_USERNAMES, email__iendswith=DEMO_EMAIL_SUFFIX)


def demo_companies() -> QuerySet[Company]:
    return Company.objects.filter(email__iendswith=DEMO_EMAIL_SUFFIX)


def demo_contacts() -> QuerySet[Contact]:
    return Contact.objects.filter(email__iendswith=DEMO_EMAIL_SUFFIX)


def demo_calls() -> QuerySet[PhoneCall]:
    return PhoneCall.objects.filter(provider=DEMO_PROVIDER)


def delete_files(names: Sequence[str]) -> None:
    for name in names:
        default_storage.delete(name)


def reset_demo_data() -> list[str]:
    """Delete the demo objects; return the stored recording files to remove after commit."""
    contacts = list(demo_contacts().values_list("pk", flat=True))
    companies = list(demo_companies().values_list("pk", flat=True))
    tickets = set(
        Ticket.objects.filter(
            Q(phone_calls__provider=DEMO_PROVIDER)
            | Q(contact__in=contacts)
            | Q(company__in=companies)
        ).values_list("pk", flat=True)
    )
    files = [
        name
        for name in CallRecording.objects.filter(call__provider=DEMO_PROVIDER).values_list(
            "file", flat=True
        )
        if name
    ]
    Ticket.objects.filter(pk__in=tickets).delete()
    demo_calls().delete()
    Contact.objects.filter(pk__in=contacts).delete()
    Company.objects.filter(pk__in=companies).delete()
    demo_employees().delete()
    return files


def demo_data_present() -> list[str]:
    """Which kinds of demo objects the database already holds."""
    checks = {
        "calls": demo_calls(),
        "companies": demo_companies(),
        "contacts": demo_contacts(),
        "employees": demo_employees(),
    }
    return [name for name, queryset in checks.items() if queryset.exists()]


def check_employee_conflicts() -> None:
    """Refuse when real employees hold a demo username or extension."""
    extensions = [row[5] for row in EMPLOYEES]
    clash = (
        Employee.objects.filter(Q(username__in=DEMO_USERNAMES) | Q(extension__in=extensions))
        .exclude(pk__in=demo_employees().values("pk"))
        .order_by("username")
    )
    names = [f"{e.username} (extension {e.extension or '—'})" for e in clash]
    if names:
        raise CommandError(
            "These employees already use a login or an extension the demo employees need "
            f"(logins {', '.join(DEMO_USERNAMES)}; extensions {extensions[0]}–{extensions[-1]}): "
            f"{', '.join(names)}. Demo data is meant for a new, empty desk."
        )
