from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from trubka.core.search import search_term
from trubka.staff.forms import EmployeeForm, MySettingsForm, NewEmployeeForm
from trubka.staff.models import Employee


def employee_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    # A desk has tens of employees, not thousands: filtering in Python keeps Cyrillic
    # case-insensitive on SQLite too.
    employees: list[Employee] = list(Employee.objects.all())
    if query:
        term = search_term(query)
        employees = [
            e
            for e in employees
            if term in search_term(f"{e.full_name} {e.username} {e.extension or ''}")
        ]
    return render(request, "staff/list.html", {"employees": employees, "query": query})


@permission_required("staff.add_employee", raise_exception=True)
def employee_create(request: HttpRequest) -> HttpResponse:
    form = NewEmployeeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        employee = form.save()
        messages.success(request, _("Employee %(name)s created.") % {"name": employee})
        return redirect("staff:list")
    return render(request, "staff/form.html", {"form": form, "object": None})


@permission_required("staff.change_employee", raise_exception=True)
def employee_edit(request: HttpRequest, pk: int) -> HttpResponse:
    employee = get_object_or_404(Employee, pk=pk)
    form = EmployeeForm(request.POST or None, instance=employee)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved."))
        return redirect("staff:list")
    return render(request, "staff/form.html", {"form": form, "object": employee})


def my_settings(request: HttpRequest) -> HttpResponse:
    employee = request.user
    assert isinstance(employee, Employee)
    form = MySettingsForm(request.POST or None, instance=employee)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved."))
        return redirect("staff:me")
    return render(request, "staff/me.html", {"form": form, "employee": employee})
