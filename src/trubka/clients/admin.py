from django.contrib import admin

from trubka.clients.models import Company, Contact, PhoneNumber


class PhoneInline(admin.TabularInline):
    model = PhoneNumber
    fields = ["kind", "raw", "e164", "match_key"]
    readonly_fields = ["e164", "match_key"]
    extra = 1


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "active", "created_at"]
    search_fields = ["search_text", "phones__match_key"]
    list_filter = ["active"]
    inlines = [PhoneInline]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "company", "email", "active", "created_at"]
    search_fields = ["search_text", "phones__match_key"]
    list_filter = ["active"]
    autocomplete_fields = ["company"]
    inlines = [PhoneInline]


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    list_display = ["raw", "e164", "match_key", "kind", "contact", "company"]
    search_fields = ["raw", "e164", "match_key"]
    raw_id_fields = ["contact", "company"]
