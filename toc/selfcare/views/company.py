"""Self Care pages for company administrators: Users, Numbers and Call settings.

The rules (who may, what is valid, what is audited) live in `toc.accounts.administration`;
these views parse the forms, call it and render. Every form works as a plain POST (redirect
and a message after a change) and, with htmx, swaps only its own card (a 422 keeps the values
with the errors next to their fields). Another organisation's user is a 404.
"""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from toc.accounts import administration, selectors
from toc.accounts.models import LicenceTier, User
from toc.selfcare.access import admin_page, is_htmx, member_of
from toc.selfcare.views import common
from toc.selfcare.views.common import errors_of, organisation_of

USER_TEXT_FIELDS = ("email", "first_name", "last_name", "extension", "direct_number", "licence_tier")
CALL_SETTING_FIELDS = ("ring_timeout_seconds", "park_first_slot", "park_slot_count", "park_timeout_seconds")
DIGITS = "1234567890"


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
    members = selectors.list_members(organisation=organisation_of(request))
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
        return _user_form(request, edited=None, values=values, errors=errors_of(error), status=422)
    return common.done(request, f"{created.display_name} was added.", reverse("selfcare:admin_users"))


def _member(request: HttpRequest, user_id: int) -> User:
    try:
        return selectors.get_organisation_user(organisation=organisation_of(request), user_id=user_id)
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
        return _user_form(request, edited=edited, values=values, errors=errors_of(error), status=422)
    if saved.pk == request.user.pk and request.POST.get("password"):
        update_session_auth_hash(request, saved)  # a new password of their own keeps them signed in
    if is_htmx(request):
        return _user_form(request, edited=saved, values=_user_values(saved), errors={}, saved=True)
    return common.done(request, f"{saved.display_name} was saved.", reverse("selfcare:admin_user_edit", args=[user_id]))


def _change_status(request: HttpRequest, user_id: int, *, enable: bool) -> HttpResponseBase:
    edited = _member(request, user_id)
    change = administration.enable_user if enable else administration.disable_user
    url = reverse("selfcare:admin_user_edit", args=[user_id])
    try:
        edited = change(admin=member_of(request), user_id=user_id)
    except ValidationError as error:
        message = " ".join(errors_of(error).values())
        if is_htmx(request):
            context = {"edited": edited, "status_error": message}
            return render(request, "selfcare/admin/_user_status.html", context, status=422)
        messages.error(request, message)
        return redirect(url)
    done = f"{edited.display_name} can {'sign in again' if enable else 'no longer sign in'}."
    if is_htmx(request):
        return render(request, "selfcare/admin/_user_status.html", {"edited": edited, "status_done": done})
    return common.done(request, done, url)


@admin_page
@require_POST
def user_voicemail_pin(request: HttpRequest, user_id: int) -> HttpResponseBase:
    edited = _member(request, user_id)
    url = reverse("selfcare:admin_user_edit", args=[user_id])
    try:
        administration.reset_voicemail_pin(admin=member_of(request), user_id=user_id, pin=request.POST.get("pin", ""))
    except ValidationError as error:
        context = {"edited": edited, "pin_error": " ".join(errors_of(error).values())}
        template = "selfcare/admin/_voicemail_pin.html" if is_htmx(request) else "selfcare/admin/user_form.html"
        if not is_htmx(request):
            context.update(_user_form_context(edited, _user_values(edited), {}))
        return render(request, template, context, status=422)
    done = f"{edited.display_name}'s voicemail PIN was reset."
    if is_htmx(request):
        return render(request, "selfcare/admin/_voicemail_pin.html", {"edited": edited, "pin_done": done})
    return common.done(request, done, url)


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
    organisation = organisation_of(request)
    value, errors, saved, status = organisation.main_number, {}, False, 200
    if request.method == "POST":
        value = request.POST.get("main_number", "").strip()
        try:
            organisation = administration.set_main_number(admin=member_of(request), main_number=value)
        except ValidationError as error:
            errors, status = errors_of(error), 422
        else:
            if not is_htmx(request):
                return common.done(request, "The main number was saved.", reverse("selfcare:admin_numbers"))
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
    organisation = organisation_of(request)
    values = {name: str(value) for name, value in administration.call_settings_of(organisation).__dict__.items()}
    errors, saved, status = {}, False, 200
    if request.method == "POST":
        values = {name: request.POST.get(name, "").strip() for name in CALL_SETTING_FIELDS}
        try:
            administration.update_call_settings(admin=member_of(request), settings=_parsed_call_settings(values))
        except ValidationError as error:
            errors, status = errors_of(error), 422
        else:
            if not is_htmx(request):
                return common.done(request, "Call settings saved.", reverse("selfcare:admin_call_settings"))
            saved = True
    context = {"section": "admin_call_settings", "values": values, "errors": errors, "saved": saved}
    template = "selfcare/admin/_call_settings_form.html" if is_htmx(request) else "selfcare/admin/call_settings.html"
    return render(request, template, context, status=status)


urlpatterns: list[URLPattern] = [
    path("admin/users/", users, name="admin_users"),
    path("admin/users/new/", user_create, name="admin_user_create"),
    path("admin/users/<int:user_id>/", user_edit, name="admin_user_edit"),
    path("admin/users/<int:user_id>/disable/", user_disable, name="admin_user_disable"),
    path("admin/users/<int:user_id>/enable/", user_enable, name="admin_user_enable"),
    path("admin/users/<int:user_id>/voicemail-pin/", user_voicemail_pin, name="admin_user_voicemail_pin"),
    path("admin/numbers/", numbers, name="admin_numbers"),
    path("admin/call-settings/", call_settings, name="admin_call_settings"),
]
