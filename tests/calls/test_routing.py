"""The routing policy as a pure function: who rings, in what order, for how long."""

import pytest

from toc.calls import routing
from toc.calls.routing import (
    Destination,
    DestinationKind,
    Dial,
    Forwarding,
    Line,
    Person,
    PresenceRule,
    Ring,
    RoutingError,
    check_destination,
    check_lines,
    parse_destination,
    plan_call,
)
from toc.presence.state import Status

EXT = DestinationKind.EXTENSION
VOICEMAIL = Destination(DestinationKind.VOICEMAIL)
MOBILE = Destination(DestinationKind.MOBILE)


def ext(value: str) -> Destination:
    return Destination(EXT, value)


def person(user_id: int, extension: str, **kwargs: object) -> Person:
    return Person(user_id=user_id, extension=extension, name=f"User {extension}", **kwargs)  # type: ignore[arg-type]


def people(*members: Person) -> dict[str, Person]:
    return {member.extension: member for member in members}


def rings(plan: routing.Plan) -> list[tuple[str, int]]:
    return [(step.extension, step.seconds) for step in plan.steps if isinstance(step, Ring)]


AWAY_RULE = PresenceRule(lines=(Line(ext("102"), 10), Line(VOICEMAIL, 0)))
BOB = person(2, "102")
CAROL = person(3, "103")


# --- the default: ring the user, then voicemail --------------------------------------------------


@pytest.mark.parametrize("presence", list(Status))
def test_without_rules_every_presence_rings_the_user_for_the_ring_time(presence: Status) -> None:
    # given alice with this presence and no forwarding
    alice = person(1, "101", presence=presence)

    # when a colleague calls her
    plan = plan_call(alice, caller_is_local=True, people=people(alice, BOB), ring_seconds=20)

    # then she rings for the organisation's ring time, then her voicemail takes it
    assert (rings(plan), plan.voicemail_user_id) == ([("101", 20)], 1)


@pytest.mark.parametrize("presence", list(Status))
@pytest.mark.parametrize("caller_is_local", [True, False])
def test_phone_dnd_sends_every_call_straight_to_voicemail_whatever_else_is_set(
    presence: Status, caller_is_local: bool
) -> None:
    # given alice has Phone DND on, a rule for her presence and Forward Always
    forwarding = Forwarding(always=ext("102"), rules={presence: AWAY_RULE})
    alice = person(1, "101", presence=presence, phone_dnd=True, forwarding=forwarding)

    # when someone calls
    plan = plan_call(alice, caller_is_local=caller_is_local, people=people(alice, BOB), ring_seconds=20)

    # then nobody rings: her voicemail
    assert (plan.steps, plan.voicemail_user_id) == ((), 1)
    assert plan.reasons == ("Phone DND is on: every call goes straight to voicemail.",)


# --- App Presence rules ------------------------------------------------------------------------


@pytest.mark.parametrize("presence", list(Status))
def test_a_rule_applies_only_while_the_user_has_its_presence(presence: Status) -> None:
    # given alice has a rule for Away only
    alice = person(1, "101", presence=presence, forwarding=Forwarding(rules={Status.AWAY: AWAY_RULE}))

    # when a colleague calls her
    plan = plan_call(alice, caller_is_local=True, people=people(alice, BOB), ring_seconds=20)

    # then Away follows the rule (102 for 10 s, then 999); everything else rings her
    expected = [("102", 10)] if presence is Status.AWAY else [("101", 20)]
    assert rings(plan) == expected


def test_a_rules_lines_ring_in_order_each_for_its_timeout() -> None:
    # given alice, At Lunch, rings herself 15 s, then bob 10 s, then carol 5 s
    rule = PresenceRule(lines=(Line(ext("101"), 15), Line(ext("102"), 10), Line(ext("103"), 5)))
    alice = person(1, "101", presence=Status.AT_LUNCH, forwarding=Forwarding(rules={Status.AT_LUNCH: rule}))

    # when a colleague calls
    plan = plan_call(alice, caller_is_local=True, people=people(alice, BOB, CAROL), ring_seconds=20)

    # then
    assert rings(plan) == [("101", 15), ("102", 10), ("103", 5)]
    assert plan.reasons[-1] == "Then voicemail."


