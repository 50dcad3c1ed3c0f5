import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trubka.settings")
django_application = get_asgi_application()

# Imported once Django is set up: the UIS webhook is answered in front of Django's middleware.
from trubka.connector.providers.uis.asgi import with_webhook_lane  # noqa: E402

application = with_webhook_lane(django_application)
