from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from trubka.staff.models import Employee


@admin.register(Employee)
class EmployeeAdmin(UserAdmin):
    list_display = ["username", "full_name", "extension", "position", "is_active", "is_staff"]
    search_fields = ["username", "first_name", "last_name", "extension", "email"]
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (_("Desk"), {"fields": ("patronymic", "position", "phone", "extension")}),
    )
