from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from trubka.core.phones import format_e164, normalize_phone
from trubka.core.search import search_text as build_search_text


class Company(models.Model):
    """A client organisation («Клиент» of the company kind)."""

    name = models.CharField(_("name"), max_length=255)
    additional_name = models.CharField(_("additional name"), max_length=255, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    site = models.CharField(_("website"), max_length=255, blank=True)
    address = models.CharField(_("address"), max_length=500, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    search_text = models.TextField(editable=False, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.search_text = build_search_text(self.name, self.additional_name, self.email)
        renamed = (
            self.pk is not None
            and Company.objects.filter(pk=self.pk).exclude(name=self.name).exists()
        )
        super().save(*args, **kwargs)  # type: ignore[arg-type]
        if renamed:
            # Contacts are found by their company's name too.
            for contact in self.contacts.all():
                contact.save(update_fields=["search_text"])


class Contact(models.Model):
    """A client person («Клиент» of the contact kind), optionally of a company."""

    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    patronymic = models.CharField(_("patronymic"), max_length=150, blank=True)
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
    )
    email = models.EmailField(_("e-mail"), blank=True)
    position = models.CharField(_("position"), max_length=255, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    # Set on the card made automatically for an unknown caller («Новый клиент …»), until
    # someone fills it in or attaches the number to an existing client: the card, the call
    # log and the popup show a «+» while it is set.
    from_unknown_call_at = models.DateTimeField(null=True, blank=True, editable=False)
    search_text = models.TextField(editable=False, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["last_name", "first_name"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(first_name="", last_name=""),
                name="contact_has_a_name",
                violation_error_message=_("Enter a first name or a last name."),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        company = self.company.name if self.company_id and self.company else ""
        self.search_text = build_search_text(
            self.last_name, self.first_name, self.patronymic, self.email, company
        )
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.patronymic) if p)


class PhoneNumber(models.Model):
    """One number of a contact or a company; the match key is what calls are matched by."""

    class Kind(models.TextChoices):
        WORK = "work", _("work")
        MOBILE = "mobile", _("mobile")
        OTHER = "other", _("other")

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.WORK)
    raw = models.CharField(_("number"), max_length=64)
    e164 = models.CharField(max_length=20, blank=True, db_index=True)
    # The last TRUBKA_PHONE_MATCH_DIGITS digits; an exact-match index on it keeps caller lookup
    # a single index probe however many numbers are stored. `trubka rebuild-phone-keys`
    # recomputes it after that setting changes.
    match_key = models.CharField(max_length=20, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(contact__isnull=False, company__isnull=True)
                    | Q(contact__isnull=True, company__isnull=False)
                ),
                name="phone_belongs_to_one_client",
            ),
            models.UniqueConstraint(
                fields=["contact", "match_key"],
                condition=Q(contact__isnull=False),
                name="unique_phone_per_contact",
            ),
            models.UniqueConstraint(
                fields=["company", "match_key"],
                condition=Q(company__isnull=False),
                name="unique_phone_per_company",
            ),
        ]

    def __str__(self) -> str:
        return self.display

    def save(self, *args: object, **kwargs: object) -> None:
        self._normalize()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> None:
        self._normalize()
        if not self.match_key:
            raise ValidationError({"raw": _("Enter a phone number: it has no digits.")})

    def _normalize(self) -> None:
        normalized = normalize_phone(self.raw)
        self.raw = normalized.raw
        self.e164 = normalized.e164 or ""
        self.match_key = normalized.match_key

    @property
    def display(self) -> str:
        return format_e164(self.e164) if self.e164 else self.raw
