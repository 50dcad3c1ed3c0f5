from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import set_language

from trubka.core import views as core_views
from trubka.core.security import throttled
from trubka.okdesk_api.api import api as okdesk_api

# The admin's own login counts failed attempts like the desk's.
admin.site.login_form = throttled(AdminAuthenticationForm)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="tickets:list"), name="home"),
    path("accounts/login/", core_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    path("tickets/", include("trubka.tickets.urls")),
    path("clients/", include("trubka.clients.urls")),
    path("employees/", include("trubka.staff.urls")),
    path("settings/", include("trubka.calls.urls")),
    path("", include("trubka.connector.urls")),
    path("live/", include("trubka.realtime.urls")),
    path("", include("trubka.ops.urls")),
    path("api/v1/", okdesk_api.urls),
    path("settings/api/", include("trubka.okdesk_api.urls")),
]
