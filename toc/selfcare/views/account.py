"""Self Care pages of a user's own account: Voicemail (greeting in use, recorded greetings,
PIN, voicemail to e-mail) and Devices (signed-in sessions, mobile number).

Every form works as a plain POST (redirect and a message after a change) and, with htmx, swaps
only its own card. A refusal (VoicemailError, ValidationError) is shown next to its field with
status 422 and changes nothing. The rules live in the services: `toc.voicemail.services` and
`toc.accounts.profile`.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from toc.accounts import profile
from toc.accounts.models import CallingDevice, User
from toc.lib.phone import format_for_display
from toc.lib.useragent import device_label
from toc.selfcare.access import is_htmx, member_of, member_page
from toc.voicemail import services as voicemail
from toc.voicemail.models import GreetingChoice, Mailbox
from toc.voicemail.services import VoicemailError

GREETING_KINDS = {"unavailable": "Unavailable", "busy": "Busy"}

# --- Voicemail ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedGreeting:
    kind: str
    label: str
    audio_url: str  # "" when not recorded: callers hear the default greeting
    error: str = ""  # why the last file uploaded for it was refused


def _greetings(user: User, mailbox: Mailbox, errors: dict[str, str]) -> list[RecordedGreeting]:
    return [
        RecordedGreeting(
            kind,
            label,
            reverse("api:voicemail-greeting", args=[user.pk, kind])
            if getattr(mailbox, voicemail.GREETING_FIELDS[kind])
            else "",
            errors.get(f"file_{kind}", ""),
        )
        for kind, label in GREETING_KINDS.items()
    ]


def _heard(mailbox: Mailbox, *, is_busy: bool) -> str:
    name = voicemail.greeting_in_use(mailbox, is_busy=is_busy)
    if not name:
        return "The default greeting"
    return "Your Busy greeting" if name == mailbox.busy_greeting.name else "Your Unavailable greeting"


def _voicemail_context(user: User, *, errors: dict[str, str] | None = None, done: str = "") -> dict[str, object]:
    mailbox = voicemail.get_mailbox(user=user)
    return {
        "section": "voicemail",
        "user": user,
        "mailbox": mailbox,
        "has_pin": bool(mailbox.pin_hash),
        "choices": GreetingChoice.choices,
        "greetings": _greetings(user, mailbox, errors or {}),
        "heard_unavailable": _heard(mailbox, is_busy=False),
        "heard_busy": _heard(mailbox, is_busy=True),
        "errors": errors or {},
        "done": done,
    }


def _voicemail_answer(
    request: HttpRequest, partial: str, done: str, errors: dict[str, str] | None = None
) -> HttpResponseBase:
    """The card again (htmx) or the page; after a change without htmx, a redirect and a message."""
    user = member_of(request)
    if errors:
        template = partial if is_htmx(request) else "selfcare/voicemail.html"
        return render(request, template, _voicemail_context(user, errors=errors), status=422)
    if is_htmx(request):
        return render(request, partial, _voicemail_context(user, done=done))
    messages.success(request, done)
    return redirect("selfcare:voicemail")


@member_page
@require_GET
def voicemail_page(request: HttpRequest) -> HttpResponse:
    return render(request, "selfcare/voicemail.html", _voicemail_context(member_of(request)))


@member_page
@require_POST
def voicemail_greeting(request: HttpRequest) -> HttpResponseBase:
    try:
        voicemail.update_settings(user=member_of(request), greeting_choice=request.POST.get("greeting_choice", ""))
    except VoicemailError as error:
        return _voicemail_answer(request, "selfcare/_voicemail_greeting.html", "", {"greeting_choice": error.message})
    return _voicemail_answer(request, "selfcare/_voicemail_greeting.html", "Greeting choice saved.")


@member_page
@require_POST
def voicemail_greeting_upload(request: HttpRequest) -> HttpResponseBase:
    kind = request.POST.get("kind", "")
    upload = request.FILES.get("file")
    partial = "selfcare/_voicemail_greeting.html"
    if kind not in GREETING_KINDS:
        raise Http404("There is no such greeting.")
    if upload is None:
        return _voicemail_answer(request, partial, "", {f"file_{kind}": "Choose an audio file."})
    try:
        voicemail.upload_greeting(user=member_of(request), kind=kind, upload=upload)
    except VoicemailError as error:
        return _voicemail_answer(request, partial, "", {f"file_{kind}": error.message})
    return _voicemail_answer(request, partial, f"{GREETING_KINDS[kind]} greeting uploaded.")


@member_page
@require_POST
def voicemail_greeting_delete(request: HttpRequest) -> HttpResponseBase:
    kind = request.POST.get("kind", "")
    if kind not in GREETING_KINDS:
        raise Http404("There is no such greeting.")
    voicemail.delete_greeting(user=member_of(request), kind=kind)
    done = f"{GREETING_KINDS[kind]} greeting removed: callers hear the default one instead."
    return _voicemail_answer(request, "selfcare/_voicemail_greeting.html", done)


@member_page
@require_POST
def voicemail_pin(request: HttpRequest) -> HttpResponseBase:
    pin = request.POST.get("pin", "").strip()
    again = request.POST.get("pin_again", "").strip()
    partial = "selfcare/_voicemail_pin.html"
    if pin and again != pin:
        return _voicemail_answer(request, partial, "", {"pin_again": "The two PINs are not the same."})
    try:
        voicemail.set_pin(user=member_of(request), pin=pin)
    except VoicemailError as error:
        return _voicemail_answer(request, partial, "", {"pin": error.message})
    return _voicemail_answer(request, partial, "Voicemail PIN changed.")


@member_page
@require_POST
def voicemail_email(request: HttpRequest) -> HttpResponseBase:
    is_enabled = request.POST.get("email_enabled") == "on"
    try:
        voicemail.update_settings(user=member_of(request), email_enabled=is_enabled)
    except VoicemailError as error:
        return _voicemail_answer(request, "selfcare/_voicemail_email.html", "", {"email_enabled": error.message})
    done = "New messages will be e-mailed to you." if is_enabled else "New messages will no longer be e-mailed."
    return _voicemail_answer(request, "selfcare/_voicemail_email.html", done)


# --- Devices --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    session: profile.SignedInSession
    is_current: bool
    label: str


def _session_rows(request: HttpRequest, user: User) -> list[SessionRow]:
    current = request.session.session_key or ""
    here = device_label(request.headers.get("User-Agent", ""))
    rows = []
    for session in profile.list_sessions(user=user):
        labels = sorted({client.label for client in session.clients if client.label})
        is_current = session.key == current
        label = ", ".join(labels) or session.device or (here if is_current else "Unknown device")
        rows.append(SessionRow(session, is_current, label))
    return sorted(rows, key=lambda row: not row.is_current)


def _devices_context(request: HttpRequest, **card: object) -> dict[str, object]:
    user = member_of(request)
    return {
        "section": "devices",
        "user": user,
        "rows": _session_rows(request, user),
        "token_clients": profile.list_token_clients(user=user),
        "mobile_number": user.mobile_number,
        "mobile_display": format_for_display(user.mobile_number),
        "uses_mobile": user.calling_device == CallingDevice.MOBILE,
        "errors": {},
        **card,
    }


@member_page
@require_GET
def devices_page(request: HttpRequest) -> HttpResponse:
    return render(request, "selfcare/devices.html", _devices_context(request))


@member_page
@require_POST
def devices_sign_out(request: HttpRequest, session_id: str) -> HttpResponseBase:
    """Sign one session out; the current one too (then it is the sign-in page's turn)."""
    user = member_of(request)
    try:
        session_key = profile.sign_out_session(user=user, session_id=session_id)
    except profile.SessionNotFoundError:
        if is_htmx(request):  # a list shown a while ago: show it as it is now
            context = _devices_context(request, done="That device had already signed out.")
            return render(request, "selfcare/_devices_sessions.html", context)
        raise Http404("That session is not one of yours, or it has ended.") from None
    is_current = session_key == request.session.session_key
    if is_current:
        logout(request)
        if is_htmx(request):
            return HttpResponse(status=204, headers={"HX-Redirect": reverse("accounts:login_method")})
        return redirect("accounts:login_method")
    done = "That device was signed out."
    if is_htmx(request):
        return render(request, "selfcare/_devices_sessions.html", _devices_context(request, done=done))
    messages.success(request, done)
    return redirect("selfcare:devices")


@member_page
@require_POST
def devices_mobile(request: HttpRequest) -> HttpResponseBase:
    user = member_of(request)
    number = request.POST.get("mobile_number", "")[:40]
    partial = "selfcare/_devices_mobile.html"
    try:
        profile.set_mobile_number(user=user, number=number)
    except ValidationError as error:
        problem = " ".join(" ".join(texts) for texts in error.message_dict.values())
        context = _devices_context(request, errors={"mobile_number": problem}, mobile_number=number)
        return render(request, partial if is_htmx(request) else "selfcare/devices.html", context, status=422)
    done = "Mobile number saved." if user.mobile_number else "Mobile number removed."
    if is_htmx(request):
        return render(request, partial, _devices_context(request, done=done))
    messages.success(request, done)
    return redirect("selfcare:devices")


urlpatterns: list[URLPattern] = [
    path("voicemail/", voicemail_page, name="voicemail"),
    path("voicemail/greeting/", voicemail_greeting, name="voicemail_greeting"),
    path("voicemail/greeting/upload/", voicemail_greeting_upload, name="voicemail_greeting_upload"),
    path("voicemail/greeting/remove/", voicemail_greeting_delete, name="voicemail_greeting_remove"),
    path("voicemail/pin/", voicemail_pin, name="voicemail_pin"),
    path("voicemail/email/", voicemail_email, name="voicemail_email"),
    path("devices/", devices_page, name="devices"),
    path("devices/sessions/<str:session_id>/sign-out/", devices_sign_out, name="devices_sign_out"),
    path("devices/mobile/", devices_mobile, name="devices_mobile"),
]
