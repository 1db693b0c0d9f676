"""The one page outside /api/: outbound MMS pictures, fetched by the carrier by an unguessable
address while the message is fresh (SMS_PUBLIC_MEDIA_HOURS)."""

import datetime

from django.conf import settings
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

from toc.lib.files import stored_file_response
from toc.sms import selectors


def public_media(request: HttpRequest, token: str) -> HttpResponseBase:
    media = selectors.get_public_media(token)
    if media is None or not media.file:
        raise Http404("No such picture.")
    if media.message.created_at < timezone.now() - datetime.timedelta(hours=settings.SMS_PUBLIC_MEDIA_HOURS):
        raise Http404("This picture's address has expired.")
    return stored_file_response(request, str(media.file.name), content_type=media.content_type)
