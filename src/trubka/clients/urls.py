from django.urls import path

from trubka.clients import views

app_name = "clients"
urlpatterns = [
    path("", views.client_list, name="list"),
    path("fill-in/", views.fill_in, name="fill_in"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("companies/new/", views.company_create, name="company_create"),
    path("companies/<int:pk>/", views.company_detail, name="company"),
    path("companies/<int:pk>/edit/", views.company_edit, name="company_edit"),
]
