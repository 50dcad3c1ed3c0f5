from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OkdeskApiConfig(AppConfig):
    name = "trubka.okdesk_api"
    label = "okdesk_api"
    verbose_name = _("API")
