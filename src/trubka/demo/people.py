"""Demo employees, companies and contacts, with numbers typed the way people type them."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q

from trubka.clients.actions import do_create_company, do_create_contact
from trubka.clients.models import Company, Contact, PhoneNumber
from trubka.core.phones import normalize_phone
from trubka.demo.base import Caller, DeskBase
from trubka.demo.seeds import (
    COMPANIES,
    CONTACT_COMMENTS,
    EMPLOYEES,
    FEMALE_NAMES,
    MALE_NAMES,
    PATRONYMICS,
    POSITIONS,
    PRIVATE_CONTACTS,
    SURNAMES,
)
from trubka.staff.models import Employee

_TRANSLIT = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
        "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
        "я": "ya",
    }
)  # fmt: skip


def translit(text: str) -> str:
    """Latin letters for a Russian word, for logins and e-mail addresses."""
    return text.lower().translate(_TRANSLIT)


def female_surname(surname: str) -> str:
    """Орлов → Орлова, Вишневский → Вишневская."""
    return surname[:-2] + "ая" if surname.endswith("ий") else surname + "а"


def format_number(ten_digits: str, style: int) -> str:
    """A 10-digit Russian number written the way people type it; styles cycle through 6."""
    a, b, c, d = ten_digits[:3], ten_digits[3:6], ten_digits[6:8], ten_digits[8:]
    styles = (
        f"8 ({a}) {b}-{c}-{d}",
        f"+7 {a} {b} {c} {d}",
        f"7{ten_digits}",
        ten_digits,
        f"+7 ({a}) {b}-{c}-{d}",
        f"8{ten_digits}",
    )
    return styles[style % len(styles)]


class PeopleBuilder(DeskBase):
    """Creates the employees and the clients (companies and their contacts, private persons)."""

    def _create_employees(self) -> None:
        for username, first, last, patronymic, position, extension in EMPLOYEES:
            employee = Employee.objects.create_user(
                username=username,
                password=self.password,
                email=f"{username}@trubka-demo.example",
                first_name=first,
                last_name=last,
                patronymic=patronymic,
                position=position,
                extension=extension,
                phone=format_number(self._new_number(), 4),
                date_joined=self.now - timedelta(days=self.rng.randint(90, 900)),
            )
            self.employees.append(employee)
        self.summary.employees = self.employees

    def _create_clients(self) -> None:
        for seed in COMPANIES:
            for _kind, raw in seed.phones:
                self.used_numbers.add(normalize_phone(raw).match_key)
        names = self._person_names(sum(s.contacts for s in COMPANIES) + PRIVATE_CONTACTS)
        style = self.rng.randrange(6)
        for seed in COMPANIES:
            company = do_create_company(
                name=seed.name,
                phones=seed.phones,
                additional_name=seed.additional_name,
                email=f"info@{seed.domain}.example",
                site=f"https://{seed.domain}.example",
                address=seed.address,
                comment=seed.comment,
            )
            self._backdate(Company, company.pk, self.rng.randint(200, 900))
            self.companies.append(company)
            for _kind, raw in seed.phones:
                self.callers.append(Caller(raw, company=company))
            for _ in range(seed.contacts):
                first, last, patronymic = names.pop()
                style += 1
                phones = [("mobile", format_number(self._new_number(), style))]
                if self.rng.random() < 0.4:
                    work = format_number(self._new_number(seed.city_code), style + 3)
                    phones.insert(0, ("work", work))
                self._add_contact(
                    first,
                    last,
                    patronymic,
                    company=company,
                    email=f"{translit(first)[0]}.{translit(last)}@{seed.domain}.example",
                    position=self.rng.choice(POSITIONS),
                    phones=phones,
                )
        for first, last, patronymic in names:
            style += 1
            self._add_contact(
                first,
                last,
                patronymic,
                company=None,
                email=f"{translit(last)}.{translit(first)[0]}@mail.example",
                position="",
                phones=[("mobile", format_number(self._new_number(), style))],
            )
        self.summary.companies = len(self.companies)
        self.summary.contacts = len(self.contacts)
        self.summary.phones = PhoneNumber.objects.filter(
            Q(contact__in=self.contacts) | Q(company__in=self.companies)
        ).count()

    def _person_names(self, count: int) -> list[tuple[str, str, str]]:
        surnames = self.rng.sample(SURNAMES, count)
        names: list[tuple[str, str, str]] = []
        for surname in surnames:
            male, female = self.rng.choice(PATRONYMICS)
            if self.rng.random() < 0.5:
                names.append((self.rng.choice(MALE_NAMES), surname, male))
            else:
                names.append((self.rng.choice(FEMALE_NAMES), female_surname(surname), female))
        return names

    def _add_contact(
        self,
        first: str,
        last: str,
        patronymic: str,
        *,
        company: Company | None,
        email: str,
        position: str,
        phones: list[tuple[str, str]],
    ) -> None:
        contact = do_create_contact(
            first_name=first,
            last_name=last,
            patronymic=patronymic,
            company=company,
            email=email,
            position=position,
            comment=self.rng.choice(CONTACT_COMMENTS) if self.rng.random() < 0.25 else "",
            phones=phones,
        )
        self._backdate(Contact, contact.pk, self.rng.randint(30, 200))
        self.contacts.append(contact)
        for _kind, raw in phones:
            self.callers.append(Caller(raw, contact=contact, company=company))

    def _backdate(self, model: type[Company] | type[Contact], pk: int, days: int) -> None:
        moment = self.now - timedelta(days=days, minutes=self.rng.randint(0, 600))
        model.objects.filter(pk=pk).update(created_at=moment, updated_at=moment)
