from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

extension_validator = RegexValidator(
    r"^\d{1,10}$", _("An extension number is 1 to 10 digits, nothing else.")
)


class Employee(AbstractUser):
    """A staff member who logs in to the desk; calls find them by ``extension``."""

    patronymic = models.CharField(_("patronymic"), max_length=150, blank=True)
    position = models.CharField(_("position"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    # «Добавочный номер»: the same internal number the employee has in the PBX. NULL rather
    # than "" so that the unique constraint allows any number of employees without one.
    extension = models.CharField(
        _("extension number"),
        max_length=10,
        null=True,
        blank=True,
        unique=True,
        validators=[extension_validator],
        help_text=_("The employee's internal number in the PBX, e.g. 101."),
    )

    # Open the caller's card in a side panel when a call rings (the popup shows either way).
    popup_auto_open = models.BooleanField(
        _("open the client card automatically when a call rings"), default=True
    )

    class Meta:
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        parts = [self.last_name, self.first_name, self.patronymic]
        name = " ".join(part for part in parts if part)
        return name or self.username

    def save(self, *args: object, **kwargs: object) -> None:
        if self.extension == "":
            self.extension = None
        super().save(*args, **kwargs)  # type: ignore[arg-type]
