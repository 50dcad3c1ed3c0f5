"""The request and response shapes of the issue endpoints, and their OpenAPI descriptions.

The endpoints themselves are in ``routers/issues.py``; the choices where Okdesk's documentation
is silent are described there.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, WithJsonSchema, field_validator

from trubka.okdesk_api.common import ERRORS, ErrorOut, Flexible
from trubka.tickets.models import Priority, Status, TicketType

MAX_PAGE_SIZE = 50  # Okdesk's maximum for issues/list [S6]
SORT_FIELDS = ("created_at", "updated_at")
PERIODS = ("created", "completed", "updated")


# Output shapes: what shapes.py renders, typed for the OpenAPI schema. Extra keys pass through
# so that a field added to shapes.py is not dropped here.


class PassThrough(Schema):
    model_config = ConfigDict(extra="allow")


class CodeName(PassThrough):
    code: str
    name: str


class IdName(PassThrough):
    id: int
    name: str


class Person(IdName):
    type: Literal["employee", "contact"] | None = None


class IssueTypeOut(PassThrough):
    id: int
    code: str
    name: str
    available_for_client: bool = True


class CommentsSummary(PassThrough):
    count: int
    last_at: str | None


class IssueOut(PassThrough):
    id: int
    title: str
    description: str
    created_at: str
    updated_at: str
    completed_at: str | None
    deadline_at: str | None
    delayed_to: str | None
    source: str
    company_id: int | None
    group_id: int | None
    type: IssueTypeOut
    priority: CodeName
    status: CodeName
    old_status: CodeName | None
    contact: IdName | None
    assignee: IdName | None
    author: Person | None
    observers: list[Any]
    comments: CommentsSummary
    parameters: list[Any]
    attachments: list[Any]
    parent_id: int | None
    child_ids: list[int]


class CommentOut(PassThrough):
    id: int
    content: str
    public: bool
    published_at: str | None
    author: Person | None
    attachments: list[Any]


class StatusOut(Schema):
    code: str
    name: str
    final: bool


class PriorityOut(Schema):
    code: str
    name: str


ONE_ISSUE: dict[int, Any] = {404: ErrorOut, 422: ErrorOut, **ERRORS}


# Input shapes.


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class AuthorIn(Flexible):
    id: int
    type: Literal["employee", "contact"] = "employee"

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        return _blank_to_none(value) or "employee"


_AUTHOR_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "type": {"type": "string", "enum": ["employee", "contact"], "default": "employee"},
            },
            "required": ["id"],
        },
        {"type": "null"},
    ]
}


class IssueIn(Flexible):
    title: str = Field(min_length=1, max_length=255)
    description: str | None = None
    company_id: int | None = None
    contact_id: int | None = None
    assignee_id: int | None = None
    type: Literal["question", "incident", "service"] | None = Field(
        default=None, description="issue type code; question when empty"
    )
    priority: Literal["low", "normal", "high"] | None = Field(
        default=None, description="priority code; normal when empty"
    )
    deadline_at: str | None = Field(
        default=None, description="YYYY-MM-DD HH:MM, account time zone; checked, not stored yet"
    )
    # Inlined: body_doc() copies the model's schema without its $defs, so a $ref would dangle.
    author: Annotated[AuthorIn | None, WithJsonSchema(_AUTHOR_SCHEMA)] = Field(
        default=None, description="Administrator keys only, for an employee other than the key's"
    )
    custom_parameters: dict[str, Any] | None = Field(default=None, description="ignored")

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator(
        "company_id", "contact_id", "assignee_id", "type", "priority", "deadline_at", mode="before"
    )
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_to_none(value)


class StatusChangeIn(Flexible):
    code: str = Field(min_length=1, description="the new status: " + ", ".join(Status.values))
    comment: str | None = None
    comment_public: bool | None = None
    delay_to: str | None = Field(default=None, description="ignored: Trubka has no «delayed»")


class CommentIn(Flexible):
    content: str = Field(min_length=1, description="HTML, stored as given")
    author_id: int | None = Field(
        default=None, description="required by Okdesk; the key's employee when missing"
    )
    author_type: Literal["employee", "contact"] = "employee"
    public: bool | None = Field(
        default=None, description="false by default; true by default for a contact author"
    )

    @field_validator("content", mode="before")
    @classmethod
    def _content(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("author_type", mode="before")
    @classmethod
    def _author_type(cls, value: Any) -> Any:
        return _blank_to_none(value) or "employee"

    @field_validator("author_id", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_to_none(value)


class AssigneeIn(Flexible):
    assignee_id: int | None = Field(description="the new assignee; null to clear")
    group_id: int | None = Field(default=None, description="ignored: Trubka has no groups")

    @field_validator("assignee_id", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_to_none(value)


# OpenAPI descriptions of the Rails-style query parameters, which Python names cannot spell.


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _ids(name: str, description: str) -> dict[str, Any]:
    item = {"type": "integer", "minimum": 0}
    return _query(name, {"type": "array", "items": item}, f"{description}; 0 = without")


def _codes(name: str, codes: list[str], description: str) -> dict[str, Any]:
    item = {"type": "string", "enum": codes}
    return _query(name, {"type": "array", "items": item}, description)


LIST_PARAMETERS: dict[str, Any] = {
    "parameters": [
        _codes("status_codes[]", Status.values, "status codes"),
        _codes("status[]", Status.values, "status codes (the name issues/count uses)"),
        _codes("status_codes_not[]", Status.values, "status codes to leave out (undocumented)"),
        _codes("priority_codes[]", Priority.values, "priority codes"),
        _codes("type_codes[]", TicketType.values, "type codes"),
        _ids("contact_ids[]", "contacts"),
        _ids("company_ids[]", "companies"),
        _ids("assignee_ids[]", "assignees"),
        _query(
            "page[number]",
            {"type": "integer", "minimum": 1, "default": 1},
            "page number, from 1",
        ),
        _query(
            "page[size]",
            {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": MAX_PAGE_SIZE},
            f"issues per page, at most {MAX_PAGE_SIZE}",
        ),
        _query(
            "sorting[field]",
            {"type": "string", "enum": list(SORT_FIELDS), "default": "created_at"},
            "sort by",
        ),
        _query(
            "sorting[direction]",
            {"type": "string", "enum": ["reverse", "forward"], "default": "reverse"},
            "reverse: newest first (default); forward: oldest first",
        ),
    ]
}

COUNT_PARAMETERS: dict[str, Any] = {
    "parameters": [
        _ids("assignee_ids[]", "assignees"),
        _ids("company_ids[]", "companies"),
        _ids("contact_ids[]", "contacts"),
        _ids("author_employee_ids[]", "employee authors"),
        _codes("status[]", Status.values, "status codes"),
        _codes("status_not[]", Status.values, "status codes to leave out"),
        _codes("priority[]", Priority.values, "priority codes"),
        _codes("type[]", TicketType.values, "type codes"),
    ]
}

_PERIOD_DOC = "DD-MM-YYYY or YYYY-MM-DD, optionally with HH:MM, in the account's time zone"


class Periods(Schema):
    """The date filters both id and detailed lists take; a date alone is a whole day."""

    created_since: str | None = Field(default=None, description=_PERIOD_DOC)
    created_until: str | None = Field(default=None, description=_PERIOD_DOC)
    completed_since: str | None = Field(default=None, description=_PERIOD_DOC)
    completed_until: str | None = Field(default=None, description=_PERIOD_DOC)
    updated_since: str | None = Field(default=None, description=_PERIOD_DOC)
    updated_until: str | None = Field(default=None, description=_PERIOD_DOC)
