"""The fake Twilio answers the real ``twilio`` client like Twilio does, and signs its webhooks correctly."""

from __future__ import annotations

import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.sms.fake_twilio import FakeTwilio, FakeTwilioControl, Response, parse_auto_status

SID = "AC" + "5" * 32
TOKEN = "test-auth-token"
LOCAL = "+14165550101"
REMOTE = "+14165550199"
PNG = b"\x89PNG\r\n\x1a\nfake picture"
REPO = Path(__file__).resolve().parents[2]


class LoopbackHttpClient(TwilioHttpClient):
    """The Twilio client's transport, with ``https://*.twilio.com`` rewritten to the fake's base URL."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        super().__init__(timeout=timeout)
        self.base = urlsplit(base_url)
        assert self.session is not None
        self.session.trust_env = False  # never through a proxy

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.endswith(".twilio.com"):
            url = urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, parts.fragment))
        return super().request(method, url, params, data, headers, auth, timeout, allow_redirects)


@dataclass
class Received:
    path: str
    params: dict[str, str]
    valid: bool
    headers: dict[str, str]


@dataclass
class Receiver:
    """A tiny app side: validates X-Twilio-Signature as a Django view would; 200 if valid, else 403."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    public_url: str | None = None  # what signatures are checked against, like the app's PUBLIC_URL

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def signed_url(self, path: str) -> str:
        return self.public_url + path if self.public_url else self.url(path)


def _receiver_handler(receiver: Callable[[], Receiver]) -> type[BaseHTTPRequestHandler]:
    validator = RequestValidator(TOKEN)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            params = dict(parse_qsl(body, keep_blank_values=True))
            app = receiver()
            valid = validator.validate(app.signed_url(self.path), params, self.headers.get("X-Twilio-Signature", ""))
            app.received.append(Received(self.path, params, valid, dict(self.headers)))
            answer = b"<Response/>" if valid else b"bad signature"
            self.send_response(200 if valid else 403)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app: list[Receiver] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _receiver_handler(lambda: app[0]))
    app.append(Receiver(server))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield app[0]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(SID, TOKEN) as running:
        yield running


def make_client(base_url: str, timeout: float = 5.0, token: str = TOKEN) -> Client:
    return Client(SID, token, http_client=LoopbackHttpClient(base_url, timeout))


@pytest.fixture
def client(fake: FakeTwilio) -> Client:
    return make_client(fake.base_url)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_create_records_the_form_and_answers_a_message_resource(fake: FakeTwilio, client: Client) -> None:
    media = ["https://toc.example/m/1.png", "https://toc.example/m/2.png"]
    callback = "https://toc.example/sms/status/"
    message = client.messages.create(to=REMOTE, from_=LOCAL, body="Hello", media_url=media, status_callback=callback)

    assert message.sid is not None and message.sid.startswith("MM") and len(message.sid) == 34
    assert (message.status, message.direction, message.num_media, message.num_segments) == (
        "queued",
        "outbound-api",
        "2",
        "1",
    )
    assert message.date_created is not None and message.to == REMOTE and message.from_ == LOCAL
    assert message.uri == f"/2010-04-01/Accounts/{SID}/Messages/{message.sid}.json"
    [created] = fake.created()
    assert created.form == {"To": REMOTE, "From": LOCAL, "Body": "Hello", "MediaUrl": media, "StatusCallback": callback}
    assert (created.auth_user, created.status, created.sid, created.kind) == (SID, 201, message.sid, "success")
    assert created.path == f"/2010-04-01/Accounts/{SID}/Messages.json"

    sms = client.messages.create(to=REMOTE, from_=LOCAL, body="ж" * 71)
    assert sms.sid is not None and sms.sid.startswith("SM") and (sms.num_media, sms.num_segments) == ("0", "2")
    assert client.messages(sms.sid).fetch().body == "ж" * 71


