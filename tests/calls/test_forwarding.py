"""Call Forwarding and App Presence rules: saving them (with their checks), and calls that
follow them through the call engine, ending in the dialled user's voicemail."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.calls.conftest import OFFER, channel_of, online
from toc.accounts.models import User
from toc.calls import selectors, services
from toc.calls.models import Call, CallForwarding, CallRecord, PresenceRule
from toc.calls.services import forwarding
from toc.calls.services.forwarding import RuleInput
from toc.media.models import MediaWorker
from toc.presence import services as presence
from toc.presence.models import Connection
from toc.voicemail.models import VoicemailCall

pytestmark = pytest.mark.django_db

NO_CARRIER = "and none is configured for your organisation"


def save(user: User, **fields: Any) -> CallForwarding:
    values = {"always": "", "busy": "", "no_answer": "", "no_answer_seconds": "20", "unreachable": "", **fields}
    return forwarding.save_forwarding(user=user, **values)


def refusal(error: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return error.value.message_dict


def away_rule(lines: list[tuple[str, int]], local: list[tuple[str, int]] | None = None) -> dict[str, RuleInput]:
    return {"away": RuleInput(is_enabled=True, lines=lines, local_lines=local)}


def away_with(alice: User, *others: User, lines: list[tuple[str, int]]) -> None:
    """Everyone signed in; alice Away with a rule of these lines."""
    for user in (alice, *others):
        online(user)
    presence.set_presence(user=alice, status="away", duration="until_changed")
    forwarding.save_presence_rules(user=alice, rules=away_rule(lines))


# --- saving -----------------------------------------------------------------------------------


def test_forwarding_is_saved_as_typed_after_its_checks(alice: User, bob: User) -> None:
    # when
    row = save(alice, always=" 102 ", busy="999", no_answer="102", no_answer_seconds="15")

    # then
    stored = CallForwarding.objects.get(user=alice)
    assert (stored.always_destination, stored.busy_destination, stored.no_answer_destination) == ("102", "999", "102")
    assert (stored.no_answer_seconds, stored.unreachable_destination, stored.organisation_id) == (
        15,
        "",
        alice.organisation_id,
    )
    assert row.pk == stored.pk


def test_a_forwarding_loop_is_refused_with_a_clear_message_and_nothing_changes(alice: User, bob: User) -> None:
    # given alice forwards always to bob
    save(alice, always="102")

    # when bob tries to forward always to alice
    with pytest.raises(ValidationError) as error:
        save(bob, always="101", busy="999")

    # then
    assert refusal(error) == {
        "always": ["Forward Always: that makes a forwarding loop (102 → 101 → 102); calls would never reach anyone."]
    }
    assert not CallForwarding.objects.filter(user=bob).exists()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"always": "101"}, {"always": ["Forward Always: that is your own extension."]}),
        ({"busy": "911"}, {"busy": ["911 cannot be a forwarding destination: emergency calls are never forwarded."]}),
        (
            {"unreachable": "150"},
            {"unreachable": ["Forward when Unreachable: there is no extension 150 in your organisation."]},
        ),
        (
            {"no_answer": "mobile"},
            {
                "no_answer": [
                    f"Forward on No answer: outside numbers (your mobile too) need a phone carrier, {NO_CARRIER}."
                ]
            },
        ),
        (
            {"always": "4165550199"},
            {"always": [f"Forward Always: outside numbers (your mobile too) need a phone carrier, {NO_CARRIER}."]},
        ),
        ({"no_answer_seconds": "2"}, {"no_answer_seconds": ["No answer ring time: a timeout is 5 to 120 seconds."]}),
        ({"no_answer_seconds": "soon"}, {"no_answer_seconds": ["No answer ring time: enter a number of seconds."]}),
    ],
)
def test_bad_forwarding_is_refused_by_field_and_nothing_changes(
    alice: User, bob: User, fields: dict[str, str], expected: dict[str, list[str]]
) -> None:
    # given a saved setting
    save(alice, busy="102")

    # when
    with pytest.raises(ValidationError) as error:
        save(alice, **fields)

    # then
    assert refusal(error) == expected
    assert CallForwarding.objects.get(user=alice).busy_destination == "102"


def test_an_extension_of_another_organisation_is_not_a_destination(alice: User, carol: User) -> None:
    # carol (globex) has extension 101 too: for her, 102 does not exist even though acme has one
    with pytest.raises(ValidationError) as error:
        save(carol, always="102")
    assert refusal(error) == {"always": ["Forward Always: there is no extension 102 in your organisation."]}


def test_presence_rules_are_saved_per_presence(alice: User, bob: User) -> None:
    # when
    saved = forwarding.save_presence_rules(
        user=alice,
        rules={
            **away_rule([("102", 10), ("999", 0)], local=[("101", 15)]),
            "vacation": RuleInput(is_enabled=False, lines=[("999", 0)]),
            "busy": RuleInput(is_enabled=False, lines=[]),
        },
    )

    # then
    rows = {rule.status: rule for rule in PresenceRule.objects.filter(user=alice)}
    assert sorted(rows) == ["away", "vacation"] == sorted(saved)
    assert (rows["away"].is_enabled, rows["away"].lines, rows["away"].local_lines) == (
        True,
        [{"destination": "102", "seconds": 10}, {"destination": "999", "seconds": 0}],
        [{"destination": "101", "seconds": 15}],
    )
    assert (rows["vacation"].is_enabled, rows["vacation"].lines) == (False, [{"destination": "999", "seconds": 0}])


def test_a_bad_rule_refuses_the_whole_save(alice: User, bob: User) -> None:
    # given a saved Away rule
    forwarding.save_presence_rules(user=alice, rules=away_rule([("102", 10)]))

    # when one presence is wrong
    with pytest.raises(ValidationError) as error:
        forwarding.save_presence_rules(
            user=alice,
            rules={**away_rule([("999", 0)]), "at_lunch": RuleInput(is_enabled=True, lines=[("150", 10)])},
        )

    # then nothing changed
    assert refusal(error) == {"at_lunch": ["At Lunch, line 1: there is no extension 150 in your organisation."]}
    assert list(PresenceRule.objects.filter(user=alice).values_list("status", "lines")) == [
        ("away", [{"destination": "102", "seconds": 10}])
    ]


def test_a_ticked_presence_needs_a_destination(alice: User) -> None:
    with pytest.raises(ValidationError) as error:
        forwarding.save_presence_rules(user=alice, rules=away_rule([]))
    assert refusal(error) == {"away": ["Away: add at least one destination."]}


def test_a_rule_line_that_loops_through_a_colleague_is_refused(alice: User, bob: User) -> None:
    # given bob forwards always to alice
    save(bob, always="101")

    # when alice's Away rule rings bob
    with pytest.raises(ValidationError) as error:
        forwarding.save_presence_rules(user=alice, rules=away_rule([("102", 10)]))

    # then
    assert refusal(error) == {
        "away": ["Away, line 1: that makes a forwarding loop (101 → 102 → 101); calls would never reach anyone."]
    }


# --- "Test this rule" -------------------------------------------------------------------------


def test_trying_a_rule_shows_what_would_ring_for_each_kind_of_caller(alice: User, bob: User, dave: User) -> None:
    # given alice's Away rule: outside callers ring dave, local ones bob then voicemail
    forwarding.save_presence_rules(user=alice, rules=away_rule([("103", 20)], local=[("102", 10), ("999", 0)]))
    online(bob)
    online(dave)

    # when
    local = forwarding.try_rule(user=alice, presence="away", caller_is_local=True)
    outside = forwarding.try_rule(user=alice, presence="away", caller_is_local=False)
    available = forwarding.try_rule(user=alice, presence="available", caller_is_local=True)

    # then
    assert [(step.extension, step.seconds) for step in local.steps] == [("102", 10)]  # type: ignore[union-attr]
    assert [(step.extension, step.seconds) for step in outside.steps] == [("103", 20)]  # type: ignore[union-attr]
    assert [(step.extension, step.seconds) for step in available.steps] == [("101", 20)]  # type: ignore[union-attr]
    assert local.reasons[0] == "Your App Presence rule for Away (local callers)."


def test_trying_a_rule_refuses_what_is_not_a_presence_or_a_caller(alice: User) -> None:
    with pytest.raises(ValidationError) as presence_error:
        forwarding.try_rule(user=alice, presence="asleep", caller_is_local=True)
    with pytest.raises(ValidationError) as caller_error:
        forwarding.try_rule(user=alice, presence="away", caller_is_local=None)
    assert refusal(presence_error) == {"presence": ["Choose a presence."]}
    assert refusal(caller_error) == {"caller": ["Choose a local or an outside caller."]}


# --- calls that follow the rules ----------------------------------------------------------------


def test_an_away_rule_rings_a_colleague_then_the_dialled_users_voicemail(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice is Away with the rule "102 for 10 s, then 999"; everyone is signed in
    away_with(alice, bob, dave, lines=[("102", 10), ("999", 0)])
    start = timezone.now()

    # when dave (103) calls alice (101)
    call = services.place_call(user=dave, channel_name=channel_of(dave), destination="101", sdp=OFFER, now=start)

    # then bob rings, for 10 s, and alice's history says where her call went
    call.refresh_from_db()
    assert (call.state, call.callee_id, call.routed_for_id, call.route_steps) == ("ringing", bob.pk, alice.pk, [])
    assert call.ring_deadline == start + timedelta(seconds=10)
    assert selectors.describe_call(call, viewer=bob)["state"] == "ringing"
    assert CallRecord.objects.get(owner=alice, call=call).note == "Forwarded to Bob Tester (102) by your rules."

    # when nobody answers within 10 s
    assert services.end_unanswered_call(call_id=call.pk, now=start + timedelta(seconds=10)) is True

    # then alice's voicemail takes it and bob has a missed call
    call.refresh_from_db()
    assert (call.state, call.callee_id, call.callee_name) == ("answered", None, alice.display_name)
    assert VoicemailCall.objects.filter(call=call).values_list("mailbox__user_id", flat=True).get() == alice.pk
    assert selectors.describe_call(call, viewer=bob)["state"] == "ended"
    bob_record = CallRecord.objects.get(owner=bob, call=call)
    assert (bob_record.direction, bob_record.note) == ("missed", "Forwarded call for Alice Tester: not answered.")
    assert CallRecord.objects.get(owner=alice, call=call).note == "Sent to voicemail."


def test_each_step_rings_for_its_own_time_and_skips_who_went_offline(
    alice: User, bob: User, dave: User, erin: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice's Away rule: 102 for 10 s, 104 for 15 s, 101 for 5 s
    away_with(alice, bob, dave, erin, lines=[("102", 10), ("104", 15), ("101", 5)])
    start = timezone.now()
    call = services.place_call(user=dave, channel_name=channel_of(dave), destination="101", sdp=OFFER, now=start)

    # when bob does not answer, and erin has signed out meanwhile
    Connection.objects.filter(user=erin).delete()
    services.end_unanswered_call(call_id=call.pk, now=start + timedelta(seconds=10))

    # then alice herself rings next, for 5 s
    call.refresh_from_db()
    assert (call.state, call.callee_id) == ("ringing", alice.pk)
    assert call.ring_deadline == start + timedelta(seconds=15)

    # when alice answers, the call is hers
    services.answer_call(user=alice, call_id=call.pk, channel_name=channel_of(alice), sdp=OFFER)
    call.refresh_from_db()
    assert (call.state, call.callee_id, call.route_steps) == ("answered", alice.pk, [])


def test_a_colleague_who_declines_a_forwarded_call_sends_it_to_the_dialled_users_voicemail(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice's Away rule rings bob for 20 s
    away_with(alice, bob, dave, lines=[("102", 20)])
    call = services.place_call(user=dave, channel_name=channel_of(dave), destination="101", sdp=OFFER)

    # when bob declines
    services.decline_call(user=bob, call_id=call.pk)

    # then alice's voicemail takes it; bob's history says he declined it
    call.refresh_from_db()
    assert VoicemailCall.objects.filter(call=call).values_list("mailbox__user_id", flat=True).get() == alice.pk
    record = CallRecord.objects.get(owner=bob, call=call)
    assert (record.direction, record.outcome, record.note) == (
        "incoming",
        "declined",
        "Forwarded call for Alice Tester: declined.",
    )


def test_forward_always_to_999_sends_calls_straight_to_voicemail(
    alice: User, bob: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    online(alice)
    online(bob)
    save(alice, always="999")

    call = services.place_call(user=bob, channel_name=channel_of(bob), destination="101", sdp=OFFER)

    call.refresh_from_db()
    assert (call.state, call.callee_id) == ("answered", None)
    assert VoicemailCall.objects.filter(call=call).values_list("mailbox__user_id", flat=True).get() == alice.pk


def test_no_answer_forwarding_rings_the_user_for_its_ring_time_then_the_destination(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    for user in (alice, bob, dave):
        online(user)
    save(alice, no_answer="102", no_answer_seconds="8")
    start = timezone.now()

    call = services.place_call(user=dave, channel_name=channel_of(dave), destination="101", sdp=OFFER, now=start)
    call.refresh_from_db()
    assert (call.callee_id, call.ring_deadline) == (alice.pk, start + timedelta(seconds=8))

    services.end_unanswered_call(call_id=call.pk, now=start + timedelta(seconds=8))
    call.refresh_from_db()
    assert (call.state, call.callee_id, call.ring_deadline) == ("ringing", bob.pk, start + timedelta(seconds=28))
    assert CallRecord.objects.get(owner=alice, call=call).note == "Not answered: forwarded by your rules."


def test_the_ring_timeout_task_waits_for_the_step_deadline(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    away_with(alice, bob, dave, lines=[("102", 10)])
    start = timezone.now()
    call = services.place_call(user=dave, channel_name=channel_of(dave), destination="101", sdp=OFFER, now=start)

    assert services.end_unanswered_call(call_id=call.pk, now=start + timedelta(seconds=9)) is False
    assert Call.objects.get(pk=call.pk).callee_id == bob.pk


def test_a_rule_that_rings_the_caller_skips_them(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice's Away rule rings dave for 10 s, then bob for 10 s
    away_with(alice, bob, dave, lines=[("103", 10), ("102", 10)])

    # when dave himself calls alice
    call = services.place_call(user=dave, channel_name=channel_of(dave), destination="101", sdp=OFFER)

    # then his own phone does not ring with his call: bob's does
    call.refresh_from_db()
    assert (call.state, call.caller_id, call.callee_id) == ("ringing", dave.pk, bob.pk)


def test_a_colleague_who_declines_passes_the_call_to_the_next_destination(
    alice: User, bob: User, dave: User, erin: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given alice's Away rule: bob for 10 s, then erin for 10 s
    away_with(alice, bob, dave, erin, lines=[("102", 10), ("104", 10)])
    call = services.place_call(user=dave, channel_name=channel_of(dave), destination="101", sdp=OFFER)

    # when bob declines
    services.decline_call(user=bob, call_id=call.pk)

    # then erin rings; bob's history says he declined it
    call.refresh_from_db()
    assert (call.state, call.callee_id) == ("ringing", erin.pk)
    assert CallRecord.objects.get(owner=bob, call=call).outcome == "declined"


def test_answering_after_the_call_moved_on_to_the_next_colleague_is_refused(
    alice: User, bob: User, dave: User, erin: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    # given a forwarded call that moved from bob to erin while bob's answer was on its way
    away_with(alice, bob, dave, erin, lines=[("102", 10), ("104", 10)])
    start = timezone.now()
    call = services.place_call(user=dave, channel_name=channel_of(dave), destination="101", sdp=OFFER, now=start)
    services.end_unanswered_call(call_id=call.pk, now=start + timedelta(seconds=10))

    # when bob's answer and decline arrive
    with pytest.raises(services.CallError) as answered:
        services.answer_call(user=bob, call_id=call.pk, channel_name=channel_of(bob), sdp=OFFER)
    with pytest.raises(services.CallError) as declined:
        services.decline_call(user=bob, call_id=call.pk)

    # then both are refused and erin's ringing call is untouched
    assert (answered.value.code, declined.value.code) == ("not_found", "not_found")
    call.refresh_from_db()
    assert (call.state, call.callee_id, call.answered_at) == ("ringing", erin.pk, None)


def test_the_dialled_users_history_is_not_a_missed_call_when_a_colleague_answers(
    alice: User, bob: User, dave: User, worker: MediaWorker, commands: list[dict[str, Any]]
) -> None:
    for user in (alice, bob, dave):
        online(user)
    save(alice, always="102")
    call = services.place_call(user=dave, channel_name=channel_of(dave), destination="101", sdp=OFFER)

    services.answer_call(user=bob, call_id=call.pk, channel_name=channel_of(bob), sdp=OFFER)

    record = CallRecord.objects.get(owner=alice, call=call)
    assert (record.direction, record.outcome, record.note) == (
        "incoming",
        "forwarded",
        "Forwarded to Bob Tester (102) by your rules.",
    )


def test_colleagues_forwarding_to_an_extension_are_listed(alice: User, bob: User, dave: User) -> None:
    save(alice, busy="102")
    forwarding.save_presence_rules(user=dave, rules=away_rule([("102", 10)]))

    holders = forwarding.list_users_forwarding_to(organisation_id=bob.organisation_id or 0, extension="102")

    assert [user.pk for user in holders] == [alice.pk, dave.pk]
