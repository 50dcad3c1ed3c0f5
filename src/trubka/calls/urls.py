from django.urls import path

from trubka.calls import views

app_name = "calls"
urlpatterns = [
    path("", views.settings_index, name="settings"),
    path("telephony/calls/", views.call_log, name="log"),
    path("telephony/recordings/<uuid:uuid>/", views.recording_audio, name="recording"),
]
