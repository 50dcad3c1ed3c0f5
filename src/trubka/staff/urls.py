from django.urls import path

from trubka.staff import views

app_name = "staff"
urlpatterns = [
    path("", views.employee_list, name="list"),
    path("me/", views.my_settings, name="me"),
    path("new/", views.employee_create, name="create"),
    path("<int:pk>/edit/", views.employee_edit, name="edit"),
]