@pytest.mark.parametrize(
    ("scripted", "status", "code"),
    [
        (Response.invalid_number(), 400, 21211),
        (Response.unsubscribed(), 400, 21610),
        (Response.too_many_requests(), 429, 20429),
        (Response.server_error(), 500, 20500),
    ],
)
def test_scripted_errors_raise_twilio_rest_exception(
    fake: FakeTwilio, client: Client, scripted: Response, status: int, code: int
) -> None:
    fake.script(scripted)
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to=REMOTE, from_=LOCAL, body="Hello")
    assert (raised.value.status, raised.value.code) == (status, code)
    assert fake.created() == []
    assert client.messages.create(to=REMOTE, from_=LOCAL, body="Hello").status == "queued"  # the script is spent


def test_error_body_and_retry_after_are_twilio_s(fake: FakeTwilio) -> None:
    fake.script(Response.too_many_requests(retry_after=3))
    url = f"{fake.base_url}{fake.messages_path}.json"
    answer = requests.post(url, data={"To": REMOTE, "From": LOCAL, "Body": "x"}, auth=(SID, TOKEN), timeout=5)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"
    assert answer.json() == {
        "code": 20429,
        "message": "Too Many Requests",
        "more_info": "https://www.twilio.com/docs/errors/20429",
        "status": 429,
    }
    missing_from = requests.post(url, data={"To": REMOTE, "Body": "x"}, auth=(SID, TOKEN), timeout=5)
    assert (missing_from.status_code, missing_from.json()["code"]) == (400, 21603)


def test_wrong_credentials_get_20003(fake: FakeTwilio) -> None:
    with pytest.raises(TwilioRestException) as raised:
        make_client(fake.base_url, token="wrong").messages.create(to=REMOTE, from_=LOCAL, body="Hello")
    assert (raised.value.status, raised.value.code) == (401, 20003)
    assert fake.requests()[0].auth_user == SID and fake.created() == []


def test_hold_creates_the_message_but_the_client_times_out(fake: FakeTwilio, client: Client) -> None:
    fake.script(Response.hold(20))
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        make_client(fake.base_url, timeout=1).messages.create(to=REMOTE, from_=LOCAL, body="Lost answer")
    assert time.monotonic() - started < 5
    [listed] = client.messages.list(to=REMOTE, from_=LOCAL)
    assert listed.body == "Lost answer" and listed.sid == fake.created()[0].sid
    assert fake.created()[0].kind == "hold"


def test_list_filters_newest_first(fake: FakeTwilio, client: Client) -> None:
    other = "+16135550123"
    first = client.messages.create(to=REMOTE, from_=LOCAL, body="1").sid
    second = client.messages.create(to=other, from_=LOCAL, body="2").sid
    third = client.messages.create(to=REMOTE, from_=other, body="3").sid

    assert [m.sid for m in client.messages.list()] == [third, second, first]
    assert [m.sid for m in client.messages.list(to=REMOTE)] == [third, first]
    assert [m.sid for m in client.messages.list(from_=LOCAL)] == [second, first]
    assert [m.sid for m in client.messages.list(to=REMOTE, from_=LOCAL)] == [first]
    assert [m.sid for m in client.messages.list(limit=1)] == [third]
    assert fake.requests()[-1].query == {"PageSize": "1"}


def test_fetch_of_an_unknown_message_is_20404(client: Client) -> None:
    with pytest.raises(TwilioRestException) as raised:
        client.messages("SM" + "0" * 32).fetch()
    assert (raised.value.status, raised.value.code) == (404, 20404)