def test_a_999_line_ends_the_rule() -> None:
    # given a Vacation rule that goes straight to voicemail
    rule = PresenceRule(lines=(Line(VOICEMAIL, 0),))
    alice = person(1, "101", presence=Status.VACATION, forwarding=Forwarding(rules={Status.VACATION: rule}))

    # when
    plan = plan_call(alice, caller_is_local=False, people=people(alice), ring_seconds=20)

    # then
    assert (plan.steps, plan.voicemail_user_id) == ((), 1)


@pytest.mark.parametrize(
    ("caller_is_local", "expected"),
    [(True, [("102", 10)]), (False, [("103", 20)])],
)
def test_local_callers_follow_the_local_lines_and_outside_callers_the_others(
    caller_is_local: bool, expected: list[tuple[str, int]]
) -> None:
    # given alice's Away rule rings carol for outside callers and bob for local ones
    rule = PresenceRule(lines=(Line(ext("103"), 20),), local_lines=(Line(ext("102"), 10),))
    alice = person(1, "101", presence=Status.AWAY, forwarding=Forwarding(rules={Status.AWAY: rule}))

    # when
    plan = plan_call(alice, caller_is_local=caller_is_local, people=people(alice, BOB, CAROL), ring_seconds=20)

    # then
    assert rings(plan) == expected


@pytest.mark.parametrize("caller_is_local", [True, False])
def test_without_local_lines_every_caller_follows_the_same_lines(caller_is_local: bool) -> None:
    # given
    alice = person(1, "101", presence=Status.AWAY, forwarding=Forwarding(rules={Status.AWAY: AWAY_RULE}))

    # when
    plan = plan_call(alice, caller_is_local=caller_is_local, people=people(alice, BOB), ring_seconds=20)

    # then
    assert rings(plan) == [("102", 10)]


@pytest.mark.parametrize("presence", [Status.BUSY, Status.DO_NOT_DISTURB, Status.IN_A_MEETING])
def test_busy_dnd_and_in_a_meeting_deliver_like_available_unless_a_rule_says_otherwise(presence: Status) -> None:
    # given two users with the same presence, one with a rule for it
    plain = person(1, "101", presence=presence)
    ruled = person(4, "104", presence=presence, forwarding=Forwarding(rules={presence: AWAY_RULE}))

    # when each is called
    plain_plan = plan_call(plain, caller_is_local=True, people=people(plain, BOB), ring_seconds=20)
    ruled_plan = plan_call(ruled, caller_is_local=True, people=people(ruled, BOB), ring_seconds=20)

    # then
    assert (rings(plain_plan), rings(ruled_plan)) == ([("101", 20)], [("102", 10)])


# --- who can ring -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bob", "reason"),
    [
        (person(2, "102", phone_dnd=True), "User 102 (102) skipped: Phone DND is on."),
        (person(2, "102", is_online=False), "User 102 (102) skipped: not signed in anywhere."),
        (person(2, "102", is_busy=True), "User 102 (102) skipped: busy on other calls."),
    ],
)
def test_a_colleague_who_cannot_take_the_call_is_skipped(bob: Person, reason: str) -> None:
    # given alice's Away rule rings bob, then carol
    rule = PresenceRule(lines=(Line(ext("102"), 10), Line(ext("103"), 10)))
    alice = person(1, "101", presence=Status.AWAY, forwarding=Forwarding(rules={Status.AWAY: rule}))

    # when
    plan = plan_call(alice, caller_is_local=True, people=people(alice, bob, CAROL), ring_seconds=20)

    # then
    assert rings(plan) == [("103", 10)]
    assert reason in plan.reasons


def test_a_rule_line_for_an_extension_nobody_has_is_skipped() -> None:
    rule = PresenceRule(lines=(Line(ext("150"), 10),))
    alice = person(1, "101", presence=Status.AWAY, forwarding=Forwarding(rules={Status.AWAY: rule}))

    plan = plan_call(alice, caller_is_local=True, people=people(alice), ring_seconds=20)

    assert (plan.steps, plan.reasons[1]) == ((), "Extension 150 is skipped: nobody has it.")


def test_outside_numbers_and_the_mobile_are_skipped_without_a_carrier_and_dialled_with_one() -> None:
    # given alice's Away rule: her mobile, then an outside number
    rule = PresenceRule(lines=(Line(MOBILE, 15), Line(Destination(DestinationKind.OUTSIDE, "+14165550199"), 20)))
    forwarding = Forwarding(rules={Status.AWAY: rule})
    alice = person(1, "101", presence=Status.AWAY, mobile_number="+14165550123", forwarding=forwarding)

    # when the organisation has no carrier, and when it has one
    without = plan_call(alice, caller_is_local=True, people=people(alice), ring_seconds=20)
    with_carrier = plan_call(alice, caller_is_local=True, people=people(alice), ring_seconds=20, can_dial_out=True)

    # then
    assert without.steps == ()
    assert "+14165550199 is skipped: outside calls need a phone carrier, and none is configured." in without.reasons
    assert with_carrier.steps == (Dial("+14165550123", 15), Dial("+14165550199", 20))


