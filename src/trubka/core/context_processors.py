from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import pgettext


def embedding(request: HttpRequest) -> dict[str, Any]:
    """``embedded``: the page is shown inside the call side panel (``?embed=1``).
    ``live_labels``: the words the live-call popups use, in the page's language."""
    return {
        "embedded": request.GET.get("embed") == "1",
        "live_labels": {
            "incoming": _("Incoming call"),
            "ringing": _("Ringing"),
            "answered": _("Talking"),
            "ended": _("Call ended"),
            "missed": pgettext("state of a call", "Missed"),
            "new_client": _("New client"),
            "fill_in": _("Fill in the client"),
            "no_open_tickets": _("No open tickets"),
            "new_ticket": _("New ticket"),
            "open_card": _("Open the card"),
            "ticket": _("Ticket"),
            "close": _("Close"),
        },
    }
