from django.urls import path

from trubka.connector import providers, views

app_name = "connector"
urlpatterns = [
    path("okdesk/", views.setup_start, name="start"),
    # Each provider's webhook routes (``providers/<name>/urls.py``).
    *providers.url_patterns(),
    path("okdesk/<uuid:uuid>/", views.setup_account, name="account"),
    path("okdesk/<uuid:uuid>/enable/", views.setup_toggle, {"enable": True}, name="enable"),
    path("okdesk/<uuid:uuid>/disable/", views.setup_toggle, {"enable": False}, name="disable"),
    path("okdesk/<uuid:uuid>/new-url/", views.setup_rotate_token, name="rotate_token"),
    path("settings/telephony/", views.telephony_index, name="telephony"),
    path("settings/telephony/events/", views.event_log, name="events"),
    path("settings/telephony/events/<uuid:uuid>/retry/", views.event_retry, name="event_retry"),
    path("settings/telephony/<uuid:uuid>/employees/", views.employee_check, name="employees"),
]