# --- Call Forwarding -----------------------------------------------------------------------------


def test_forward_always_rings_the_destination_instead_even_over_a_presence_rule() -> None:
    forwarding = Forwarding(always=ext("103"), rules={Status.AWAY: AWAY_RULE})
    alice = person(1, "101", presence=Status.AWAY, forwarding=forwarding)

    plan = plan_call(alice, caller_is_local=True, people=people(alice, BOB, CAROL), ring_seconds=20)

    assert (rings(plan), plan.voicemail_user_id) == ([("103", 20)], 1)


def test_forward_always_follows_a_colleagues_own_forward_always() -> None:
    # given alice -> bob -> carol
    bob = person(2, "102", forwarding=Forwarding(always=ext("103")))
    alice = person(1, "101", forwarding=Forwarding(always=ext("102")))

    plan = plan_call(alice, caller_is_local=True, people=people(alice, bob, CAROL), ring_seconds=20)

    assert rings(plan) == [("103", 20)]
    assert "User 102 (102) forwards all calls to 103." in plan.reasons


def test_a_forwarding_loop_is_cut_at_call_time() -> None:
    # given alice -> bob -> alice (saved before the checks, or changed since)
    bob = person(2, "102", forwarding=Forwarding(always=ext("101")))
    alice = person(1, "101", forwarding=Forwarding(always=ext("102")))

    plan = plan_call(alice, caller_is_local=True, people=people(alice, bob), ring_seconds=20)

    assert (plan.steps, plan.voicemail_user_id) == ((), 1)
    assert "Extension 102 is skipped: forwarding loop 101 → 102 → 101." in plan.reasons


def test_a_chain_longer_than_the_limit_is_cut_at_call_time() -> None:
    # given 101 -> 102 -> 103 -> 104 -> 105 -> 106
    chain = [person(n, f"10{n}", forwarding=Forwarding(always=ext(f"10{n + 1}"))) for n in range(1, 6)]
    last = person(6, "106")

    plan = plan_call(chain[0], caller_is_local=True, people=people(*chain, last), ring_seconds=20)

    assert plan.steps == ()
    assert plan.reasons[-2].startswith("Extension 102 is skipped: it forwards too many times")


def test_a_chain_within_the_limit_rings_its_end() -> None:
    # given 101 -> 102 -> 103 -> 104 -> 105 (four forwards)
    chain = [person(n, f"10{n}", forwarding=Forwarding(always=ext(f"10{n + 1}"))) for n in range(1, 5)]
    last = person(5, "105")

    plan = plan_call(chain[0], caller_is_local=True, people=people(*chain, last), ring_seconds=20)

    assert rings(plan) == [("105", 20)]


def test_not_signed_in_goes_to_the_unreachable_destination_else_voicemail() -> None:
    offline = person(1, "101", is_online=False)
    forwarded = person(1, "101", is_online=False, forwarding=Forwarding(unreachable=ext("102")))

    plain_plan = plan_call(offline, caller_is_local=True, people=people(offline, BOB), ring_seconds=20)
    forwarded_plan = plan_call(forwarded, caller_is_local=True, people=people(forwarded, BOB), ring_seconds=20)

    assert (rings(plain_plan), rings(forwarded_plan)) == ([], [("102", 20)])


def test_at_the_call_limit_goes_to_the_busy_destination_else_voicemail() -> None:
    busy = person(1, "101", is_busy=True)
    forwarded = person(1, "101", is_busy=True, forwarding=Forwarding(busy=ext("103")))

    plain_plan = plan_call(busy, caller_is_local=True, people=people(busy, CAROL), ring_seconds=20)
    forwarded_plan = plan_call(forwarded, caller_is_local=True, people=people(forwarded, CAROL), ring_seconds=20)

    assert (rings(plain_plan), rings(forwarded_plan)) == ([], [("103", 20)])


