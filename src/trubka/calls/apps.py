from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    name = "trubka.calls"
    label = "calls"
    verbose_name = _("Phone calls")

    def ready(self) -> None:
        from trubka.calls.archive import ARCHIVE_ACTION, archive_queued
        from trubka.core import jobs

        jobs.register(ARCHIVE_ACTION, archive_queued)
