from django.contrib import admin

from trubka.connector.models import CallEvent, Integration


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["provider", "account_id", "name", "target", "enabled_at", "key_checked_at"]
    list_filter = ["target"]
    search_fields = ["account_id", "name"]
    # The keys and the token never show in the admin: they are managed on /okdesk/.
    exclude = ["uis_api_key", "okdesk_api_key", "webhook_token", "webhook_token_digest"]
    readonly_fields = ["uuid", "key_checked_at", "created_at", "updated_at"]


@admin.register(CallEvent)
class CallEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "integration", "action", "call_id", "status", "attempts"]
    list_filter = ["status", "action"]
    search_fields = ["call_id"]
    readonly_fields = [f.name for f in CallEvent._meta.fields]
