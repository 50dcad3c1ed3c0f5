"""Finding the client behind a phone number.

The rule, in order (documented in README «Phone numbers»):

1. Candidates are the stored numbers with the same match key (the last N digits).
2. If some candidates equal the caller's full E.164 number, only those count; a number that
   shares the last N digits but has another country code is then set aside.
3. Contacts are preferred to companies: a person is the more specific answer.
4. Exactly one contact → that contact (and its company). Several contacts → ambiguous: no
   contact is chosen; if they all belong to one company, that company is still the answer.
5. No contact, exactly one company → that company. Several companies → ambiguous.

Inactive clients are only considered when no active one matches. An ambiguous result never
names a single client: the caller sees the candidates and a person decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trubka.clients.models import Company, Contact, PhoneNumber
from trubka.core.phones import NormalizedPhone, normalize_phone


@dataclass
class CallerMatch:
    phone: NormalizedPhone
    contact: Contact | None = None
    company: Company | None = None
    contacts: list[Contact] = field(default_factory=list)
    companies: list[Company] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.contact is not None or self.company is not None

    @property
    def ambiguous(self) -> bool:
        return self.contact is None and (len(self.contacts) > 1 or len(self.companies) > 1)


def _unique(items: list[PhoneNumber], attr: str) -> list:
    seen: dict[int, object] = {}
    for item in items:
        owner = getattr(item, attr)
        if owner is not None and owner.pk not in seen:
            seen[owner.pk] = owner
    return list(seen.values())


def find_caller(raw: str) -> CallerMatch:
    """Who is calling from ``raw`` (any format). Two queries at most, both index probes."""
    phone = normalize_phone(raw)
    result = CallerMatch(phone=phone)
    if not phone.match_key:
        return result
    numbers = list(
        PhoneNumber.objects.filter(match_key=phone.match_key)
        .select_related("contact__company", "company")
        .order_by("id")
    )
    if phone.e164:
        exact = [n for n in numbers if n.e164 == phone.e164]
        if exact:
            numbers = exact
    active = [
        n
        for n in numbers
        if (n.contact is not None and n.contact.active)
        or (n.company is not None and n.company.active)
    ]
    numbers = active or numbers

    contacts: list[Contact] = _unique(numbers, "contact")
    companies: list[Company] = _unique(numbers, "company")
    result.contacts = contacts
    result.companies = companies
    if len(contacts) == 1:
        result.contact = contacts[0]
        result.company = contacts[0].company
    elif len(contacts) > 1:
        owners = {c.company_id for c in contacts}
        if len(owners) == 1 and None not in owners:
            result.company = contacts[0].company
    elif len(companies) == 1:
        result.company = companies[0]
    return result
