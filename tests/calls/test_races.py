"""Races: two sessions answering the same call at once, or an answer racing the ring timeout,
end with exactly one winner (row locks on PostgreSQL, IMMEDIATE transactions on SQLite)."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django import db

from tests.calls.conftest import OFFER, online
from toc.accounts.models import User
from toc.calls import services
from toc.calls.models import Call, Leg
from toc.calls.services import CallError
from toc.media.models import MediaWorker

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*actions: Callable[[], Any]) -> list[Any]:
    """Run the actions on their own threads (own connections), released together."""
    start = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(index: int, action: Callable[[], Any]) -> None:
        start.wait(timeout=10)
        try:
            results[index] = action()
        except CallError as error:
            results[index] = error.code
        finally:
            db.connections.close_all()

    threads = [threading.Thread(target=run, args=(index, action)) for index, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_two_sessions_answering_at_once_one_wins(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]], attempt: int
) -> None:
    # given
    online(bob)
    call = services.place_call(user=alice, channel_name="socket.a", destination="102", sdp=OFFER)

    # when
    results = at_once(
        lambda: services.answer_call(user=bob, call_id=call.pk, channel_name="socket.b1", sdp=OFFER),
        lambda: services.answer_call(user=bob, call_id=call.pk, channel_name="socket.b2", sdp=OFFER),
    )

    # then
    assert sorted(isinstance(result, Call) for result in results) == [False, True]
    assert "conflict" in results
    assert Leg.objects.filter(call=call, party="callee").count() == 1
    assert Call.objects.get(pk=call.pk).state == "answered"


def test_decline_and_cancel_at_once_one_wins(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given
    online(bob)
    call = services.place_call(user=alice, channel_name="socket.a", destination="102", sdp=OFFER)

    # when bob declines as alice hangs up
    results = at_once(
        lambda: services.decline_call(user=bob, call_id=call.pk),
        lambda: services.hang_up(user=alice, call_id=call.pk),
    )

    # then exactly one ended it, and the stored call says which
    assert [isinstance(result, Call) for result in results].count(True) == 1
    stored = Call.objects.get(pk=call.pk)
    expected = "declined" if isinstance(results[0], Call) else "cancelled"
    assert (stored.state, stored.end_reason, "conflict" in results) == ("ended", expected, True)
    assert [command["type"] for command in commands].count("media.hangup") == 1
