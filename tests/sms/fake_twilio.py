"""A fake Twilio Messages API and webhook driver, for tests and benchmarks.

The fake speaks the real REST shapes of Twilio's 2010-04-01 Messages API on a loopback port, so the
real ``twilio`` Python client can talk to it once its http client rewrites ``https://api.twilio.com``
to the fake's ``base_url``:

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` creates a message (HTTP Basic auth
  ``account_sid:auth_token``). The answer comes from a scripted FIFO queue of :class:`Response`
  (default: success, 201 with a Message resource): a Twilio error body, or a *hold* (the message is
  created but the answer is delayed, as when a worker dies or a client times out mid-request).
- ``GET .../Messages.json`` (``To``, ``From``, ``PageSize`` filters; one page, newest first) and
  ``GET .../Messages/{Sid}.json``.
- Inbound media: ``.../Messages/{MM}/Media/{ME}`` needs Basic auth and answers 307 to an
  unauthenticated "CDN" URL on the same server that serves the bytes (as Twilio redirects to S3).

It also plays Twilio's side of the webhooks: status callbacks and inbound messages, form-encoded and
signed with ``X-Twilio-Signature`` exactly as ``twilio.request_validator.RequestValidator`` checks them,
optionally on a timetable after each create (``auto_status``).

Every request is recorded (wall and monotonic time, path, form, Basic-auth user, answer).

In-process use::

    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as fake:
        fake.script(Response.invalid_number(), Response.hold(20))
        ...  # code under test, pointed at fake.base_url
        response, sid = fake.send_inbound(url, "+14165550199", "+14165550101", "hi")

Standalone (another process drives it through :class:`FakeTwilioControl` and ``/_fake/`` endpoints)::

    python -m tests.sms.fake_twilio --port 8765 --account-sid AC... --auth-token T \
        --auto-status sent:0.2,delivered:0.5

It listens on 127.0.0.1 only and sends webhooks only to the loopback interface. An app that checks
signatures against its public URL (``PUBLIC_URL`` + path) is served with ``deliver_to``: a webhook for
``https://toc.example.com/sms/status/`` is signed for that URL but POSTed to
``{deliver_to}/sms/status/`` with ``X-Forwarded-Proto``/``X-Forwarded-Host``, as a reverse proxy would.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hmac
import json
import logging
import math
import re
import signal
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from requests import Response as HTTPResponse
from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"
WEBHOOK_TIMEOUT = 15.0
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
REPEATABLE_FIELDS = frozenset({"MediaUrl"})
DEFAULT_PAGE_SIZE = 50
MAX_BODY_LENGTH = 1600

_JSON = "application/json; charset=utf-8"
_ACCOUNT = r"/2010-04-01/Accounts/(?P<account>[^/]+)"
_MESSAGES_PATH = re.compile(_ACCOUNT + r"/Messages\.json$")
_MESSAGE_PATH = re.compile(_ACCOUNT + r"/Messages/(?P<sid>[^/]+)\.json$")
_MEDIA_PATH = re.compile(_ACCOUNT + r"/Messages/(?P<sid>[^/]+)/Media/(?P<media>[^/.]+)(?:\.json)?$")
_CDN_PREFIX = "/_cdn/"
_CONTROL_PREFIX = "/_fake/"

# Human text Twilio stores in a message's error_message for common delivery errors.
_DELIVERY_ERRORS = {
    "30003": "Unreachable destination handset",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered",
    "30008": "Unknown error",
}

# GSM 03.38: the basic character set, and the extension table (two septets each).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


# --- small helpers -------------------------------------------------------------------------------


def new_sid(prefix: str) -> str:
    """A Twilio-style SID: two letters and 32 hex digits."""
    return prefix + uuid.uuid4().hex


def rfc2822(moment: datetime) -> str:
    """Twilio's date format, e.g. ``Thu, 30 Jul 2015 20:12:31 +0000``."""
    return format_datetime(moment.astimezone(UTC))


