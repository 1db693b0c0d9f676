"""Server-rendered pages: the Profile Wizard (welcome, login method, password or SSO login,
Phones, Finish), sign-out, and the communicator shell the wizard leads to."""

from django.conf import settings
from django.contrib.auth import login, logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from toc.accounts import profile, selectors, services
from toc.accounts.models import CallingDevice, User
from toc.lib.useragent import device_label
from toc.presence import state as presence_state

KEEP_SIGNED_IN_SESSION_KEY = "toc_keep_signed_in"
DEVICE_SESSION_KEY = profile.DEVICE_SESSION_KEY
# Where to go after signing in (a page such as /selfcare/voicemail/ that sent the visitor to sign
# in): kept in the session from the sign-in pages through the Profile Wizard.
NEXT_SESSION_KEY = "toc_next"


def _signed_in_member(request: HttpRequest) -> User | None:
    user = request.user
    if isinstance(user, User) and user.is_authenticated and user.organisation_id is not None:
        return user
    return None


def _safe_next(request: HttpRequest, candidate: object) -> str:
    """`candidate` when it is a path on this site ("/selfcare/"), else ""."""
    if not isinstance(candidate, str) or not candidate.startswith("/") or candidate.startswith("//"):
        return ""
    if not url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}, require_https=False):
        return ""
    return candidate


def _next_of(request: HttpRequest) -> str:
    """The safe ?next= (or posted next) this sign-in page was given; an unsafe one is ignored.
    It travels in links and forms until a sign-in is sent, so a visit alone stores nothing."""
    return _safe_next(request, request.POST.get("next") or request.GET.get("next"))


def _remember_next(request: HttpRequest) -> None:
    """A sign-in was sent: keep its next for after the SSO round trip and the Profile Wizard."""
    wanted = _next_of(request)
    if wanted:
        request.session[NEXT_SESSION_KEY] = wanted


def _next_page_for(user: User, request: HttpRequest | None = None) -> str:
    """The wizard while the profile is not completed; then the page that sent the visitor to sign
    in, if any, else the communicator."""
    if not user.profile_completed_at:
        return reverse("accounts:wizard_phones")
    wanted = _safe_next(request, request.session.pop(NEXT_SESSION_KEY, "")) if request is not None else ""
    return wanted or reverse("accounts:communicator")


def start_session(request: HttpRequest, user: User, *, keep_signed_in: bool, backend: str) -> None:
    login(request, user, backend=backend)
    request.session.set_expiry(settings.SESSION_COOKIE_AGE if keep_signed_in else 0)
    # What Self Care > Devices shows for this sign-in when no window of it is open.
    request.session[DEVICE_SESSION_KEY] = device_label(request.headers.get("User-Agent", ""))


def welcome(request: HttpRequest) -> HttpResponseBase:
    user = _signed_in_member(request)
    if user is not None:
        return redirect(_next_page_for(user))
    return render(request, "accounts/welcome.html", {"step": 1})


def login_method(request: HttpRequest) -> HttpResponseBase:
    user = _signed_in_member(request)
    if user is not None:
        return redirect(_next_of(request) if user.profile_completed_at and _next_of(request) else _next_page_for(user))
    return render(request, "accounts/login_method.html", {"step": 2, "next": _next_of(request)})


@require_http_methods(["GET", "POST"])
def password_login(request: HttpRequest) -> HttpResponseBase:
    context: dict[str, object] = {"step": 2, "email": "", "keep_signed_in": True, "next": _next_of(request)}
    if request.method == "POST":
        email = request.POST.get("email", "")[:254]
        keep = request.POST.get("keep_signed_in") == "on"
        result = services.login_with_password(
            request=request,
            email=email,
            password=request.POST.get("password", "")[:256],
            client_address=request.META.get("REMOTE_ADDR", ""),
        )
        if result.user is not None:
            start_session(
                request, result.user, keep_signed_in=keep, backend="django.contrib.auth.backends.ModelBackend"
            )
            _remember_next(request)
            return redirect(_next_page_for(result.user, request))
        context.update(email=email, keep_signed_in=keep, error=result.error)
        status = 429 if result.retry_after_seconds else 400
        return render(request, "accounts/password_login.html", context, status=status)
    return render(request, "accounts/password_login.html", context)


