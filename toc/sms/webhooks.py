"""Twilio's webhooks: inbound messages and status callbacks. Each request must carry a valid
X-Twilio-Signature for the public URL Twilio called (PUBLIC_URL + the path and query), or it
gets 403 and nothing is stored. Answers are quick: pictures are downloaded later by a task."""

import logging
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from toc.sms import services
from toc.sms.backends import get_backend
from toc.sms.backends.twilio import describe_error, handover_status

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _signed_params(request: HttpRequest) -> dict[str, str] | None:
    params = request.POST.dict()
    url = settings.PUBLIC_URL + request.get_full_path()
    signature = request.headers.get("X-Twilio-Signature", "")
    if not get_backend().is_signed(url=url, params=params, signature=signature):
        logger.warning("twilio webhook %s: signature not valid; refused", request.path)
        return None
    return params


def _twiml() -> HttpResponse:
    response = HttpResponse(EMPTY_TWIML, content_type="text/xml")
    patch_cache_control(response, no_store=True)
    return response


@csrf_exempt
@require_POST
def inbound(request: HttpRequest) -> HttpResponse:
    params = _signed_params(request)
    if params is None:
        return HttpResponseForbidden("The request's X-Twilio-Signature is not valid.")
    count = _media_count(params)
    media = [
        services.IncomingMedia(
            url=params.get(f"MediaUrl{index}", ""), content_type=params.get(f"MediaContentType{index}", "")
        )
        for index in range(count)
        if params.get(f"MediaUrl{index}")
    ]
    services.receive_message(
        to_number=params.get("To", ""),
        from_number=params.get("From", ""),
        body=params.get("Body", ""),
        provider_sid=params.get("MessageSid", "") or params.get("SmsMessageSid", ""),
        media=media,
        backend="twilio",
    )
    return _twiml()


def _media_count(params: dict[str, str]) -> int:
    try:
        return max(0, min(int(params.get("NumMedia", "0")), 10))
    except ValueError:
        return 0


@csrf_exempt
@require_POST
def status(request: HttpRequest, message_id: uuid.UUID) -> HttpResponse:
    params = _signed_params(request)
    if params is None:
        return HttpResponseForbidden("The request's X-Twilio-Signature is not valid.")
    twilio_status = params.get("MessageStatus", "") or params.get("SmsStatus", "")
    error_code = params.get("ErrorCode", "")
    services.apply_status(
        message_id=message_id,
        sid=params.get("MessageSid", "") or params.get("SmsSid", ""),
        status=handover_status(twilio_status),
        error_code=error_code,
        error_message=describe_error(error_code) if error_code else "",
    )
    return _twiml()
