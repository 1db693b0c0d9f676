"""Self Care pages for company administrators: Conference rooms and the Audit log; and Company
greetings, for admins and greetings managers. The rules live in `toc.calls.services.rooms`,
`toc.voicemail.company` and `toc.accounts.audit`; as in `company`, every form works with and
without htmx, and another organisation's room is a 404.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from toc.accounts import audit, selectors
from toc.accounts.models import AuditEntry
from toc.calls import selectors as call_selectors
from toc.calls.models import ConferenceRoom
from toc.calls.services import rooms
from toc.selfcare.access import admin_page, greetings_page, is_htmx, member_of
from toc.selfcare.views import common
from toc.selfcare.views.common import errors_of, organisation_of
from toc.voicemail import company

USER_TEXT_FIELDS = ("email", "first_name", "last_name", "extension", "direct_number", "licence_tier")
CALL_SETTING_FIELDS = ("ring_timeout_seconds", "park_first_slot", "park_slot_count", "park_timeout_seconds")
DIGITS = "1234567890"


# --- conference rooms -----------------------------------------------------------------------------


@dataclass
class RoomRow:
    room: ConferenceRoom
    is_live: bool
    name: str
    errors: dict[str, str] = field(default_factory=dict)
    done: str = ""


def _rooms_response(
    request: HttpRequest,
    *,
    touched: int | None = None,
    name: str | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
    new_values: dict[str, str] | None = None,
    new_errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The rooms page (or, for htmx, its panel); `touched` is the room a form was about."""
    user = member_of(request)
    live = rooms.live_room_ids(organisation_id=organisation_of(request).pk)
    rows = []
    for room in call_selectors.list_conference_rooms(user=user):
        row = RoomRow(room, room.pk in live, room.name)
        if room.pk == touched:
            row.name, row.errors, row.done = name if name is not None else room.name, errors or {}, done
        rows.append(row)
    context = {
        "section": "admin_rooms",
        "rows": rows,
        "new_values": new_values or {},
        "new_errors": new_errors or {},
        "panel_notice": done if touched is None else "",
    }
    template = "selfcare/admin/_rooms.html" if is_htmx(request) else "selfcare/admin/rooms.html"
    return render(request, template, context, status=status)


@admin_page
@require_http_methods(["GET", "POST"])
def rooms_page(request: HttpRequest) -> HttpResponseBase:
    if request.method == "GET":
        return _rooms_response(request)
    values = {name: request.POST.get(name, "").strip() for name in ("name", "extension", "pin")}
    try:
        room = rooms.create_conference_room(admin=member_of(request), **values)
    except ValidationError as error:
        return _rooms_response(request, new_values=values, new_errors=errors_of(error), status=422)
    done = f"{room} was created."
    if not is_htmx(request):
        return common.done(request, done, reverse("selfcare:admin_rooms"))
    return _rooms_response(request, done=done)


def _room_change(request: HttpRequest, room_id: int, *, name: str | None, change: str) -> HttpResponseBase:
    admin = member_of(request)
    try:
        if change == "rename":
            room = rooms.rename_conference_room(admin=admin, room_id=room_id, name=name or "")
            done = f"Renamed to {room.name}."
        elif change == "pin":
            pin = request.POST.get("pin", "").strip()
            room = rooms.set_conference_room_pin(admin=admin, room_id=room_id, pin=pin)
            done = "PIN set." if pin else "PIN removed: anyone in the company can join."
        else:
            rooms.delete_conference_room(admin=admin, room_id=room_id)
            done = "The room was deleted."
    except ObjectDoesNotExist as error:
        raise Http404(str(error)) from error
    except ValidationError as error:
        return _rooms_response(request, touched=room_id, name=name, errors=errors_of(error), status=422)
    if not is_htmx(request):
        return common.done(request, done, reverse("selfcare:admin_rooms"))
    return _rooms_response(request, touched=None if change == "delete" else room_id, done=done)


@admin_page
@require_POST
def room_rename(request: HttpRequest, room_id: int) -> HttpResponseBase:
    return _room_change(request, room_id, name=request.POST.get("name", ""), change="rename")


@admin_page
@require_POST
def room_pin(request: HttpRequest, room_id: int) -> HttpResponseBase:
    return _room_change(request, room_id, name=None, change="pin")


@admin_page
@require_POST
def room_delete(request: HttpRequest, room_id: int) -> HttpResponseBase:
    return _room_change(request, room_id, name=None, change="delete")


# --- the company greeting -------------------------------------------------------------------------


