"""Twilio's Programmable Messaging through the `twilio` package.

`TWILIO_API_BASE_URL` (empty in production) points the client at a Twilio-compatible server
instead of https://api.twilio.com; the tests use it to run the real client against a local
server that answers with Twilio's shapes.
"""

import datetime
import ipaddress
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from toc.sms.backends.base import CarrierRefusedError, CarrierUnavailableError, Downloaded, Handover, Outgoing

TWILIO_API = "https://api.twilio.com"
# How far back a hand-over's message may be dated by Twilio (clocks differ).
CLOCK_SLACK = datetime.timedelta(minutes=2)
# The newest messages between two numbers looked through for an earlier hand-over.
FIND_LIMIT = 200
MAX_REDIRECTS = 3

STATUSES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
    "receiving": "received",
    "received": "received",
}

# Twilio's error codes users meet, in words they can act on (twilio.com/docs/api/errors).
ERRORS = {
    "21211": "This is not a valid phone number.",
    "21214": "This number cannot be reached by text.",
    "21408": "Your number is not allowed to text this region.",
    "21606": "Your direct number cannot send texts. Ask your administrator.",
    "21610": "This number has opted out of texts from your number (they replied STOP). "
    "They can reply START to opt back in.",
    "21612": "The carrier cannot carry texts between these two numbers.",
    "21614": "This is not a mobile number, so it cannot receive texts.",
    "30003": "The phone is switched off or out of coverage.",
    "30004": "The message was blocked by the recipient or their carrier.",
    "30005": "This number does not exist or is no longer in service.",
    "30006": "This is a landline, or its carrier cannot receive texts.",
    "30007": "The carrier filtered this message as spam.",
    "30008": "The carrier could not deliver it (unknown error).",
    "30019": "The message is too large for the recipient's carrier.",
}


def describe_error(code: str, fallback: str = "") -> str:
    return ERRORS.get(code) or fallback or f"The carrier did not deliver it (error {code})."


def handover_status(twilio_status: str) -> str:
    return STATUSES.get(twilio_status, "queued")