@require_http_methods(["GET", "POST"])
def sso_login(request: HttpRequest) -> HttpResponseBase:
    # The desktop app opens this page with ?domain= when it found the company from an SSO domain.
    context: dict[str, object] = {
        "step": 2,
        "domain": request.GET.get("domain", "")[:253],
        "keep_signed_in": True,
        "next": _next_of(request),
    }
    if request.method == "POST":
        _remember_next(request)  # for after the identity provider's round trip
        domain = request.POST.get("domain", "")[:253]
        keep = request.POST.get("keep_signed_in") == "on"
        context.update(domain=domain, keep_signed_in=keep)
        try:
            organisation = selectors.get_organisation_for_sso_domain(domain=domain)
            provider_id = selectors.get_sso_provider_id(organisation=organisation)
        except ValidationError as error:
            context["error"] = " ".join(message for messages in error.message_dict.values() for message in messages)
            return render(request, "accounts/sso_login.html", context, status=400)
        request.session[KEEP_SIGNED_IN_SESSION_KEY] = keep
        return render(
            request,
            "accounts/sso_continue.html",
            {"step": 2, "organisation": organisation, "login_url": reverse("openid_connect_login", args=[provider_id])},
        )
    return render(request, "accounts/sso_login.html", context)


@require_http_methods(["GET", "POST"])
def wizard_phones(request: HttpRequest) -> HttpResponseBase:
    user = _signed_in_member(request)
    if user is None:
        return redirect("accounts:welcome")
    context: dict[str, object] = {
        "step": 3,
        "devices": CallingDevice.choices,
        "calling_device": user.calling_device,
        "mobile_number": user.mobile_number,
    }
    if request.method == "POST":
        device = request.POST.get("calling_device", "")
        mobile = request.POST.get("mobile_number", "")[:40]
        try:
            services.update_preferences(user=user, calling_device=device, mobile_number=mobile)
        except ValidationError as error:
            context.update(calling_device=device, mobile_number=mobile, errors=error.message_dict)
            return render(request, "accounts/wizard_phones.html", context, status=400)
        return redirect("accounts:wizard_finish")
    return render(request, "accounts/wizard_phones.html", context)


@require_http_methods(["GET", "POST"])
def wizard_finish(request: HttpRequest) -> HttpResponseBase:
    user = _signed_in_member(request)
    if user is None:
        return redirect("accounts:welcome")
    if request.method == "POST":
        services.complete_profile(user=user, calling_device=user.calling_device, mobile_number=user.mobile_number)
        return redirect(_next_page_for(user, request))
    return render(request, "accounts/wizard_finish.html", {"step": 4, "user": user})


def after_login(request: HttpRequest) -> HttpResponseBase:
    """Where every login lands (password or SSO): on to the wizard or the communicator."""
    user = _signed_in_member(request)
    if user is None:
        return redirect("accounts:welcome")
    keep = request.session.pop(KEEP_SIGNED_IN_SESSION_KEY, True)
    request.session.set_expiry(settings.SESSION_COOKIE_AGE if keep else 0)
    request.session.setdefault(DEVICE_SESSION_KEY, device_label(request.headers.get("User-Agent", "")))
    return redirect(_next_page_for(user, request))


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    user = _signed_in_member(request)
    session_key = request.session.session_key
    logout(request)
    if user is not None and session_key:
        services.end_session(user=user, session_key=session_key)
    return redirect("accounts:login_method")


def communicator(request: HttpRequest) -> HttpResponseBase:
    user = _signed_in_member(request)
    if user is None:
        return redirect("accounts:welcome")
    if user.profile_completed_at is None:
        return redirect("accounts:wizard_phones")
    return render(
        request,
        "communicator.html",
        {
            "statuses": [(status.value, presence_state.LABELS[status]) for status in presence_state.Status],
            "durations": [
                (duration.value, presence_state.DURATION_LABELS[duration]) for duration in presence_state.Duration
            ],
            "devices": CallingDevice.choices,
        },
    )
