"""Self Care pages for company administrators: Users, Numbers, Call settings, Conference rooms
and the Audit log; and Company greetings, for admins and greetings managers.

The rules (who may, what is valid, what is audited) live in `toc.accounts.administration`;
these views parse the forms, call it and render. Every form works as a plain POST (redirect
and a message after a change) and, with htmx, swaps only its own card (a 422 keeps the values
with the errors next to their fields). Another organisation's user or room is a 404.
"""

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from toc.accounts import administration, audit, selectors
from toc.accounts.models import AuditEntry, LicenceTier, Organisation, User
from toc.calls import selectors as call_selectors
from toc.calls.models import ConferenceRoom
from toc.calls.services import rooms
from toc.selfcare.access import admin_page, greetings_page, is_htmx, member_of
from toc.voicemail import company

USER_TEXT_FIELDS = ("email", "first_name", "last_name", "extension", "direct_number", "licence_tier")
CALL_SETTING_FIELDS = ("ring_timeout_seconds", "park_first_slot", "park_slot_count", "park_timeout_seconds")
DIGITS = "1234567890"


def _errors_of(error: ValidationError) -> dict[str, str]:
    return {name: " ".join(texts) for name, texts in error.message_dict.items()}


def _organisation_of(request: HttpRequest) -> Organisation:
    organisation = member_of(request).organisation
    assert organisation is not None
    return organisation


def _done(request: HttpRequest, message: str, url: str) -> HttpResponseBase:
    """After a change without htmx (or one that needs the whole page): the page, with a message."""
    messages.success(request, message)
    return HttpResponseClientRedirect(url) if is_htmx(request) else redirect(url)


# --- users ----------------------------------------------------------------------------------------


def _user_values(user: User | None) -> dict[str, object]:
    if user is None:
        return {"licence_tier": LicenceTier.STARTER, "is_org_admin": False, "is_greetings_manager": False}
    return {
        **{name: getattr(user, name) for name in USER_TEXT_FIELDS},
        "is_org_admin": user.is_org_admin,
        "is_greetings_manager": user.is_greetings_manager,
    }


def _user_values_from_post(data: QueryDict) -> dict[str, object]:
    return {
        **{name: data.get(name, "").strip() for name in USER_TEXT_FIELDS},
        "is_org_admin": data.get("is_org_admin") == "on",
        "is_greetings_manager": data.get("is_greetings_manager") == "on",
    }


def _user_fields(values: dict[str, object], password: str) -> administration.UserFields:
    return administration.UserFields(
        email=str(values["email"]),
        first_name=str(values["first_name"]),
        last_name=str(values["last_name"]),
        extension=str(values["extension"]),
        direct_number=str(values["direct_number"]),
        licence_tier=str(values["licence_tier"]),
        is_org_admin=bool(values["is_org_admin"]),
        is_greetings_manager=bool(values["is_greetings_manager"]),
        password=password or None,
    )


def _user_form_context(edited: User | None, values: dict[str, object], errors: dict[str, str]) -> dict[str, object]:
    return {
        "section": "admin_users",
        "edited": edited,
        "values": values,
        "errors": errors,
        "licence_tiers": LicenceTier.choices,
    }


def _user_form(
    request: HttpRequest,
    *,
    edited: User | None,
    values: dict[str, object],
    errors: dict[str, str],
    status: int = 200,
    saved: bool = False,
) -> HttpResponse:
    context = {**_user_form_context(edited, values, errors), "saved": saved}
    template = "selfcare/admin/_user_form.html" if is_htmx(request) else "selfcare/admin/user_form.html"
    return render(request, template, context, status=status)


@admin_page
def users(request: HttpRequest) -> HttpResponseBase:
    members = selectors.list_members(organisation=_organisation_of(request))
    return render(request, "selfcare/admin/users.html", {"section": "admin_users", "members": members})


@admin_page
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponseBase:
    if request.method == "GET":
        return _user_form(request, edited=None, values=_user_values(None), errors={})
    values = _user_values_from_post(request.POST)
    try:
        created = administration.create_user(
            admin=member_of(request), fields=_user_fields(values, request.POST.get("password", ""))
        )
    except ValidationError as error:
        return _user_form(request, edited=None, values=values, errors=_errors_of(error), status=422)
    return _done(request, f"{created.display_name} was added.", reverse("selfcare:admin_users"))


def _member(request: HttpRequest, user_id: int) -> User:
    try:
        return selectors.get_organisation_user(organisation=_organisation_of(request), user_id=user_id)
    except ObjectDoesNotExist as error:
        raise Http404(str(error)) from error


