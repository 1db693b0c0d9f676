"""Who may open a Self Care page: signed-in members of an organisation; admin pages only for
the organisation's admins (company greetings also for greetings managers).

A visitor who is not signed in goes to the sign-in page and comes back; a member who may not
open a page gets 403 with a sentence saying why. Objects are always loaded within the
member's own organisation, so another organisation's id is a 404.
"""

from collections.abc import Callable
from functools import wraps
from typing import TypeVar
from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse

from toc.accounts.models import User

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def signed_in_member(request: HttpRequest) -> User | None:
    user = request.user
    if isinstance(user, User) and user.is_authenticated and user.is_active and user.organisation_id is not None:
        return user
    return None


def _to_sign_in(request: HttpRequest) -> HttpResponseBase:
    """To the sign-in, then back. A form sent after the session ended comes back to the page
    it was on (a form's address only takes posts); htmx is told to load the sign-in as a page
    rather than swapping it into a card."""
    back = request.get_full_path() if request.method == "GET" else _page_of(request)
    url = f"{reverse('accounts:login_method')}?{urlencode({'next': back})}"
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _page_of(request: HttpRequest) -> str:
    """The portal page a form was sent from (htmx says; else the portal's home)."""
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    if current.path.startswith("/selfcare/") and current.netloc in ("", request.get_host()):
        return current.path
    return reverse("selfcare:home")


def refused(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "selfcare/refused.html", {"message": message}, status=403)


def member_page(view: View) -> View:
    """The page needs a signed-in member; `request.user` is then that member."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if signed_in_member(request) is None:
            return _to_sign_in(request)
        return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def admin_page(view: View) -> View:
    """The page needs an admin of the member's organisation."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        user = signed_in_member(request)
        if user is None:
            return _to_sign_in(request)
        if not user.is_org_admin:
            return refused(request, "Only your company's administrators can open this page.")
        return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def greetings_page(view: View) -> View:
    """The page needs an admin or a greetings manager of the member's organisation."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        user = signed_in_member(request)
        if user is None:
            return _to_sign_in(request)
        if not (user.is_org_admin or user.is_greetings_manager):
            return refused(request, "Only administrators and greetings managers can open this page.")
        return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def member_of(request: HttpRequest) -> User:
    """The member a decorated view serves."""
    user = signed_in_member(request)
    assert user is not None, "use member_page, admin_page or greetings_page"
    return user


def is_htmx(request: HttpRequest) -> bool:
    """Whether htmx sent the request (it then gets a partial, not the whole page)."""
    return bool(getattr(request, "htmx", False))
