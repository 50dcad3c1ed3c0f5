from django.contrib import admin

from trubka.calls.models import CallPopup, CallRecording, PhoneCall


class RecordingInline(admin.TabularInline):
    model = CallRecording
    extra = 0
    fields = ["source_url", "file", "duration", "archived_at"]


@admin.register(PhoneCall)
class PhoneCallAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "direction",
        "client_number",
        "employee",
        "contact",
        "is_missed",
        "talk_duration",
    ]
    list_filter = ["direction", "is_missed", "provider"]
    search_fields = ["provider_call_id", "client_number", "client_match_key"]
    raw_id_fields = ["employee", "contact", "company", "ticket"]
    date_hierarchy = "started_at"
    inlines = [RecordingInline]


@admin.register(CallRecording)
class CallRecordingAdmin(admin.ModelAdmin):
    list_display = ["uuid", "call", "duration", "created_at", "archived_at"]
    raw_id_fields = ["call"]


@admin.register(CallPopup)
class CallPopupAdmin(admin.ModelAdmin):
    list_display = ["created_at", "extension", "employee", "phone", "contact", "call"]
    raw_id_fields = ["call", "employee", "contact", "company"]