def count_segments(body: str) -> int:
    """How many SMS segments carry ``body`` (GSM-7 160/153 septets, else UCS-2 70/67 code units)."""
    if all(char in _GSM_BASIC or char in _GSM_EXTENSION for char in body):
        units = sum(2 if char in _GSM_EXTENSION else 1 for char in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if units == 0:
        return 0
    return 1 if units <= single else math.ceil(units / multi)


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    """Twilio's REST error body."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _form_dict(pairs: Iterable[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Form fields as a dict; repeated keys (and MediaUrl, even once) become lists."""
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return {
        key: values if len(values) > 1 or key in REPEATABLE_FIELDS else values[0] for key, values in grouped.items()
    }


def _first(fields: Mapping[str, str | list[str]], name: str) -> str | None:
    value = fields.get(name)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _check_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"the fake only sends to the loopback interface, not to {url!r}")


# --- the script of answers to creates ------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """One scripted answer to a create request: ``success``, ``error`` or ``hold``."""

    kind: str = "success"
    status: int = 201
    code: int | None = None
    message: str = ""
    retry_after: int | None = None
    seconds: float = 0.0

    @classmethod
    def success(cls) -> Response:
        return cls()

    @classmethod
    def error(cls, status: int, code: int, message: str, retry_after: int | None = None) -> Response:
        """Answer with Twilio's error body; no message is created."""
        return cls("error", status, code, message, retry_after)

    @classmethod
    def hold(cls, seconds: float) -> Response:
        """Create the message (visible in list/fetch at once) but answer only after ``seconds``."""
        return cls("hold", seconds=seconds)

    @classmethod
    def invalid_number(cls) -> Response:
        return cls.error(400, 21211, "Invalid 'To' Phone Number")

    @classmethod
    def unsubscribed(cls) -> Response:
        return cls.error(400, 21610, "Attempt to send to unsubscribed recipient")

    @classmethod
    def too_many_requests(cls, retry_after: int | None = 1) -> Response:
        return cls.error(429, 20429, "Too Many Requests", retry_after)

    @classmethod
    def server_error(cls) -> Response:
        return cls.error(500, 20500, "Internal Server Error")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Response:
        kind = data.get("kind", "success")
        if kind == "hold":
            return cls.hold(float(data["seconds"]))
        if kind == "error":
            return cls.error(int(data["status"]), int(data["code"]), str(data["message"]), data.get("retry_after"))
        if kind == "success":
            return cls.success()
        raise ValueError(f"unknown response kind {kind!r}")


class StatusStep(NamedTuple):
    """An automatic status callback: ``status`` sent ``delay`` seconds after the create."""

    status: str
    delay: float
    error_code: str | None = None


def parse_auto_status(text: str) -> list[StatusStep]:
    """``"sent:0.2,delivered:0.5"`` (or ``"undelivered:0.5:30003"``) → steps."""
    steps = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        status, delay, *code = item.split(":")
        steps.append(StatusStep(status, float(delay), code[0] if code else None))
    return steps


def _as_steps(steps: Iterable[Sequence[Any]]) -> list[StatusStep]:
    return [
        StatusStep(str(step[0]), float(step[1]), str(step[2]) if len(step) > 2 and step[2] else None) for step in steps
    ]


# --- records ---------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request the fake's REST API received, and what it answered."""

    wall_time: float
    monotonic: float
    method: str
    path: str
    query: dict[str, str | list[str]]
    form: dict[str, str | list[str]]
    auth_user: str | None
    status: int = 0
    sid: str | None = None
    kind: str = ""

    def value(self, name: str) -> str | None:
        """The single (or first) value of a form field."""
        return _first(self.form, name)

    def values(self, name: str) -> list[str]:
        """Every value of a form field, as a list."""
        value = self.form.get(name)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]

    @property
    def created(self) -> bool:
        return self.method == "POST" and self.sid is not None and bool(_MESSAGES_PATH.match(self.path))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordedRequest:
        return cls(**data)


