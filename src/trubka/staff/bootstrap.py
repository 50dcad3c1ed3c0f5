"""The first administrator of a new install."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction

from trubka.staff.models import Employee


@transaction.atomic
def ensure_admin() -> tuple[Employee | None, str | None]:
    """Create an administrator when no staff user exists yet.

    Returns the new employee and, when the password was generated rather than taken from
    ``TRUBKA_ADMIN_PASSWORD``, that password so the caller can show it once. Returns
    ``(None, None)`` when a staff user already exists.
    """
    if Employee.objects.filter(is_staff=True).exists():
        return None, None
    password = settings.TRUBKA_ADMIN_PASSWORD
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    admin = Employee.objects.create_superuser(
        username=settings.TRUBKA_ADMIN_USERNAME, password=password, email=""
    )
    return admin, generated