def test_media_needs_auth_then_redirects_to_the_cdn(fake: FakeTwilio) -> None:
    url = fake.add_media("image/png", PNG)
    assert url.startswith(f"{fake.base_url}/2010-04-01/Accounts/{SID}/Messages/MM") and "/Media/ME" in url

    anonymous = requests.get(url, timeout=5)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, 20003)
    redirect = requests.get(url, auth=(SID, TOKEN), allow_redirects=False, timeout=5)
    assert redirect.status_code == 307 and redirect.headers["Location"].startswith(f"{fake.base_url}/_cdn/")
    cdn = requests.get(redirect.headers["Location"], timeout=5)
    assert (cdn.status_code, cdn.headers["Content-Type"], cdn.content) == (200, "image/png", PNG)
    followed = requests.get(url, auth=(SID, TOKEN), timeout=5)
    assert followed.content == PNG and [r.status_code for r in followed.history] == [307]

    assert requests.delete(url + ".json", auth=(SID, TOKEN), timeout=5).status_code == 204
    assert requests.get(redirect.headers["Location"], timeout=5).status_code == 404


def test_status_callbacks_are_signed_and_update_the_message(
    fake: FakeTwilio, client: Client, receiver: Receiver
) -> None:
    sid = client.messages.create(to=REMOTE, from_=LOCAL, body="Hi", status_callback=receiver.url("/sms/status/")).sid
    assert sid is not None

    assert fake.send_status(sid, "sent").status_code == 200
    assert fake.send_status(sid, "undelivered", error_code=30003).status_code == 200

    sent, undelivered = receiver.received
    assert sent.valid and sent.path == "/sms/status/"
    assert sent.params == {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": SID,
        "From": LOCAL,
        "To": REMOTE,
        "MessageStatus": "sent",
        "SmsStatus": "sent",
        "ApiVersion": "2010-04-01",
    }
    assert undelivered.valid and undelivered.params["ErrorCode"] == "30003"
    fetched = client.messages(sid).fetch()
    assert (fetched.status, fetched.error_code, fetched.date_sent is not None) == ("undelivered", 30003, True)
    assert [w.status for w in fake.webhooks()] == [200, 200]


def test_inbound_is_signed_and_carries_fetchable_media(fake: FakeTwilio, receiver: Receiver) -> None:
    url = receiver.url("/sms/inbound/")
    response, sid = fake.send_inbound(url, REMOTE, LOCAL, "Look", media=[("image/png", PNG)])

    assert response.status_code == 200 and sid.startswith("MM")
    [inbound] = receiver.received
    assert inbound.valid
    params = inbound.params
    assert {key: params[key] for key in ("MessageSid", "SmsMessageSid", "SmsSid")} == dict.fromkeys(
        ("MessageSid", "SmsMessageSid", "SmsSid"), sid
    )
    assert (params["From"], params["To"], params["Body"], params["NumMedia"]) == (REMOTE, LOCAL, "Look", "1")
    assert (params["SmsStatus"], params["AccountSid"], params["MediaContentType0"]) == ("received", SID, "image/png")
    assert requests.get(params["MediaUrl0"], auth=(SID, TOKEN), timeout=5).content == PNG
    assert fake.message(sid)["direction"] == "inbound"

    again, same_sid = fake.send_inbound(url, REMOTE, LOCAL, "Look", media=[("image/png", PNG)], sid=sid)
    assert again.status_code == 200 and same_sid == sid
    assert receiver.received[1].params == params  # a redelivery is the identical request


def test_bad_signatures_are_rejected(fake: FakeTwilio, receiver: Receiver) -> None:
    url = receiver.url("/sms/inbound/")
    forged = fake.sign(url, {"Body": "something else"})
    assert fake.send_inbound(url, REMOTE, LOCAL, "Hi", signature=forged)[0].status_code == 403
    assert fake.send_inbound(url, REMOTE, LOCAL, "Hi", signature="bad")[0].status_code == 403
    assert fake.send_inbound(url, REMOTE, LOCAL, "Hi", sign_url=url + "?x=1")[0].status_code == 403
    assert [r.valid for r in receiver.received] == [False, False, False]
    with pytest.raises(ValueError, match="loopback"):
        fake.send_inbound("http://example.com/sms/", REMOTE, LOCAL, "Hi")