@dataclass
class WebhookRecord:
    """One webhook the fake sent (status callback or inbound message)."""

    wall_time: float
    monotonic: float
    url: str
    params: dict[str, str]
    status: int | None = None
    error: str | None = None
    elapsed: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Media:
    sid: str
    message_sid: str
    content_type: str
    data: bytes
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class _Incoming:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    auth: tuple[str, str] | None
    client_host: str

    def form_pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    content_type: str = _JSON
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> _Reply:
        return cls(status, json.dumps(data).encode(), headers=headers or {})

    @classmethod
    def twilio_error(cls, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> _Reply:
        return cls.json(status, error_body(status, code, message), headers)


# --- the HTTP server ---------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive connections must not hold stop() up

    def __init__(self, port: int, fake: FakeTwilio) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End open keep-alive connections, so their threads finish now."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("fake twilio: connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections end after this
    server: _Server

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake twilio: " + format, *args)

    def _dispatch(self) -> None:
        try:
            reply = self.server.fake._handle(self._incoming())
        except Exception:
            logger.exception("fake twilio: %s %s failed", self.command, self.path)
            reply = _Reply.twilio_error(500, 20500, "Internal Server Error")
        if reply.delay > 0 and self.server.fake._stopping.wait(reply.delay):
            self.close_connection = True
            return
        self._write(reply)

    def _incoming(self) -> _Incoming:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        return _Incoming(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            body=self.rfile.read(length) if length else b"",
            auth=_basic_auth(self.headers.get("Authorization", "")),
            client_host=self.client_address[0],
        )

    def _write(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)


def _basic_auth(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


# --- the fake ------------------------------------------------------------------------------------------


class FakeTwilio:
    """A loopback Twilio Messages API with a scripted answer queue, plus Twilio's webhook side."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        port: int = 0,
        auto_status: Iterable[Sequence[Any]] = (),
        deliver_to: str | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.port = port
        self.auto_status = _as_steps(auto_status)
        self.deliver_to = deliver_to
        self._validator = RequestValidator(auth_token)
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._reset_state()

    def _reset_state(self) -> None:
        with self._lock:
            self._script: deque[Response] = deque()
            self._requests: list[RecordedRequest] = []
            self._webhooks: list[WebhookRecord] = []
            self._messages: dict[str, dict[str, Any]] = {}
            self._status_callbacks: dict[str, str] = {}
            self._media: dict[str, _Media] = {}
            self._inbound_media: dict[str, list[tuple[str, bytes, str]]] = {}

    # lifecycle

    def start(self) -> FakeTwilio:
        """Listen on 127.0.0.1 (port 0 = any free port) in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("already started")
        self._stopping.clear()
        self._server = _Server(self.port, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-twilio", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; held answers and pending automatic callbacks are abandoned."""
        self._stopping.set()
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def messages_path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages"

    # test-facing state

    def script(self, *responses: Response) -> None:
        """Queue answers for the next create requests (first in, first out; then success)."""
        with self._lock:
            self._script.extend(responses)

    def reset(self) -> None:
        """Forget the script, the logs, the messages and the media."""
        self._reset_state()

    def requests(self) -> list[RecordedRequest]:
        """Every REST request received (messages, media), oldest first."""
        with self._lock:
            return list(self._requests)

    def created(self) -> list[RecordedRequest]:
        """The create requests that created a message (successful or held), oldest first."""
        return [record for record in self.requests() if record.created]

    def webhooks(self) -> list[WebhookRecord]:
        """Every webhook sent, oldest first, with the receiver's HTTP status or the error."""
        with self._lock:
            return list(self._webhooks)

    def messages(self) -> list[dict[str, Any]]:
        """Every stored Message resource (outbound and inbound), newest first."""
        with self._lock:
            return [dict(message) for message in reversed(self._messages.values())]

    def message(self, sid: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._messages[sid])

    def wait_for_created(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Wait (at most ``timeout`` s) until ``count`` messages have been created; TimeoutError if not."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(created := [r for r in self._requests if r.created]) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(created)} of {count} messages created after {timeout} s")
                self._lock.wait(remaining)
            return created

    def add_media(self, content_type: str, data: bytes, message_sid: str | None = None) -> str:
        """Store inbound media; returns its Twilio-style URL (Basic auth, then 307 to the "CDN")."""
        media = _Media(new_sid("ME"), message_sid or new_sid("MM"), content_type, data)
        with self._lock:
            self._media[media.sid] = media
        return f"{self.base_url}{self.messages_path}/{media.message_sid}/Media/{media.sid}"

    # webhooks (Twilio → the app)

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        """The ``X-Twilio-Signature`` Twilio would send for a POST of ``params`` to ``url``."""
        return self._validator.compute_signature(url, dict(params))

    def post_webhook(
        self, url: str, params: Mapping[str, str], *, signature: str | None = None, sign_url: str | None = None
    ) -> HTTPResponse:
        """POST ``params`` form-encoded to ``url`` (via ``deliver_to`` if not loopback), signed for ``sign_url or url``
        unless ``signature`` is given."""
        target, headers = self._delivery(url)
        _check_loopback(target)
        headers["X-Twilio-Signature"] = signature if signature is not None else self.sign(sign_url or url, params)
        record = WebhookRecord(time.time(), time.monotonic(), url, dict(params))
        try:
            with requests.Session() as session:
                session.trust_env = False  # never through a proxy
                response = session.post(target, data=urlencode(params), headers=headers, timeout=WEBHOOK_TIMEOUT)
            record.status = response.status_code
            return response
        except requests.RequestException as exc:
            record.error = repr(exc)
            raise
        finally:
            record.elapsed = time.monotonic() - record.monotonic
            with self._lock:
                self._webhooks.append(record)

    def _delivery(self, url: str) -> tuple[str, dict[str, str]]:
        """Where a webhook for ``url`` really goes, and its headers."""
        headers = {"User-Agent": "TwilioProxy/1.1", "Content-Type": "application/x-www-form-urlencoded"}
        parts = urlsplit(url)
        if self.deliver_to is None or parts.hostname in LOOPBACK_HOSTS:
            return url, headers
        base = urlsplit(self.deliver_to)
        headers.update({"X-Forwarded-Proto": parts.scheme, "X-Forwarded-Host": parts.netloc})
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, "")), headers

    def send_status(
        self,
        sid: str,
        status: str,
        error_code: str | int | None = None,
        url: str | None = None,
        *,
        signature: str | None = None,
        sign_url: str | None = None,
    ) -> HTTPResponse:
        """Set a message's status and POST Twilio's status callback to its StatusCallback (or ``url``)."""
        message = self._apply_status(sid, status, error_code)
        target = url or self._status_callbacks.get(sid)
        if not target:
            raise ValueError(f"message {sid} has no StatusCallback; pass url=")
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "From": message.get("from") or "",
            "To": message.get("to") or "",
            "MessageStatus": status,
            "SmsStatus": status,
            "ApiVersion": API_VERSION,
        }
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return self.post_webhook(target, params, signature=signature, sign_url=sign_url)

    def send_inbound(
        self,
        url: str,
        from_: str,
        to: str,
        body: str,
        media: Sequence[tuple[str, bytes]] = (),
        sid: str | None = None,
        *,
        signature: str | None = None,
        sign_url: str | None = None,
    ) -> tuple[HTTPResponse, str]:
        """POST Twilio's incoming-message webhook to ``url``; ``sid`` re-delivers a MessageSid. → (response, sid)."""
        sid = sid or new_sid("MM" if media else "SM")
        media_urls = self._inbound_media_urls(sid, media)
        params = {
            "ToCountry": "CA",
            "ToState": "ON",
            "SmsMessageSid": sid,
            "NumMedia": str(len(media)),
            "ToCity": "TORONTO",
            "FromZip": "",
            "SmsSid": sid,
            "FromState": "ON",
            "SmsStatus": "received",
            "FromCity": "TORONTO",
            "Body": body,
            "FromCountry": "CA",
            "To": to,
            "ToZip": "",
            "NumSegments": str(max(1, count_segments(body))),
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": from_,
            "ApiVersion": API_VERSION,
        }
        for index, ((content_type, _), media_url) in enumerate(zip(media, media_urls, strict=True)):
            params[f"MediaContentType{index}"] = content_type
            params[f"MediaUrl{index}"] = media_url
        self._store_inbound(sid, from_, to, body, len(media))
        return self.post_webhook(url, params, signature=signature, sign_url=sign_url), sid

    def _inbound_media_urls(self, sid: str, media: Sequence[tuple[str, bytes]]) -> list[str]:
        """Media URLs for an inbound message; a re-delivery with the same media gets the same URLs."""
        with self._lock:
            known = self._inbound_media.get(sid, [])
        if [(content_type, data) for content_type, data, _ in known] == list(media):
            return [media_url for _, _, media_url in known]
        urls = [self.add_media(content_type, data, sid) for content_type, data in media]
        with self._lock:
            self._inbound_media[sid] = [(ct, data, u) for (ct, data), u in zip(media, urls, strict=True)]
        return urls

    # message store

    def _new_message(self, sid: str, from_: str, to: str, body: str, num_media: int, **fields: Any) -> dict[str, Any]:
        now = rfc2822(datetime.now(UTC))
        uri = f"{self.messages_path}/{sid}"
        message = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": None,
            "num_media": str(num_media),
            "num_segments": str(1 if num_media else count_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": to,
            "uri": f"{uri}.json",
        }
        message.update(fields)
        return message

    def _store_outbound(self, record: RecordedRequest) -> dict[str, Any]:
        media_urls = record.values("MediaUrl")
        sid = new_sid("MM" if media_urls else "SM")
        message = self._new_message(
            sid, record.value("From") or "", record.value("To") or "", record.value("Body") or "", len(media_urls)
        )
        with self._lock:
            self._messages[sid] = message
            if callback := record.value("StatusCallback"):
                self._status_callbacks[sid] = callback
        return message

    def _store_inbound(self, sid: str, from_: str, to: str, body: str, num_media: int) -> None:
        with self._lock:
            if sid not in self._messages:
                now = rfc2822(datetime.now(UTC))
                self._messages[sid] = self._new_message(
                    sid, from_, to, body, num_media, direction="inbound", status="received", date_sent=now
                )

    def _apply_status(self, sid: str, status: str, error_code: str | int | None) -> dict[str, Any]:
        with self._lock:
            message = self._messages.get(sid)
            if message is None:
                return {}
            now = rfc2822(datetime.now(UTC))
            message.update(status=status, date_updated=now)
            if status == "sent" and message["date_sent"] is None:
                message["date_sent"] = now
            if error_code is not None:
                message["error_code"] = int(error_code)
                message["error_message"] = _DELIVERY_ERRORS.get(str(error_code), "Delivery failed")
            return dict(message)

    def _schedule_auto_status(self, sid: str, created_at: float) -> None:
        steps = list(self.auto_status)
        if steps:
            threading.Thread(
                target=self._run_auto_status, args=(sid, created_at, steps), name=f"auto-status-{sid}", daemon=True
            ).start()

    def _run_auto_status(self, sid: str, created_at: float, steps: list[StatusStep]) -> None:
        for step in steps:
            if self._stopping.wait(max(0.0, created_at + step.delay - time.monotonic())):
                return
            if sid not in self._status_callbacks:
                self._apply_status(sid, step.status, step.error_code)
                continue
            try:
                self.send_status(sid, step.status, step.error_code)
            except (requests.RequestException, ValueError):
                logger.warning("fake twilio: status callback %s for %s failed", step.status, sid, exc_info=True)

    # request handling (called from server threads)

    def _handle(self, incoming: _Incoming) -> _Reply:
        if incoming.path.startswith(_CONTROL_PREFIX):
            return self._control(incoming)
        if incoming.path.startswith(_CDN_PREFIX):
            return self._serve_cdn(incoming.path.removeprefix(_CDN_PREFIX))
        record = RecordedRequest(
            wall_time=time.time(),
            monotonic=time.monotonic(),
            method=incoming.method,
            path=incoming.path,
            query=_form_dict((key, value) for key, values in incoming.query.items() for value in values),
            form=_form_dict(incoming.form_pairs()) if incoming.method == "POST" else {},
            auth_user=incoming.auth[0] if incoming.auth else None,
        )
        reply = self._api(incoming, record)
        record.status = reply.status
        with self._lock:
            self._requests.append(record)
            self._lock.notify_all()
        return reply

    def _authorized(self, incoming: _Incoming, account: str) -> bool:
        if incoming.auth is None or account != self.account_sid:
            return False
        user, password = incoming.auth
        return hmac.compare_digest(user, self.account_sid) and hmac.compare_digest(password, self.auth_token)

    def _api(self, incoming: _Incoming, record: RecordedRequest) -> _Reply:
        route = _route(incoming.method, incoming.path)
        if route is None:
            return _not_found(incoming.path)
        name, match = route
        if not self._authorized(incoming, match["account"]):
            return _Reply.twilio_error(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})
        if name == "create":
            return self._create(record)
        if name == "list":
            return self._list(record)
        if name == "fetch":
            return self._fetch(match["sid"], incoming.path)
        if name == "media":
            return self._media_redirect(match["media"], incoming.path)
        return self._media_delete(match["media"], incoming.path)

    def _create(self, record: RecordedRequest) -> _Reply:
        with self._lock:
            action = self._script.popleft() if self._script else Response.success()
        record.kind = action.kind
        if action.kind == "error":
            assert action.code is not None
            retry = {"Retry-After": str(action.retry_after)} if action.retry_after is not None else None
            return _Reply.twilio_error(action.status, action.code, action.message, retry)
        problem = _validate_create(record)
        if problem is not None:
            record.kind = "invalid"
            return _Reply.twilio_error(400, *problem)
        message = self._store_outbound(record)
        record.sid = message["sid"]
        self._schedule_auto_status(message["sid"], record.monotonic)
        reply = _Reply.json(201, message)
        reply.delay = action.seconds
        return reply

    def _list(self, record: RecordedRequest) -> _Reply:
        to, from_ = _first(record.query, "To"), _first(record.query, "From")
        page_size = int(_first(record.query, "PageSize") or DEFAULT_PAGE_SIZE)
        found = [
            message
            for message in self.messages()
            if (to is None or message["to"] == to) and (from_ is None or message["from"] == from_)
        ][:page_size]
        query = urlencode({key: value for key, value in (("To", to), ("From", from_)) if value is not None})
        uri = f"{self.messages_path}.json?{query}{'&' if query else ''}PageSize={page_size}&Page=0"
        return _Reply.json(
            200,
            {
                "end": max(0, len(found) - 1),
                "first_page_uri": uri,
                "messages": found,
                "next_page_uri": None,
                "page": 0,
                "page_size": page_size,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            },
        )

    def _fetch(self, sid: str, path: str) -> _Reply:
        with self._lock:
            message = self._messages.get(sid)
        return _Reply.json(200, message) if message is not None else _not_found(path)

    def _media_redirect(self, media_sid: str, path: str) -> _Reply:
        with self._lock:
            media = self._media.get(media_sid)
        if media is None:
            return _not_found(path)
        return _Reply(307, b"", headers={"Location": f"{self.base_url}{_CDN_PREFIX}{media.token}"})

    def _media_delete(self, media_sid: str, path: str) -> _Reply:
        with self._lock:
            media = self._media.pop(media_sid, None)
        return _Reply(204) if media is not None else _not_found(path)

    def _serve_cdn(self, token: str) -> _Reply:
        with self._lock:
            media = next((m for m in self._media.values() if m.token == token), None)
        if media is None:
            return _Reply(404, b"Not Found", "text/plain")
        return _Reply(200, media.data, media.content_type)

    # control endpoints (/_fake/…)

    def _control(self, incoming: _Incoming) -> _Reply:
        if incoming.client_host != "127.0.0.1":
            return _Reply.json(403, {"error": "loopback only"})
        handler = _CONTROL_ROUTES.get((incoming.method, incoming.path.removeprefix(_CONTROL_PREFIX)))
        if handler is None:
            return _Reply.json(404, {"error": f"no control endpoint {incoming.method} {incoming.path}"})
        try:
            return handler(self, incoming)
        except (KeyError, TypeError, ValueError) as exc:
            return _Reply.json(400, {"error": repr(exc)})
        except requests.RequestException as exc:
            return _Reply.json(502, {"error": repr(exc)})

    def _control_script(self, incoming: _Incoming) -> _Reply:
        self.script(*(Response.from_json(item) for item in incoming.json()))
        with self._lock:
            return _Reply.json(200, {"queued": len(self._script)})

    def _control_requests(self, incoming: _Incoming) -> _Reply:
        return _Reply.json(200, [record.to_json() for record in self.requests()])

    def _control_created(self, incoming: _Incoming) -> _Reply:
        return _Reply.json(200, [record.to_json() for record in self.created()])

    def _control_messages(self, incoming: _Incoming) -> _Reply:
        return _Reply.json(200, self.messages())

    def _control_webhooks(self, incoming: _Incoming) -> _Reply:
        return _Reply.json(200, [record.to_json() for record in self.webhooks()])

    def _control_status(self, incoming: _Incoming) -> _Reply:
        data = incoming.json()
        response = self.send_status(data["sid"], data["status"], data.get("error_code"), data.get("url"))
        return _Reply.json(200, {"status": response.status_code})

    def _control_inbound(self, incoming: _Incoming) -> _Reply:
        data = incoming.json()
        media = [(item["content_type"], base64.b64decode(item["data_base64"])) for item in data.get("media", [])]
        response, sid = self.send_inbound(
            data["url"], data["from"], data["to"], data.get("body", ""), media, data.get("sid")
        )
        return _Reply.json(200, {"status": response.status_code, "sid": sid})

    def _control_media(self, incoming: _Incoming) -> _Reply:
        data = incoming.json()
        return _Reply.json(200, {"url": self.add_media(data["content_type"], base64.b64decode(data["data_base64"]))})

    def _control_config(self, incoming: _Incoming) -> _Reply:
        data = incoming.json()
        if "auto_status" in data:
            self.auto_status = _as_steps(data["auto_status"])
        if "deliver_to" in data:
            self.deliver_to = data["deliver_to"]
        return _Reply.json(
            200, {"auto_status": [list(step) for step in self.auto_status], "deliver_to": self.deliver_to}
        )

    def _control_reset(self, incoming: _Incoming) -> _Reply:
        self.reset()
        return _Reply.json(200, {})