def test_no_answer_rings_the_user_for_its_ring_time_then_the_destination() -> None:
    alice = person(1, "101", forwarding=Forwarding(no_answer=ext("102"), no_answer_seconds=12))

    plan = plan_call(alice, caller_is_local=True, people=people(alice, BOB), ring_seconds=20)

    assert rings(plan) == [("101", 12), ("102", 20)]


def test_no_answer_to_999_rings_the_user_then_voicemail() -> None:
    alice = person(1, "101", forwarding=Forwarding(no_answer=VOICEMAIL, no_answer_seconds=8))

    plan = plan_call(alice, caller_is_local=True, people=people(alice), ring_seconds=20)

    assert rings(plan) == [("101", 8)]


# --- destinations and saving checks --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("102", ext("102")),
        ("999", VOICEMAIL),
        (" Mobile ", MOBILE),
        ("(416) 555-0199", Destination(DestinationKind.OUTSIDE, "+14165550199")),
    ],
)
def test_destinations_parse(text: str, expected: Destination) -> None:
    assert parse_destination(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("911", "911 cannot be a forwarding destination: emergency calls are never forwarded."),
        ("*86", "“*86” is not a destination: enter an extension, 999 for voicemail, “mobile”, or a phone number."),
        ("601", "“601” is not a destination: enter an extension, 999 for voicemail, “mobile”, or a phone number."),
        ("hello", "“hello” is not a destination: enter an extension, 999 for voicemail, “mobile”, or a phone number."),
    ],
)
def test_what_is_not_a_destination_is_refused(text: str, message: str) -> None:
    with pytest.raises(RoutingError) as refused:
        parse_destination(text)
    assert str(refused.value) == message


def test_a_destination_that_loops_back_is_refused_when_saved() -> None:
    # given bob forwards always to alice
    alice = person(1, "101")
    bob = person(2, "102", forwarding=Forwarding(always=ext("101")))

    # when alice saves a forward to bob
    with pytest.raises(RoutingError) as refused:
        check_destination(alice, ext("102"), people=people(alice, bob), what="Forward Always")

    # then
    assert str(refused.value) == (
        "Forward Always: that makes a forwarding loop (101 → 102 → 101); calls would never reach anyone."
    )


def test_a_destination_chain_longer_than_the_limit_is_refused_when_saved() -> None:
    # given 102 -> 103 -> 104 -> 105 -> 106
    chain = [person(n, f"10{n}", forwarding=Forwarding(always=ext(f"10{n + 1}"))) for n in range(2, 6)]
    alice = person(1, "101")

    with pytest.raises(RoutingError) as refused:
        check_destination(alice, ext("102"), people=people(alice, *chain, person(6, "106")), what="Forward Always")

    assert str(refused.value) == (
        "Forward Always: that forwards too many times (101 → 102 → 103 → 104 → 105 → 106); at most 4 forwards."
    )


def test_unknown_extensions_and_a_missing_mobile_are_refused_when_saved() -> None:
    alice = person(1, "101")
    with pytest.raises(RoutingError) as unknown:
        check_destination(alice, ext("150"), people=people(alice), what="Away, line 1")
    with pytest.raises(RoutingError) as mobile:
        check_destination(alice, MOBILE, people=people(alice), what="Away, line 1")
    assert str(unknown.value) == "Away, line 1: there is no extension 150 in your organisation."
    assert str(mobile.value) == "Away, line 1: add your mobile number first (Self Care > Devices)."


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((), "Away: add at least one destination."),
        ((Line(ext("102"), 4),), "Away, line 1: a timeout is 5 to 120 seconds."),
        ((Line(ext("102"), 121),), "Away, line 1: a timeout is 5 to 120 seconds."),
        (
            (Line(VOICEMAIL, 10), Line(ext("102"), 10)),
            "Away: nothing after 999 (voicemail) would ever ring; remove the lines after it.",
        ),
        (tuple(Line(ext("102"), 10) for _ in range(9)), "Away: at most 8 destinations."),
    ],
)
def test_rule_lines_are_checked(lines: tuple[Line, ...], message: str) -> None:
    with pytest.raises(RoutingError) as refused:
        check_lines(lines, what="Away")
    assert str(refused.value) == message


def test_a_999_line_needs_no_timeout() -> None:
    # given a rule whose last line is 999 with no timeout
    lines = (Line(ext("102"), 10), Line(VOICEMAIL, 0))

    # when / then it passes the checks (a refusal would raise)
    check_lines(lines, what="Away")
    assert lines[-1].destination.kind is DestinationKind.VOICEMAIL