def test_auto_status_posts_callbacks_on_a_timetable(receiver: Receiver) -> None:
    with FakeTwilio(SID, TOKEN, auto_status=parse_auto_status("sent:0.05,delivered:0.1")) as fake:
        client = make_client(fake.base_url)
        sid = client.messages.create(to=REMOTE, from_=LOCAL, body="x", status_callback=receiver.url("/s/")).sid
        wait_until(lambda: len(receiver.received) == 2)
        assert [r.params["MessageStatus"] for r in receiver.received] == ["sent", "delivered"]
        assert all(r.valid and r.params["MessageSid"] == sid for r in receiver.received)
        assert fake.message(str(sid))["status"] == "delivered"


def test_deliver_to_posts_public_url_webhooks_to_the_loopback_app(receiver: Receiver) -> None:
    receiver.public_url = "https://toc.example.com"
    with FakeTwilio(SID, TOKEN, deliver_to=receiver.url("")) as fake:
        callback = "https://toc.example.com/sms/status/?x=1"
        sid = make_client(fake.base_url).messages.create(to=REMOTE, from_=LOCAL, body="x", status_callback=callback).sid
        assert fake.send_status(str(sid), "delivered").status_code == 200
        assert fake.send_inbound("https://toc.example.com/sms/inbound/", REMOTE, LOCAL, "Hi")[0].status_code == 200

    status, inbound = receiver.received
    assert (status.path, status.valid, inbound.path, inbound.valid) == ("/sms/status/?x=1", True, "/sms/inbound/", True)
    assert (status.headers["X-Forwarded-Proto"], status.headers["X-Forwarded-Host"]) == ("https", "toc.example.com")
    assert [w.url for w in fake.webhooks()] == [callback, "https://toc.example.com/sms/inbound/"]


def _start_standalone(*args: str) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "tests.sms.fake_twilio", "--port", "0", "--account-sid", SID, "--auth-token"]
    process = subprocess.Popen([*command, TOKEN, *args], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 15)
    line = process.stdout.readline() if ready else ""
    assert line.startswith("fake twilio listening on http://127.0.0.1:"), line
    return process, line.rsplit(" ", 1)[1].strip()


def test_standalone_process_driven_through_the_control_api(receiver: Receiver) -> None:
    process, base_url = _start_standalone("--auto-status", "sent:0.05")
    try:
        control = FakeTwilioControl(base_url)
        client = make_client(base_url)
        assert control.script(Response.invalid_number()) == 1
        with pytest.raises(TwilioRestException) as raised:
            client.messages.create(to=REMOTE, from_=LOCAL, body="x")
        assert raised.value.code == 21211

        sid = client.messages.create(to=REMOTE, from_=LOCAL, body="y", status_callback=receiver.url("/s/")).sid
        [created] = control.wait_for_created(1, timeout=5)
        assert (created.sid, created.value("Body"), created.auth_user) == (sid, "y", SID)
        wait_until(lambda: len(receiver.received) == 1)
        assert receiver.received[0].params["MessageStatus"] == "sent"
        assert control.send_status(str(sid), "delivered") == 200
        control.configure(auto_status=[], deliver_to=receiver.url(""))
        assert receiver.received[1].valid and receiver.received[1].params["MessageStatus"] == "delivered"

        status, inbound_sid = control.send_inbound(
            receiver.url("/in/"), REMOTE, LOCAL, "Hi", [("image/gif", b"GIF89a")]
        )
        assert status == 200 and inbound_sid.startswith("MM") and receiver.received[2].valid
        assert requests.get(receiver.received[2].params["MediaUrl0"], auth=(SID, TOKEN), timeout=5).content == b"GIF89a"
        assert [r.status for r in control.requests()] == [400, 201, 307]  # the media GET too
        assert [m["sid"] for m in control.messages()] == [inbound_sid, sid]

        control.reset()
        assert control.created() == [] and control.requests() == []
        control.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    assert process.returncode == 0
