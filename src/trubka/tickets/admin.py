from django.contrib import admin

from trubka.tickets.models import Ticket, TicketComment


class CommentInline(admin.StackedInline):
    model = TicketComment
    extra = 0
    raw_id_fields = ["author", "author_contact"]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "status", "priority", "source", "assignee", "created_at"]
    list_filter = ["status", "priority", "source", "type"]
    search_fields = ["search_text"]
    raw_id_fields = ["contact", "company", "assignee", "author"]
    inlines = [CommentInline]


@admin.register(TicketComment)
class TicketCommentAdmin(admin.ModelAdmin):
    list_display = ["ticket", "author", "public", "created_at"]
    raw_id_fields = ["ticket", "author", "author_contact"]
