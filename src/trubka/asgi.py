import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trubka.settings")
django_application = get_asgi_application()

# Imported once Django is set up: a provider with a webhook lane of its own (``asgi.py`` in its
# folder, e.g. UIS's) answers its webhook in front of Django's middleware.
from trubka.connector import providers  # noqa: E402

application = django_application
for _lane in providers.submodules("asgi"):
    application = _lane.with_webhook_lane(application)
