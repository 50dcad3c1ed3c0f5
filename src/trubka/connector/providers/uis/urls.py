"""UIS's webhook routes, included in the connector's URLconf (``connector:webhook``…).

``/okdesk/webhook/<token>/`` is the notification URL shown on the setup page; the token names
the account. ``/okdesk/webhook/`` is the guide's own URL, routed by ``app_id`` for accounts
that allow it from listed addresses. The ASGI lane (``asgi.py``) answers the same paths.
"""

from django.urls import path

from trubka.connector.providers.uis import views

urlpatterns = [
    path("okdesk/webhook/", views.shared_webhook, name="shared_webhook"),
    path("okdesk/webhook/<str:token>/", views.webhook, name="webhook"),
]
