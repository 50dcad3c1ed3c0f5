"""Phone number normalisation and the match key callers are found by.

Numbers are stored twice: as typed (for display) and normalised. The normalised form is
E.164 when the number is a possible public number, and the *match key* is its last N digits
(``TRUBKA_PHONE_MATCH_DIGITS``, default 10), the way Okdesk's ``search_numbers_count``
matches. ``8 (916) 123-45-67``, ``+7 916 123 45 67``, ``79161234567`` and ``9161234567``
share one match key. Short internal numbers such as extensions have no E.164 form; their
match key is their digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from django.conf import settings

# ASCII digits only: \d would also keep other scripts' digits, which never match.
_NON_DIGITS = re.compile(r"[^0-9]+")


@dataclass(frozen=True)
class NormalizedPhone:
    raw: str
    e164: str | None
    digits: str
    match_key: str
    extension: str | None = None

    @property
    def display(self) -> str:
        """A human format: ``+7 916 123-45-67`` for public numbers, else the digits."""
        if self.e164 is None:
            return self.digits or self.raw
        return format_e164(self.e164)


def format_e164(e164: str) -> str:
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def match_key_of(digits: str, length: int | None = None) -> str:
    n = length or settings.TRUBKA_PHONE_MATCH_DIGITS
    return digits[-n:]


def normalize_phone(raw: str, region: str | None = None) -> NormalizedPhone:
    """Normalise a number in any common format; never raises.

    A value with no digits yields an empty match key, which matches nothing.
    """
    text = (raw or "").strip()
    region = region or settings.TRUBKA_PHONE_REGION
    candidate = text
    bare = _NON_DIGITS.sub("", text)
    # "00" is the international prefix in most of the world, but phonenumbers reads it as
    # national digits in regions (like RU) whose own prefix is different.
    if text.lstrip().startswith("00") and len(bare) > 4:
        candidate = "+" + bare[2:]
    e164: str | None = None
    extension: str | None = None
    if len(bare) >= 5:
        try:
            parsed = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is not None and phonenumbers.is_possible_number(parsed):
            e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            extension = parsed.extension or None
    digits = e164[1:] if e164 else bare
    return NormalizedPhone(
        raw=text, e164=e164, digits=digits, match_key=match_key_of(digits), extension=extension
    )
