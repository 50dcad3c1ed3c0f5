from django.urls import path

from trubka.okdesk_api import views

app_name = "api_keys"
urlpatterns = [
    path("", views.key_list, name="list"),
    path("<uuid:uuid>/revoke/", views.key_revoke, name="revoke"),
]