@admin_page
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, user_id: int) -> HttpResponseBase:
    edited = _member(request, user_id)
    if request.method == "GET":
        return _user_form(request, edited=edited, values=_user_values(edited), errors={})
    values = _user_values_from_post(request.POST)
    try:
        saved = administration.update_user(
            admin=member_of(request), user_id=user_id, fields=_user_fields(values, request.POST.get("password", ""))
        )
    except ValidationError as error:
        return _user_form(request, edited=edited, values=values, errors=_errors_of(error), status=422)
    if saved.pk == request.user.pk and request.POST.get("password"):
        update_session_auth_hash(request, saved)  # a new password of their own keeps them signed in
    if is_htmx(request):
        return _user_form(request, edited=saved, values=_user_values(saved), errors={}, saved=True)
    return _done(request, f"{saved.display_name} was saved.", reverse("selfcare:admin_user_edit", args=[user_id]))


def _change_status(request: HttpRequest, user_id: int, *, enable: bool) -> HttpResponseBase:
    edited = _member(request, user_id)
    change = administration.enable_user if enable else administration.disable_user
    url = reverse("selfcare:admin_user_edit", args=[user_id])
    try:
        edited = change(admin=member_of(request), user_id=user_id)
    except ValidationError as error:
        message = " ".join(_errors_of(error).values())
        if is_htmx(request):
            context = {"edited": edited, "status_error": message}
            return render(request, "selfcare/admin/_user_status.html", context, status=422)
        messages.error(request, message)
        return redirect(url)
    done = f"{edited.display_name} can {'sign in again' if enable else 'no longer sign in'}."
    if is_htmx(request):
        return render(request, "selfcare/admin/_user_status.html", {"edited": edited, "status_done": done})
    return _done(request, done, url)


@admin_page
@require_POST
def user_voicemail_pin(request: HttpRequest, user_id: int) -> HttpResponseBase:
    edited = _member(request, user_id)
    url = reverse("selfcare:admin_user_edit", args=[user_id])
    try:
        administration.reset_voicemail_pin(admin=member_of(request), user_id=user_id, pin=request.POST.get("pin", ""))
    except ValidationError as error:
        context = {"edited": edited, "pin_error": " ".join(_errors_of(error).values())}
        template = "selfcare/admin/_voicemail_pin.html" if is_htmx(request) else "selfcare/admin/user_form.html"
        if not is_htmx(request):
            context.update(_user_form_context(edited, _user_values(edited), {}))
        return render(request, template, context, status=422)
    done = f"{edited.display_name}'s voicemail PIN was reset."
    if is_htmx(request):
        return render(request, "selfcare/admin/_voicemail_pin.html", {"edited": edited, "pin_done": done})
    return _done(request, done, url)


@admin_page
@require_POST
def user_disable(request: HttpRequest, user_id: int) -> HttpResponseBase:
    return _change_status(request, user_id, enable=False)


@admin_page
@require_POST
def user_enable(request: HttpRequest, user_id: int) -> HttpResponseBase:
    return _change_status(request, user_id, enable=True)


# --- numbers ----------------------------------------------------------------------------------------


@admin_page
@require_http_methods(["GET", "POST"])
def numbers(request: HttpRequest) -> HttpResponseBase:
    organisation = _organisation_of(request)
    value, errors, saved, status = organisation.main_number, {}, False, 200
    if request.method == "POST":
        value = request.POST.get("main_number", "").strip()
        try:
            organisation = administration.set_main_number(admin=member_of(request), main_number=value)
        except ValidationError as error:
            errors, status = _errors_of(error), 422
        else:
            if not is_htmx(request):
                return _done(request, "The main number was saved.", reverse("selfcare:admin_numbers"))
            value, saved = organisation.main_number, True
    context = {
        "section": "admin_numbers",
        "numbers": selectors.list_numbers(organisation=organisation),
        "value": value,
        "errors": errors,
        "saved": saved,
    }
    template = "selfcare/admin/_numbers.html" if is_htmx(request) else "selfcare/admin/numbers.html"
    return render(request, template, context, status=status)


# --- call settings --------------------------------------------------------------------------------


def _parsed_call_settings(values: dict[str, str]) -> administration.CallSettings:
    errors, numbers = {}, {}
    for name in CALL_SETTING_FIELDS:
        text = values[name]
        if not text.isdigit() or len(text) > 5:
            errors[name] = ["Enter a whole number."]
        else:
            numbers[name] = int(text)
    if errors:
        raise ValidationError(errors)
    return administration.CallSettings(**numbers)