class _HttpClient(TwilioHttpClient):
    """Twilio's HTTP client, sending to `base_url` instead of https://api.twilio.com when set."""

    def __init__(self, *, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")
        if self.base_url and self.session is not None:
            # A local Twilio-compatible server: never through a proxy from the environment.
            self.session.trust_env = False

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self.base_url and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


class TwilioBackend:
    name = "twilio"
    carries_messages = True

    def __init__(self, *, account_sid: str, auth_token: str, base_url: str, timeout: float) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.client = Client(account_sid, auth_token, http_client=_HttpClient(base_url=base_url, timeout=timeout))
        # The client imports its Messages API on first use (a few hundred ms): now, not mid-send.
        self.messages = self.client.messages
        self.validator = RequestValidator(auth_token)

    def send(self, outgoing: Outgoing) -> Handover:
        fields: dict[str, Any] = {
            "to": outgoing.to_number,
            "from_": outgoing.from_number,
            "status_callback": outgoing.status_callback,
        }
        if outgoing.body:
            fields["body"] = outgoing.body
        if outgoing.media_urls:
            fields["media_url"] = list(outgoing.media_urls)
        try:
            message = self.messages.create(**fields)
        except TwilioRestException as error:
            raise _failure(error) from error
        except requests.exceptions.ConnectTimeout as error:
            raise CarrierUnavailableError("Could not connect to Twilio.", outcome_unknown=False) from error
        except requests.exceptions.RequestException as error:
            # A read timeout or a dropped connection: Twilio may have the message already.
            reason = f"No answer from Twilio ({type(error).__name__})."
            raise CarrierUnavailableError(reason, outcome_unknown=True) from error
        return Handover(sid=message.sid, status=handover_status(message.status or "queued"))

    def find(self, outgoing: Outgoing) -> list[Handover]:
        since = outgoing.first_handover_at - CLOCK_SLACK
        try:
            candidates = self.messages.list(
                to=outgoing.to_number, from_=outgoing.from_number, limit=FIND_LIMIT, page_size=FIND_LIMIT
            )
        except (TwilioRestException, requests.exceptions.RequestException) as error:
            reason = f"Could not ask Twilio about an earlier send ({type(error).__name__})."
            raise CarrierUnavailableError(reason, outcome_unknown=True) from error
        found = [
            candidate
            for candidate in candidates
            if (candidate.date_created is None or candidate.date_created >= since)
            and (candidate.body or "") == outgoing.body
            and int(candidate.num_media or 0) == len(outgoing.media_urls)
        ]
        found.sort(key=lambda candidate: candidate.date_created or since)
        return [Handover(sid=c.sid, status=handover_status(c.status or "queued")) for c in found]

    def download(self, url: str, *, max_bytes: int) -> Downloaded:
        if not self._is_twilio_url(url):
            raise CarrierRefusedError("download", "The picture's address is not Twilio's; it was not fetched.")
        try:
            with requests.Session() as session:
                session.trust_env = not self.base_url  # a local Twilio-compatible server: no proxy
                with self._follow(session, url) as response:
                    return _read(response, max_bytes)
        except requests.exceptions.RequestException as error:
            reason = f"Could not download the picture ({type(error).__name__})."
            raise CarrierUnavailableError(reason, outcome_unknown=False) from error

    def _follow(self, session: requests.Session, url: str) -> requests.Response:
        """GET `url`, following at most 3 redirects (Twilio answers with its media store's
        address), each to Twilio or to an https address that is not a private one; Twilio's
        credentials go to Twilio's own host only."""
        for _ in range(MAX_REDIRECTS + 1):
            auth = (self.account_sid, self.auth_token) if self._is_twilio_url(url) else None
            response = session.get(url, auth=auth, timeout=self.timeout, stream=True, allow_redirects=False)
            if not response.is_redirect:
                return response
            response.close()
            url = urljoin(url, response.headers["Location"])
            if not (self._is_twilio_url(url) or _is_public_https(url)):
                raise CarrierRefusedError("download", "The picture's address led away from Twilio; not fetched.")
        raise CarrierRefusedError("download", "Too many redirects for the picture; it was not fetched.")

    def is_signed(self, *, url: str, params: dict[str, str], signature: str) -> bool:
        return bool(signature) and bool(self.validator.validate(url, params, signature))

    def _is_twilio_url(self, url: str) -> bool:
        parts = urlsplit(url)
        allowed = [urlsplit(TWILIO_API)]
        if self.base_url:
            allowed.append(urlsplit(self.base_url))
        return any(parts.scheme == base.scheme and parts.netloc == base.netloc for base in allowed)


def _read(response: requests.Response, max_bytes: int) -> Downloaded:
    if response.status_code >= 400:
        failure = f"Twilio answered {response.status_code} for the picture."
        if response.status_code in (404, 410):
            raise CarrierRefusedError("download", failure)
        raise CarrierUnavailableError(failure, outcome_unknown=False)
    content = bytearray()
    for chunk in response.iter_content(64 * 1024):
        content.extend(chunk)
        if len(content) > max_bytes:
            raise CarrierRefusedError("download", "The file is larger than an MMS may be.")
    content_type = response.headers.get("Content-Type", "application/octet-stream")
    return Downloaded(bytes(content), content_type.split(";")[0].strip().lower())


def _is_public_https(url: str) -> bool:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not host or host == "localhost" or host.endswith((".local", ".internal")):
        return False
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return True  # a host name, not an address


def _failure(error: TwilioRestException) -> Exception:
    code = str(error.code or "")
    if error.status == 429:
        return CarrierUnavailableError("Twilio asked us to slow down (429).", outcome_unknown=False)
    if error.status >= 500:
        return CarrierUnavailableError(f"Twilio had an error ({error.status}).", outcome_unknown=True)
    if error.status in (401, 403):
        reason = "Twilio refused TOC's credentials (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)."
        return CarrierUnavailableError(reason, outcome_unknown=False)
    return CarrierRefusedError(code, describe_error(code, str(error.msg or "")))
