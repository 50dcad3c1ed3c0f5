from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectorConfig(AppConfig):
    name = "trubka.connector"
    label = "connector"
    verbose_name = _("Telephony integration")

    def ready(self) -> None:
        # Connects the signals that keep the webhook's account cache in step with saves.
        from trubka.connector.providers.uis import accounts  # noqa: F401
        from trubka.connector.queue.jobs import enqueue_job
        from trubka.core import jobs

        # The connector's queue carries the jobs other apps queue (trubka.core.jobs).
        jobs.install_queue(enqueue_job)