def _greeting_response(
    request: HttpRequest,
    *,
    choices: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
    status: int = 200,
) -> HttpResponse:
    user = member_of(request)
    organisation = organisation_of(request)
    greeting = company.greeting_of(organisation.pk)
    stored = {str(digit): str(extension) for digit, extension in greeting.options.items()}
    chosen = stored if choices is None else choices
    context = {
        "section": "admin_greetings",
        "greeting": greeting,
        "may_change": user.is_greetings_manager,
        "digits": [(digit, chosen.get(digit, "")) for digit in DIGITS],
        "extensions": selectors.list_organisation_users(organisation=organisation).exclude(extension=""),
        "errors": errors or {},
        "done": done,
    }
    template = "selfcare/admin/_greeting.html" if is_htmx(request) else "selfcare/admin/greetings.html"
    return render(request, template, context, status=status)


def _greeting_change(request: HttpRequest, change: str) -> HttpResponseBase:
    user = member_of(request)
    choices = None
    try:
        if change == "choices":
            choices = {digit: request.POST.get(f"digit-{digit}", "").strip() for digit in DIGITS}
            company.set_greeting_choices(user=user, options={d: e for d, e in choices.items() if e})
            done = "The choices were saved."
        elif change == "upload":
            upload = request.FILES.get("file")
            if upload is None:
                raise ValidationError({"file": "Choose an audio file to upload."})
            company.upload_greeting(user=user, upload=upload)
            done = "The new greeting was uploaded: callers hear it now."
        else:
            company.remove_greeting(user=user)
            done = "Callers now hear the default greeting made from the choices."
    except PermissionDenied as error:
        return _greeting_response(request, errors={"all": str(error)}, status=403)
    except ValidationError as error:
        return _greeting_response(request, choices=choices, errors=errors_of(error), status=422)
    if not is_htmx(request):
        return common.done(request, done, reverse("selfcare:admin_greetings"))
    return _greeting_response(request, done=done)


@greetings_page
@require_http_methods(["GET", "POST"])
def greetings(request: HttpRequest) -> HttpResponseBase:
    if request.method == "GET":
        return _greeting_response(request)
    return _greeting_change(request, "choices")


@greetings_page
@require_POST
def greeting_upload(request: HttpRequest) -> HttpResponseBase:
    return _greeting_change(request, "upload")


@greetings_page
@require_POST
def greeting_remove(request: HttpRequest) -> HttpResponseBase:
    return _greeting_change(request, "remove")


# --- the audit log --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    name: str
    before: str
    after: str


def _shown(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "—"
    return str(value)


ACTION_LABELS = {
    "user.created": "Added user",
    "user.updated": "Changed user",
    "user.disabled": "Disabled user",
    "user.enabled": "Enabled user",
    "user.voicemail_pin_reset": "Reset the voicemail PIN of",
    "organisation.main_number_changed": "Changed the main number of",
    "organisation.call_settings_changed": "Changed the call settings of",
    "room.created": "Created conference room",
    "room.renamed": "Renamed conference room",
    "room.pin_changed": "Changed the PIN of conference room",
    "room.deleted": "Deleted conference room",
    "greeting.choices_changed": "Changed the choices of the",
    "greeting.uploaded": "Uploaded the",
    "greeting.removed": "Removed the recorded",
}


def _changes_of(entry: AuditEntry) -> list[Change]:
    """The changed fields as shown: a field empty before and after (a blank on a new user) is left out."""
    changes = []
    for name, (old, new) in audit.changed_fields(entry.before, entry.after).items():
        shown_before, shown_after = _shown(old), _shown(new)
        if shown_before != shown_after:
            changes.append(Change(name.replace("_", " "), shown_before, shown_after))
    return changes


@admin_page
def audit_log(request: HttpRequest) -> HttpResponseBase:
    organisation = organisation_of(request)
    prefix = request.GET.get("action", "").strip()[:64]
    page_number = request.GET.get("page", "1")
    page = selectors.list_audit_entries(
        organisation=organisation, action_prefix=prefix, page=int(page_number) if page_number.isdigit() else 1
    )
    context = {
        "section": "admin_audit",
        "page": page,
        "rows": [(entry, ACTION_LABELS.get(entry.action, ""), _changes_of(entry)) for entry in page.object_list],
        "prefix": prefix,
        "families": selectors.list_audit_action_families(organisation=organisation),
        "time_zone": organisation.timezone,
    }
    template = "selfcare/admin/_audit_entries.html" if is_htmx(request) else "selfcare/admin/audit_log.html"
    return render(request, template, context)


urlpatterns: list[URLPattern] = [
    path("admin/rooms/", rooms_page, name="admin_rooms"),
    path("admin/rooms/<int:room_id>/rename/", room_rename, name="admin_room_rename"),
    path("admin/rooms/<int:room_id>/pin/", room_pin, name="admin_room_pin"),
    path("admin/rooms/<int:room_id>/delete/", room_delete, name="admin_room_delete"),
    path("admin/greetings/", greetings, name="admin_greetings"),
    path("admin/greetings/upload/", greeting_upload, name="admin_greeting_upload"),
    path("admin/greetings/remove/", greeting_remove, name="admin_greeting_remove"),
    path("admin/audit/", audit_log, name="admin_audit"),
]
