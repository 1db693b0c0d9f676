"""What the Self Care admin pages share: field errors, the admin's organisation, and the
answer after a change (a message and the page again, or htmx's client redirect)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect

from toc.accounts.models import Organisation
from toc.selfcare.access import is_htmx, member_of


def errors_of(error: ValidationError) -> dict[str, str]:
    return {name: " ".join(texts) for name, texts in error.message_dict.items()}


def organisation_of(request: HttpRequest) -> Organisation:
    organisation = member_of(request).organisation
    assert organisation is not None
    return organisation


def done(request: HttpRequest, message: str, url: str) -> HttpResponseBase:
    """After a change without htmx (or one that needs the whole page): the page, with a message."""
    messages.success(request, message)
    return HttpResponseClientRedirect(url) if is_htmx(request) else redirect(url)