_CONTROL_ROUTES = {
    ("POST", "script"): FakeTwilio._control_script,
    ("GET", "requests"): FakeTwilio._control_requests,
    ("GET", "created"): FakeTwilio._control_created,
    ("GET", "messages"): FakeTwilio._control_messages,
    ("GET", "webhooks"): FakeTwilio._control_webhooks,
    ("POST", "status"): FakeTwilio._control_status,
    ("POST", "inbound"): FakeTwilio._control_inbound,
    ("POST", "media"): FakeTwilio._control_media,
    ("POST", "config"): FakeTwilio._control_config,
    ("POST", "reset"): FakeTwilio._control_reset,
}

_API_ROUTES = (
    ("POST", _MESSAGES_PATH, "create"),
    ("GET", _MESSAGES_PATH, "list"),
    ("GET", _MESSAGE_PATH, "fetch"),
    ("GET", _MEDIA_PATH, "media"),
    ("DELETE", _MEDIA_PATH, "delete_media"),
)


def _route(method: str, path: str) -> tuple[str, re.Match[str]] | None:
    for route_method, pattern, name in _API_ROUTES:
        if method == route_method and (match := pattern.match(path)):
            return name, match
    return None


def _not_found(path: str) -> _Reply:
    return _Reply.twilio_error(404, 20404, f"The requested resource {path} was not found")