@admin_page
@require_http_methods(["GET", "POST"])
def call_settings(request: HttpRequest) -> HttpResponseBase:
    organisation = _organisation_of(request)
    values = {name: str(value) for name, value in administration.call_settings_of(organisation).__dict__.items()}
    errors, saved, status = {}, False, 200
    if request.method == "POST":
        values = {name: request.POST.get(name, "").strip() for name in CALL_SETTING_FIELDS}
        try:
            administration.update_call_settings(admin=member_of(request), settings=_parsed_call_settings(values))
        except ValidationError as error:
            errors, status = _errors_of(error), 422
        else:
            if not is_htmx(request):
                return _done(request, "Call settings saved.", reverse("selfcare:admin_call_settings"))
            saved = True
    context = {"section": "admin_call_settings", "values": values, "errors": errors, "saved": saved}
    template = "selfcare/admin/_call_settings_form.html" if is_htmx(request) else "selfcare/admin/call_settings.html"
    return render(request, template, context, status=status)


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
    live = rooms.live_room_ids(organisation_id=_organisation_of(request).pk)
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
        room = administration.create_conference_room(admin=member_of(request), **values)
    except ValidationError as error:
        return _rooms_response(request, new_values=values, new_errors=_errors_of(error), status=422)
    done = f"{room} was created."
    if not is_htmx(request):
        return _done(request, done, reverse("selfcare:admin_rooms"))
    return _rooms_response(request, done=done)


def _room_change(request: HttpRequest, room_id: int, *, name: str | None, change: str) -> HttpResponseBase:
    admin = member_of(request)
    try:
        if change == "rename":
            room = administration.rename_conference_room(admin=admin, room_id=room_id, name=name or "")
            done = f"Renamed to {room.name}."
        elif change == "pin":
            pin = request.POST.get("pin", "").strip()
            room = administration.set_conference_room_pin(admin=admin, room_id=room_id, pin=pin)
            done = "PIN set." if pin else "PIN removed: anyone in the company can join."
        else:
            administration.delete_conference_room(admin=admin, room_id=room_id)
            done = "The room was deleted."
    except ObjectDoesNotExist as error:
        raise Http404(str(error)) from error
    except ValidationError as error:
        return _rooms_response(request, touched=room_id, name=name, errors=_errors_of(error), status=422)
    if not is_htmx(request):
        return _done(request, done, reverse("selfcare:admin_rooms"))
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
    organisation = _organisation_of(request)
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
            administration.set_greeting_choices(user=user, options={d: e for d, e in choices.items() if e})
            done = "The choices were saved."
        elif change == "upload":
            upload = request.FILES.get("file")
            if upload is None:
                raise ValidationError({"file": "Choose an audio file to upload."})
            administration.upload_greeting(user=user, upload=upload)
            done = "The new greeting was uploaded: callers hear it now."
        else:
            administration.remove_greeting(user=user)
            done = "Callers now hear the default greeting made from the choices."
    except PermissionDenied as error:
        return _greeting_response(request, errors={"all": str(error)}, status=403)
    except ValidationError as error:
        return _greeting_response(request, choices=choices, errors=_errors_of(error), status=422)
    if not is_htmx(request):
        return _done(request, done, reverse("selfcare:admin_greetings"))
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
    organisation = _organisation_of(request)
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
    path("admin/users/", users, name="admin_users"),
    path("admin/users/new/", user_create, name="admin_user_create"),
    path("admin/users/<int:user_id>/", user_edit, name="admin_user_edit"),
    path("admin/users/<int:user_id>/disable/", user_disable, name="admin_user_disable"),
    path("admin/users/<int:user_id>/enable/", user_enable, name="admin_user_enable"),
    path("admin/users/<int:user_id>/voicemail-pin/", user_voicemail_pin, name="admin_user_voicemail_pin"),
    path("admin/numbers/", numbers, name="admin_numbers"),
    path("admin/call-settings/", call_settings, name="admin_call_settings"),
    path("admin/rooms/", rooms_page, name="admin_rooms"),
    path("admin/rooms/<int:room_id>/rename/", room_rename, name="admin_room_rename"),
    path("admin/rooms/<int:room_id>/pin/", room_pin, name="admin_room_pin"),
    path("admin/rooms/<int:room_id>/delete/", room_delete, name="admin_room_delete"),
    path("admin/greetings/", greetings, name="admin_greetings"),
    path("admin/greetings/upload/", greeting_upload, name="admin_greeting_upload"),
    path("admin/greetings/remove/", greeting_remove, name="admin_greeting_remove"),
    path("admin/audit/", audit_log, name="admin_audit"),
]
