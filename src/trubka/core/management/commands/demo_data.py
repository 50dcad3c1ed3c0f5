"""``trubka demo-data``: fill the desk with believable Russian demo data.

It creates employees with extensions 101–105, companies and contacts with numbers typed in
every common format, tickets in every status (some from calls, some from missed calls) and a
month of calls, the answered ones with a short generated recording (``trubka.calls.audio``),
all through the same actions the rest of Trubka uses, in one transaction.

Demo objects are recognised later by markers, so ``--reset`` deletes exactly them: calls of
the provider ``demo``; employees, companies and contacts whose e-mail is in the reserved
``.example`` domain (employees also need one of the demo usernames); and the tickets of those
clients and calls. The same ``--seed`` gives the same desk, dated back from the moment it ran.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from trubka.calls.actions import do_add_recording, do_log_call
from trubka.calls.audio import make_tone_wav
from trubka.calls.models import CallRecording, Direction, PhoneCall
from trubka.clients.actions import do_create_company, do_create_contact
from trubka.clients.models import Company, Contact, PhoneNumber
from trubka.core.phones import normalize_phone
from trubka.staff.models import Employee
from trubka.tickets.actions import (
    do_add_ticket_comment,
    do_change_ticket_status,
    do_create_ticket,
)
from trubka.tickets.models import Priority, Source, Status, Ticket, TicketComment, TicketType

DEFAULT_SEED = 42
DEMO_PROVIDER = "demo"
DEMO_EMAIL_SUFFIX = ".example"  # RFC 2606: reserved, never a real mailbox
OUR_NUMBER = "74951500000"  # the desk's virtual number that incoming calls ring
RECORDING_SAMPLE_RATE = 8000
RECORDING_TONES = (392.0, 440.0, 494.0, 523.0, 587.0)

# username, first name, last name, patronymic, position, extension
EMPLOYEES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("ivanov", "Иван", "Иванов", "Сергеевич", "Руководитель службы поддержки", "101"),
    ("petrova", "Мария", "Петрова", "Александровна", "Инженер поддержки", "102"),
    ("smirnov", "Алексей", "Смирнов", "Викторович", "Инженер поддержки", "103"),
    ("kuznetsova", "Ольга", "Кузнецова", "Николаевна", "Специалист первой линии", "104"),
    ("sokolov", "Дмитрий", "Соколов", "Андреевич", "Выездной инженер", "105"),
)
DEMO_USERNAMES = tuple(row[0] for row in EMPLOYEES)


@dataclass(frozen=True)
class CompanySeed:
    name: str
    additional_name: str
    domain: str
    city_code: str
    address: str
    phones: tuple[tuple[str, str], ...]
    contacts: int
    comment: str = ""


COMPANIES: tuple[CompanySeed, ...] = (
    CompanySeed(
        "ООО «Ромашка»",
        "Ромашка",
        "romashka",
        "495",
        "Москва, ул. Лесная, д. 5, офис 12",
        (("work", "+7 (495) 123-45-67"),),
        3,
        "Договор абонентского обслуживания до конца года.",
    ),
    CompanySeed(
        "АО «Северный ветер»",
        "Северный ветер",
        "severveter",
        "812",
        "Санкт-Петербург, Невский пр., д. 88",
        (("work", "7 812 334-12-90"), ("other", "8 (812) 334-12-91")),
        3,
    ),
    CompanySeed(
        "ООО «ТехноПарк Плюс»",
        "ТехноПарк",
        "technopark",
        "495",
        "Москва, Варшавское ш., д. 42, стр. 3",
        (("work", "84957778899"),),
        3,
        "Два офиса и склад; выезд на склад согласовывать с офис-менеджером.",
    ),
    CompanySeed(
        "ООО «Уральские окна»",
        "",
        "uralokna",
        "343",
        "Екатеринбург, ул. Малышева, д. 31",
        (("work", "+7 343 210-55-00"),),
        2,
    ),
    CompanySeed(
        "АО «Волжская логистика»",
        "ВолгаЛог",
        "volgalog",
        "831",
        "Нижний Новгород, ул. Родионова, д. 165",
        (("work", "8 (831) 412-20-20"),),
        3,
        "Работают круглосуточно, срочные заявки — в любое время.",
    ),
    CompanySeed(
        "ООО «Кофейня на Покровке»",
        "",
        "pokrovka-coffee",
        "495",
        "Москва, ул. Покровка, д. 17",
        (("work", "+7 (495) 621-30-30"),),
        2,
    ),
    CompanySeed(
        "ООО «Медцентр Здоровье»",
        "Клиника «Здоровье»",
        "zdorovie-clinic",
        "843",
        "Казань, ул. Баумана, д. 9",
        (("work", "78432905050"), ("other", "+7 (843) 290-50-51")),
        2,
        "Медицинская информационная система — только через главного врача.",
    ),
    CompanySeed(
        "АО «Стройинвест»",
        "",
        "stroyinvest",
        "499",
        "Москва, Ленинградский пр., д. 80, корп. 2",
        (("work", "8 499 155 70 70"),),
        2,
    ),
)
PRIVATE_CONTACTS = 5

MALE_NAMES = (
    "Александр", "Алексей", "Андрей", "Артём", "Владимир", "Дмитрий", "Евгений", "Игорь",
    "Кирилл", "Максим", "Михаил", "Николай", "Павел", "Роман", "Сергей", "Юрий",
)  # fmt: skip
FEMALE_NAMES = (
    "Анна", "Виктория", "Галина", "Дарья", "Екатерина", "Елена", "Ирина", "Ксения",
    "Людмила", "Марина", "Наталья", "Ольга", "Светлана", "Татьяна", "Юлия",
)  # fmt: skip
PATRONYMICS = (
    ("Александрович", "Александровна"), ("Викторович", "Викторовна"),
    ("Сергеевич", "Сергеевна"), ("Петрович", "Петровна"), ("Игоревич", "Игоревна"),
    ("Николаевич", "Николаевна"), ("Олегович", "Олеговна"), ("Юрьевич", "Юрьевна"),
    ("Андреевич", "Андреевна"), ("Васильевич", "Васильевна"), ("Михайлович", "Михайловна"),
)  # fmt: skip
SURNAMES = (
    "Антонов", "Белов", "Васильев", "Волков", "Голубев", "Егоров", "Жуков", "Захаров",
    "Киселёв", "Ковалёв", "Козлов", "Лебедев", "Макаров", "Морозов", "Никитин", "Новиков",
    "Орлов", "Павлов", "Попов", "Романов", "Семёнов", "Тарасов", "Фёдоров", "Фролов",
    "Чернов", "Яковлев", "Вишневский", "Комаров", "Беляев", "Громов",
)  # fmt: skip
POSITIONS = (
    "Директор", "Главный бухгалтер", "Бухгалтер", "Офис-менеджер", "Менеджер по закупкам",
    "Системный администратор", "Руководитель отдела продаж", "Администратор", "Юрист",
    "Заведующий складом", "Секретарь",
)  # fmt: skip
CONTACT_COMMENTS = (
    "Звонить после 14:00.",
    "Предпочитает связь по почте.",
    "Принимает решения по договору обслуживания.",
    "Просит предупреждать о выезде за день.",
)
MOBILE_CODES = (
    "903", "905", "909", "910", "915", "916", "917", "919", "921", "925", "926", "977", "985",
    "999", "912", "950",
)  # fmt: skip

# title, description, type, priority
TOPICS: tuple[tuple[str, str, str, str], ...] = (
    ("Не печатает принтер в бухгалтерии",
     "HP LaserJet в бухгалтерии ставит задания в очередь, но ничего не печатает. "
     "Перезагрузка не помогла.", TicketType.INCIDENT, Priority.NORMAL),
    ("Не запускается 1С после обновления",
     "После ночного обновления 1С:Бухгалтерия у всех пользователей выдаёт ошибку при запуске.",
     TicketType.INCIDENT, Priority.HIGH),
    ("Подключить нового сотрудника",
     "С понедельника выходит новый менеджер: нужна учётная запись, почта и доступ к общей "
     "папке отдела продаж.", TicketType.SERVICE, Priority.NORMAL),
    ("Не подключается VPN из дома",
     "Сотрудник не может подключиться к VPN из дома: «Превышено время ожидания».",
     TicketType.INCIDENT, Priority.NORMAL),
    ("Как выгрузить акт сверки?",
     "Подскажите, где в личном кабинете выгрузить акт сверки за квартал.",
     TicketType.QUESTION, Priority.LOW),
    ("Медленно работает интернет в офисе",
     "С утра страницы открываются по минуте, видеозвонки обрываются.",
     TicketType.INCIDENT, Priority.NORMAL),
    ("Заменить картридж в МФУ на складе",
     "МФУ на складе пишет «Тонер заканчивается», запасного картриджа нет.",
     TicketType.SERVICE, Priority.LOW),
    ("Не приходят письма с формы на сайте",
     "Заявки с формы на сайте перестали приходить на почту отдела продаж со вчерашнего вечера.",
     TicketType.INCIDENT, Priority.HIGH),
    ("Настроить рабочее место кассира",
     "Новый компьютер на кассе: установить кассовую программу, подключить сканер и принтер чеков.",
     TicketType.SERVICE, Priority.NORMAL),
    ("Не открываются общие папки",
     "Файловый сервер недоступен, у всего офиса не открываются общие папки.",
     TicketType.INCIDENT, Priority.HIGH),
    ("Продлить лицензию антивируса",
     "Через неделю заканчивается лицензия антивируса на 25 рабочих мест.",
     TicketType.SERVICE, Priority.NORMAL),
    ("Вопрос по счёту за обслуживание",
     "В счёте за прошлый месяц две одинаковые позиции, просим проверить.",
     TicketType.QUESTION, Priority.NORMAL),
    ("Перенести почту уволенного сотрудника",
     "Письма уволенного менеджера нужно переадресовать руководителю, ящик сохранить.",
     TicketType.SERVICE, Priority.LOW),
    ("Не работает сканер",
     "Сканер в приёмной не виден на компьютере, драйвер переустанавливали.",
     TicketType.INCIDENT, Priority.LOW),
    ("Установить КриптоПро и электронную подпись",
     "Главному бухгалтеру выдали новую подпись, нужно установить её на рабочий компьютер.",
     TicketType.SERVICE, Priority.NORMAL),
    ("Не отправляется отчётность в ФНС",
     "При отправке декларации ошибка проверки сертификата, срок сдачи завтра.",
     TicketType.INCIDENT, Priority.HIGH),
    ("Доступ к папке «Договоры»",
     "Юристу нужен доступ на чтение и запись к папке «Договоры».",
     TicketType.SERVICE, Priority.LOW),
    ("Не звонит IP-телефон на ресепшене",
     "Телефон на ресепшене показывает «Нет регистрации», входящие не проходят.",
     TicketType.INCIDENT, Priority.NORMAL),
    ("Как сбросить пароль от личного кабинета?",
     "Забыли пароль от личного кабинета, письмо для сброса не приходит.",
     TicketType.QUESTION, Priority.LOW),
    ("Пропал Wi-Fi в переговорной",
     "В переговорной не видно сети Wi-Fi, в остальном офисе всё работает.",
     TicketType.INCIDENT, Priority.NORMAL),
    ("Консультация по резервному копированию",
     "Хотим ежедневные копии базы 1С в облако: что для этого нужно и сколько стоит?",
     TicketType.QUESTION, Priority.NORMAL),
    ("Подключить второй монитор",
     "Дизайнеру привезли второй монитор, нужно подключить и настроить.",
     TicketType.SERVICE, Priority.LOW),
    ("Файлы не открываются, странное расширение",
     "На компьютере бухгалтера документы получили непонятное расширение и не открываются. "
     "Компьютер выключили.", TicketType.INCIDENT, Priority.HIGH),
    ("Обновить прошивку онлайн-кассы",
     "Касса просит обновить прошивку, иначе перестанет передавать чеки.",
     TicketType.SERVICE, Priority.NORMAL),
)  # fmt: skip

TAKEN_REPLIES = (
    "Добрый день! Заявку приняли, инженер свяжется с вами в течение часа.",
    "Здравствуйте! Взяли в работу, подключимся удалённо в ближайшее время.",
    "Приняли. Уточните, пожалуйста, удобное время для подключения.",
)
PROGRESS_REPLIES = (
    "Подключились удалённо, разбираемся.",
    "Инженер приедет к вам завтра с 10 до 12.",
    "Нашли причину, сейчас исправляем.",
)
DONE_REPLIES = (
    "Всё настроили, проверьте, пожалуйста, у себя.",
    "Готово, всё работает. Проверьте, пожалуйста.",
    "Сделано. Если проблема повторится — просто ответьте на это сообщение.",
)
INTERNAL_NOTES = (
    "Клиент на абонентском обслуживании, работы отдельно не выставляем.",
    "Уточнить у бухгалтерии оплату за прошлый месяц.",
    "Похоже на ту же проблему, что и в прошлом месяце: посмотреть ту заявку.",
    "Нужен выезд, согласовать время с клиентом.",
    "Нужен доступ администратора, пароль у главного бухгалтера.",
)
CLIENT_THANKS = ("Спасибо, всё заработало!", "Спасибо за оперативность!")
CLIENT_AGAIN = "Проблема вернулась, посмотрите ещё раз, пожалуйста."
CALLBACK_NOTES = (
    "Перезвонили клиенту, вопрос решили по телефону.",
    "Перезвонили: клиент хотел уточнить сроки по открытой заявке.",
)

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


def demo_employees() -> QuerySet[Employee]:
    return Employee.objects.filter(username__in=DEMO_USERNAMES, email__iendswith=DEMO_EMAIL_SUFFIX)


def demo_companies() -> QuerySet[Company]:
    return Company.objects.filter(email__iendswith=DEMO_EMAIL_SUFFIX)


def demo_contacts() -> QuerySet[Contact]:
    return Contact.objects.filter(email__iendswith=DEMO_EMAIL_SUFFIX)


def demo_calls() -> QuerySet[PhoneCall]:
    return PhoneCall.objects.filter(provider=DEMO_PROVIDER)


@dataclass
class TicketPlan:
    """A ticket to create, with the story of its status changes and comments."""

    created_at: datetime
    title: str
    description: str
    source: str
    status: str  # the final status; "reopened" is opened after having been completed
    type: str = TicketType.QUESTION
    priority: str = Priority.NORMAL
    contact: Contact | None = None
    company: Company | None = None
    assignee: Employee | None = None
    author: Employee | None = None
    story_starts_at: datetime | None = None
    callback_note: str = ""
    ticket: Ticket | None = None


@dataclass
class CallPlan:
    """A call to log: ``talk`` is None when nobody answered."""

    started_at: datetime
    direction: str
    number: str
    wait: int
    talk: int | None = None
    employee: Employee | None = None
    missed_by: str = ""
    ticket: TicketPlan | None = None

    @property
    def answered(self) -> bool:
        return self.talk is not None

    @property
    def finished_at(self) -> datetime:
        return self.started_at + timedelta(seconds=self.wait + (self.talk or 0))


@dataclass
class Caller:
    """A number a call comes from, with the client it belongs to (if any)."""

    number: str
    contact: Contact | None = None
    company: Company | None = None


@dataclass
class Summary:
    employees: list[Employee] = field(default_factory=list)
    companies: int = 0
    contacts: int = 0
    phones: int = 0
    tickets: list[Ticket] = field(default_factory=list)
    comments: int = 0
    calls: list[PhoneCall] = field(default_factory=list)
    recordings: int = 0
    recording_bytes: int = 0


class DemoDesk:
    """Builds the demo desk. One instance, one run: ``build()`` once."""

    def __init__(self, rng: random.Random, password: str, saved_files: list[str]) -> None:
        self.rng = rng
        self.password = password
        self.saved_files = saved_files
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        self.used_numbers: set[str] = set()
        self.summary = Summary()
        self.employees: list[Employee] = []
        self.companies: list[Company] = []
        self.contacts: list[Contact] = []
        self.callers: list[Caller] = []  # client numbers, for calls

    def build(self) -> Summary:
        self._create_employees()
        self._create_clients()
        calls, tickets = self._plan()
        for plan in sorted(tickets, key=lambda p: p.created_at):
            self._create_ticket(plan)
        for index, call in enumerate(sorted(calls, key=lambda c: c.started_at), start=1):
            self._log_call(call, f"demo-{index:04d}")
        return self.summary

    # Moments -------------------------------------------------------------------------------

    def _working_moment(self, min_days_ago: int = 0, max_days_ago: int = 29) -> datetime:
        """A moment of a working day (weekends are rarer) at least half an hour ago."""
        latest = self.now - timedelta(minutes=30)
        for _attempt in range(200):
            day = self.today - timedelta(days=self.rng.randint(min_days_ago, max_days_ago))
            if day.weekday() >= 5 and self.rng.random() < 0.8:
                continue
            moment = self._at(day, 9) + timedelta(seconds=self.rng.randint(0, 10 * 3600))
            if moment <= latest:
                return moment
        return latest - timedelta(hours=self.rng.randint(1, 48))

    def _working_moment_between(self, start: datetime, end: datetime) -> datetime:
        """A moment between the two, in working hours (9 to 19) when there are any."""
        for _attempt in range(50):
            moment = start + (end - start) * self.rng.random()
            if 9 <= timezone.localtime(moment).hour < 19:
                return moment
        # No working hours in between: someone stayed late, soon after the start.
        return min(end, start + timedelta(minutes=self.rng.randint(5, 40)))

    @staticmethod
    def _at(day: date, hour: int) -> datetime:
        return timezone.make_aware(datetime.combine(day, time(hour)))

    def _past(self, moment: datetime) -> datetime:
        return min(moment, self.now - timedelta(minutes=1))

    # Employees and clients -----------------------------------------------------------------

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

    def _new_number(self, city_code: str = "") -> str:
        """A 10-digit number no demo client or employee has yet."""
        while True:
            code = city_code or self.rng.choice(MOBILE_CODES)
            number = code + "".join(str(self.rng.randint(0, 9)) for _ in range(10 - len(code)))
            if number not in self.used_numbers and number[3] != "0":
                self.used_numbers.add(number)
                return number

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

    # Planning ------------------------------------------------------------------------------

    def _plan(self) -> tuple[list[CallPlan], list[TicketPlan]]:
        """Plan ~60 calls and ~30 tickets; the numbers below add up to those."""
        calls: list[CallPlan] = []
        tickets: list[TicketPlan] = []
        rng = self.rng
        person_callers = [c for c in self.callers if c.contact is not None]
        unknown = [
            Caller(format_number(self._new_number(), 2)),
            Caller(format_number(self._new_number(), 2)),
            Caller(format_number(self._new_number("495"), 2)),
        ]

        # Missed calls, each with its ticket; the handled ones got a call back.
        missed_statuses = self._deck(
            {Status.OPENED: 3, Status.IN_PROGRESS: 1, Status.COMPLETED: 1, Status.CLOSED: 3}
        )
        missed_callers = rng.sample(self.callers, len(missed_statuses))
        missed = [*zip(missed_callers, missed_statuses, strict=True)]
        missed.append((unknown[0], Status.OPENED))  # nobody knows this number yet
        for caller, status in missed:
            handled = status in (Status.CLOSED, Status.COMPLETED)
            missed_call = self._missed_call(caller, min_days_ago=1 if handled else 0)
            ticket = self._missed_ticket(caller, missed_call, status)
            missed_call.ticket = ticket
            calls.append(missed_call)
            if handled:
                back = self._outgoing(
                    caller, missed_call.finished_at + timedelta(minutes=rng.randint(10, 90))
                )
                back.ticket = ticket
                ticket.assignee = back.employee
                ticket.story_starts_at = back.finished_at
                ticket.callback_note = rng.choice(CALLBACK_NOTES)
                calls.append(back)
            tickets.append(ticket)

        topics = list(TOPICS)
        rng.shuffle(topics)
        statuses = self._deck(
            {
                Status.OPENED: 5,
                Status.IN_PROGRESS: 5,
                Status.COMPLETED: 4,
                Status.CLOSED: 5,
                "reopened": 2,
            }
        )

        # Answered incoming calls that became tickets.
        for caller in rng.sample(person_callers, 9):
            call = self._incoming(caller, self._working_moment())
            title, description, kind, priority = topics.pop()
            call.ticket = TicketPlan(
                created_at=self._past(call.finished_at + timedelta(minutes=rng.randint(1, 5))),
                title=title,
                description=description,
                source=Source.PHONE,
                status=statuses.pop(),
                type=kind,
                priority=priority,
                contact=caller.contact,
                company=caller.company,
                assignee=call.employee if rng.random() < 0.8 else rng.choice(self.employees),
                author=call.employee,
            )
            calls.append(call)
            tickets.append(call.ticket)

        # Tickets typed in by hand (from e-mail, messengers, a word in the corridor).
        while statuses:
            title, description, kind, priority = topics.pop()
            contact = rng.choice(self.contacts) if rng.random() < 0.85 else None
            company = contact.company if contact else rng.choice(self.companies)
            tickets.append(
                TicketPlan(
                    created_at=self._working_moment(),
                    title=title,
                    description=description,
                    source=Source.MANUAL,
                    status=statuses.pop(),
                    type=kind,
                    priority=priority,
                    contact=contact,
                    company=company,
                    assignee=rng.choice([*self.employees, None]),
                    author=rng.choice(self.employees),
                )
            )

        # The everyday traffic: answered calls, a few from numbers nobody has filled in yet.
        for _ in range(31):
            calls.append(self._incoming(rng.choice(self.callers), self._working_moment()))
        for caller in unknown[1:]:
            calls.append(self._incoming(caller, self._working_moment()))
        for _ in range(3):
            calls.append(self._outgoing(rng.choice(person_callers), self._working_moment()))
        for _ in range(2):
            call = self._outgoing(rng.choice(person_callers), self._working_moment())
            call.talk = None  # nobody picked up
            calls.append(call)
        return calls, tickets

    def _deck(self, counts: dict[str, int]) -> list[str]:
        """The final statuses to hand out, shuffled: so many of each."""
        deck = [status for status, count in counts.items() for _ in range(count)]
        self.rng.shuffle(deck)
        return deck

    def _incoming(self, caller: Caller, started_at: datetime) -> CallPlan:
        return CallPlan(
            started_at=started_at,
            direction=Direction.INCOMING,
            number=self._as_provider_sends(caller.number),
            wait=self.rng.randint(3, 25),
            talk=self._talk_seconds(),
            employee=self.rng.choice(self.employees),
        )

    def _outgoing(self, caller: Caller, started_at: datetime) -> CallPlan:
        return CallPlan(
            started_at=started_at,
            direction=Direction.OUTGOING,
            number=self._as_provider_sends(caller.number),
            wait=self.rng.randint(5, 30),
            talk=self._talk_seconds(),
            employee=self.rng.choice(self.employees),
        )

    def _missed_call(self, caller: Caller, *, min_days_ago: int) -> CallPlan:
        names = [f"{e.last_name} {e.first_name}" for e in self.employees]
        return CallPlan(
            started_at=self._working_moment(min_days_ago=min_days_ago),
            direction=Direction.INCOMING,
            number=self._as_provider_sends(caller.number),
            wait=self.rng.randint(20, 60),
            missed_by=", ".join(self.rng.sample(names, self.rng.randint(2, 3))),
        )

    def _missed_ticket(self, caller: Caller, call: CallPlan, status: str) -> TicketPlan:
        display = normalize_phone(caller.number).display
        return TicketPlan(
            created_at=call.finished_at + timedelta(seconds=self.rng.randint(1, 5)),
            title=f"Пропущенный звонок от {display}",
            description=(
                f"Звонок в {timezone.localtime(call.started_at):%H:%M} не приняли "
                f"({call.missed_by}). Перезвоните клиенту."
            ),
            source=Source.MISSED_CALL,
            status=status,
            contact=caller.contact,
            company=caller.company,
            assignee=self.rng.choice(self.employees) if status != Status.OPENED else None,
        )

    def _as_provider_sends(self, number: str) -> str:
        """Telephony reports numbers as bare E.164 digits, whatever the client card says."""
        phone = normalize_phone(number)
        return phone.e164[1:] if phone.e164 else phone.digits

    def _talk_seconds(self) -> int:
        return min(1200, 20 + int(self.rng.expovariate(1 / 150)))

    # Creating ------------------------------------------------------------------------------

    def _create_ticket(self, plan: TicketPlan) -> None:
        ticket = do_create_ticket(
            title=plan.title,
            description=plan.description,
            contact=plan.contact,
            company=plan.company,
            assignee=plan.assignee,
            author=plan.author,
            priority=plan.priority,
            type=plan.type,
            source=plan.source,
        )
        plan.ticket = ticket
        steps = self._story(plan)
        start = plan.story_starts_at or plan.created_at
        end = self._past(start + timedelta(minutes=self.rng.randint(60, 4 * 24 * 60)))
        moments = sorted(self._working_moment_between(start, end) for _ in steps)
        stamps: dict[str, datetime | None] = {"completed_at": None, "closed_at": None}
        for step, moment in zip(steps, moments, strict=True):
            seen = set(TicketComment.objects.filter(ticket=ticket).values_list("pk", flat=True))
            step()
            # The actions stamp "now"; the story happened at ``moment``.
            TicketComment.objects.filter(ticket=ticket).exclude(pk__in=seen).update(
                created_at=moment
            )
            status = Ticket.objects.values_list("status", flat=True).get(pk=ticket.pk)
            if status == Status.COMPLETED:
                stamps["completed_at"] = moment
            elif status == Status.CLOSED:
                stamps["completed_at"] = stamps["completed_at"] or moment
                stamps["closed_at"] = moment
            elif status == Status.OPENED:
                stamps = {"completed_at": None, "closed_at": None}
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=plan.created_at,
            updated_at=moments[-1] if moments else plan.created_at,
            **stamps,
        )
        ticket.refresh_from_db()
        self.summary.tickets.append(ticket)
        self.summary.comments += TicketComment.objects.filter(ticket=ticket).count()

    def _story(self, plan: TicketPlan) -> list[Callable[[], object]]:
        """What happens to the ticket after it was created, step by step, in order."""
        assert plan.ticket is not None
        ticket = plan.ticket
        rng = self.rng
        worker = plan.assignee or rng.choice(self.employees)
        steps: list[Callable[[], object]] = []

        def move(status: str, note: str = "") -> None:
            steps.append(lambda: do_change_ticket_status(ticket, status, by=worker, comment=note))

        def reply(text: str, *, public: bool = True) -> None:
            steps.append(
                lambda: do_add_ticket_comment(ticket, content=text, author=worker, public=public)
            )

        def client_says(text: str) -> None:
            if plan.contact is not None:
                contact = plan.contact
                steps.append(
                    lambda: do_add_ticket_comment(
                        ticket, content=text, author_contact=contact, public=True
                    )
                )

        if plan.source == Source.MISSED_CALL:
            if plan.status == Status.IN_PROGRESS:
                move(Status.IN_PROGRESS, "Звоню клиенту, пока не берёт трубку.")
            elif plan.status in (Status.COMPLETED, Status.CLOSED):
                move(Status.IN_PROGRESS)
                move(Status.COMPLETED, plan.callback_note)
                if plan.status == Status.CLOSED:
                    move(Status.CLOSED)
            return steps

        if plan.status == Status.OPENED:
            if rng.random() < 0.5:
                reply(rng.choice(INTERNAL_NOTES), public=False)
            return steps
        move(Status.IN_PROGRESS)
        reply(rng.choice(TAKEN_REPLIES))
        if rng.random() < 0.5:
            reply(rng.choice(INTERNAL_NOTES), public=False)
        if plan.status == Status.IN_PROGRESS:
            if rng.random() < 0.5:
                reply(rng.choice(PROGRESS_REPLIES))
            return steps
        reply(rng.choice(DONE_REPLIES))
        move(Status.COMPLETED)
        if plan.status == "reopened":
            client_says(CLIENT_AGAIN)
            move(Status.OPENED, "Клиент пишет, что проблема вернулась.")
            return steps
        if rng.random() < 0.6:
            client_says(rng.choice(CLIENT_THANKS))
        if plan.status == Status.CLOSED:
            move(Status.CLOSED)
        return steps

    def _log_call(self, plan: CallPlan, call_id: str) -> None:
        answered_at = plan.started_at + timedelta(seconds=plan.wait) if plan.answered else None
        our_number = OUR_NUMBER
        if plan.employee is not None and plan.employee.extension:
            our_number = plan.employee.extension
        ticket = plan.ticket.ticket if plan.ticket else None
        call = do_log_call(
            provider=DEMO_PROVIDER,
            provider_call_id=call_id,
            started_at=plan.started_at,
            client_number=plan.number,
            direction=plan.direction,
            our_number=our_number,
            employee=plan.employee,
            answered_at=answered_at,
            finished_at=plan.finished_at,
            wait_duration=plan.wait,
            talk_duration=plan.talk,
            is_missed=plan.direction == Direction.INCOMING and not plan.answered,
            missed_by=plan.missed_by,
            ticket=ticket,
        )
        self.summary.calls.append(call)
        if plan.answered:
            self._record(call, plan.finished_at)

    def _record(self, call: PhoneCall, finished_at: datetime) -> None:
        seconds = round(self.rng.uniform(3, 8), 1)
        audio = make_tone_wav(seconds, self.rng.choice(RECORDING_TONES), RECORDING_SAMPLE_RATE)
        recording = do_add_recording(
            call, duration=max(1, round(seconds)), content_type="audio/wav"
        )
        recording.file.save(f"{call.provider_call_id}.wav", ContentFile(audio), save=False)
        self.saved_files.append(recording.file.name)
        recording.archived_at = self._past(
            finished_at + timedelta(seconds=self.rng.randint(30, 600))
        )
        recording.save(update_fields=["file", "archived_at"])
        self.summary.recordings += 1
        self.summary.recording_bytes += len(audio)


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


class Command(BaseCommand):
    help = (
        "Fill the desk with believable Russian demo data: employees with extensions "
        f"{EMPLOYEES[0][5]}–{EMPLOYEES[-1][5]}, companies, contacts, tickets and a month of "
        "calls with recordings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            help="password of the demo employees; by default one is generated and shown once",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"random seed: the same seed gives the same desk (default {DEFAULT_SEED})",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help=(
                "delete the demo data made earlier (calls of provider 'demo'; employees, "
                "companies and contacts with an e-mail in the .example domain; their tickets) "
                "and make it again"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password: str | None = options["password"]
        generated = password is None
        if password is None:
            password = secrets.token_urlsafe(12)
        elif not password.strip():
            raise CommandError("The --password must not be empty.")
        saved_files: list[str] = []
        try:
            with transaction.atomic():
                stale_files: list[str] = []
                if options["reset"]:
                    stale_files = reset_demo_data()
                else:
                    present = demo_data_present()
                    if present:
                        raise CommandError(
                            f"Demo data is already here ({', '.join(present)}). Run "
                            "`trubka demo-data --reset` to delete it and make it again."
                        )
                check_employee_conflicts()
                desk = DemoDesk(random.Random(options["seed"]), password, saved_files)  # noqa: S311
                summary = desk.build()
                transaction.on_commit(lambda: delete_files(stale_files))
        except BaseException:
            delete_files(saved_files)  # the rows are rolled back; do not leave their audio
            raise
        self._report(summary, password if generated else None, bool(options["reset"]))

    def _report(self, summary: Summary, generated_password: str | None, reset: bool) -> None:
        statuses = Counter(t.status for t in summary.tickets)
        sources = Counter(t.source for t in summary.tickets)
        directions = Counter(c.direction for c in summary.calls)
        missed = sum(1 for c in summary.calls if c.is_missed)
        unknown = sum(1 for c in summary.calls if c.contact_id is None and c.company_id is None)
        extensions = [e.extension for e in summary.employees]
        write = self.stdout.write
        write(self.style.SUCCESS("Demo data re-created:" if reset else "Demo data created:"))
        write(
            f"  employees   {len(summary.employees)} "
            f"(logins {', '.join(e.username for e in summary.employees)}; "
            f"extensions {extensions[0]}–{extensions[-1]})"
        )
        write(f"  companies   {summary.companies}")
        write(f"  contacts    {summary.contacts} ({summary.phones} client phone numbers)")
        write(
            f"  tickets     {len(summary.tickets)} ("
            + ", ".join(f"{s.name.lower().replace('_', ' ')} {statuses[s]}" for s in Status)
            + f"; from calls {sources[Source.PHONE]}, missed calls {sources[Source.MISSED_CALL]}"
            + f"; {summary.comments} comments)"
        )
        write(
            f"  calls       {len(summary.calls)} (incoming {directions[Direction.INCOMING]}, "
            f"outgoing {directions[Direction.OUTGOING]}, missed {missed}, "
            f"from unknown numbers {unknown})"
        )
        write(
            f"  recordings  {summary.recordings} "
            f"({summary.recording_bytes / 1_000_000:.1f} MB of WAV audio)"
        )
        if generated_password:
            write(
                "The demo employees' password, shown only this once: "
                + self.style.WARNING(generated_password)
            )