def _validate_create(record: RecordedRequest) -> tuple[int, str] | None:
    """Twilio's checks on a create's parameters: (code, message) of the first that fails."""
    body = record.value("Body") or ""
    if not record.value("To"):
        return 21604, "A 'To' phone number is required."
    if not record.value("From"):
        return 21603, "A 'From' phone number is required."
    if not body and not record.values("MediaUrl"):
        return 21602, "Message body is required."
    if len(body) > MAX_BODY_LENGTH:
        return 21617, "The concatenated message body exceeds the 1600 character limit."
    return None


# --- driving a fake in another process ----------------------------------------------------------------


class FakeTwilioControl:
    """Client for a standalone fake's ``/_fake/`` endpoints (another process's FakeTwilio)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        _check_loopback(base_url)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = False

    def _call(self, method: str, name: str, payload: Any = None) -> Any:
        response = self._session.request(
            method, f"{self.base_url}{_CONTROL_PREFIX}{name}", json=payload, timeout=self.timeout
        )
        response.raise_for_status()
        return response.json()

    def script(self, *responses: Response) -> int:
        return int(self._call("POST", "script", [response.to_json() for response in responses])["queued"])

    def requests(self) -> list[RecordedRequest]:
        return [RecordedRequest.from_json(item) for item in self._call("GET", "requests")]

    def created(self) -> list[RecordedRequest]:
        return [RecordedRequest.from_json(item) for item in self._call("GET", "created")]

    def messages(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "messages"))

    def webhooks(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "webhooks"))

    def send_status(self, sid: str, status: str, error_code: str | int | None = None, url: str | None = None) -> int:
        """→ the HTTP status the app answered the callback with."""
        payload = {"sid": sid, "status": status, "error_code": error_code, "url": url}
        return int(self._call("POST", "status", payload)["status"])

    def send_inbound(
        self, url: str, from_: str, to: str, body: str, media: Sequence[tuple[str, bytes]] = (), sid: str | None = None
    ) -> tuple[int, str]:
        """→ (the HTTP status the app answered with, the MessageSid)."""
        payload = {
            "url": url,
            "from": from_,
            "to": to,
            "body": body,
            "media": [{"content_type": ct, "data_base64": base64.b64encode(data).decode()} for ct, data in media],
            "sid": sid,
        }
        answer = self._call("POST", "inbound", payload)
        return int(answer["status"]), str(answer["sid"])

    def add_media(self, content_type: str, data: bytes) -> str:
        payload = {"content_type": content_type, "data_base64": base64.b64encode(data).decode()}
        return str(self._call("POST", "media", payload)["url"])

    def configure(self, auto_status: Iterable[Sequence[Any]] | None = None, deliver_to: str | None = None) -> None:
        """Change the automatic status callbacks and/or where non-loopback webhooks are delivered."""
        payload: dict[str, Any] = {}
        if auto_status is not None:
            payload["auto_status"] = [list(step) for step in auto_status]
        if deliver_to is not None:
            payload["deliver_to"] = deliver_to
        self._call("POST", "config", payload)

    def reset(self) -> None:
        self._call("POST", "reset")

    def wait_for_created(self, count: int, timeout: float = 10.0, poll: float = 0.05) -> list[RecordedRequest]:
        """Poll (at most ``timeout`` s) until ``count`` messages have been created; TimeoutError if not."""
        deadline = time.monotonic() + timeout
        while len(created := self.created()) < count:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(created)} of {count} messages created after {timeout} s")
            time.sleep(poll)
        return created

    def close(self) -> None:
        self._session.close()


# --- standalone process -----------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.sms.fake_twilio", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument("--auto-status", default="", help="e.g. sent:0.2,delivered:0.5 (or undelivered:0.5:30003)")
    parser.add_argument("--deliver-to", help="base URL (loopback) that receives webhooks meant for a public URL")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT."""
    args = _parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    fake = FakeTwilio(
        args.account_sid,
        args.auth_token,
        port=args.port,
        auto_status=parse_auto_status(args.auto_status),
        deliver_to=args.deliver_to,
    )
    fake.start()
    print(f"fake twilio listening on {fake.base_url}", flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
