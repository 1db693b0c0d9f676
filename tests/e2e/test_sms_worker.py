"""A Celery worker killed in the middle of handing a text to Twilio, and another one picking the
work up: the message is sent exactly once, and it ends up with Twilio's sid.

The real server processes (tests/e2e/conftest.py), the real twilio client, and a local server
with Twilio's shapes that holds its answer so the worker can be killed while Twilio has the
message but the worker has not heard back.
"""

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import Server, off_the_browser_thread
from tests.factories import make_organisation, make_user
from tests.sms.fake_twilio import FakeTwilio, Response
from toc.sms import services, tasks
from toc.sms.models import Message

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def wait_until(check: Callable[[], Any], *, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


def queue_text(body: str) -> Message:
    acme = make_organisation(name="Acme", sso_domain="acme.example")
    alice = make_user(acme, "alice", extension="101", direct_number="+14165550101")
    thread, _ = services.open_thread(user=alice, to="416 555 0199")
    message, _ = off_the_browser_thread(
        services.send_message, user=alice, thread=thread, body=body, pictures=[], client_id=None
    )
    return message


def test_a_worker_killed_mid_send_never_sends_twice(e2e_server: Server, fake_twilio: FakeTwilio) -> None:
    fake_twilio.reset()
    fake_twilio.script(Response.hold(30))
    message = queue_text("Killed mid-send")

    # Twilio has the message; the worker waits for the answer and is killed (SIGKILL).
    [created] = fake_twilio.wait_for_created(1, timeout=20)
    worker = e2e_server.processes["worker"]
    worker.kill()
    worker.wait(timeout=10)
    e2e_server.processes.pop("worker")
    message.refresh_from_db()
    assert (message.status, message.provider_sid, message.attempts) == ("outbox", None, 1)
    assert message.handover_started_at is not None

    # Another worker starts; after the claim's lease (5 s here) the periodic sweep wakes the number.
    e2e_server.start("worker")
    time.sleep(5.5)
    off_the_browser_thread(tasks.sweep.delay)

    def handed_over() -> bool:
        message.refresh_from_db()
        return message.status != "outbox"

    wait_until(handed_over, seconds=30, what=f"the message left the outbox:\n{e2e_server.log('worker')[-3000:]}")
    assert (message.status, message.provider_sid, message.attempts) == ("queued", created.sid, 2)
    assert len(fake_twilio.created()) == 1
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in fake_twilio.requests()] == [
        ("POST", "Messages.json"),
        ("GET", "Messages.json"),
    ]
