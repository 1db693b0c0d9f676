"""Self Care > Services > Call Forwarding: the Forwarding and App Presence tabs and "Test this
rule", as plain form posts and as htmx requests."""

from typing import Any

import pytest
from django.test import Client

from tests.calls.conftest import online
from toc.accounts.models import User
from toc.calls.models import CallForwarding, PresenceRule
from toc.calls.services import forwarding

pytestmark = pytest.mark.django_db

PAGE = "/selfcare/services/call-forwarding/"
RULES = "/selfcare/services/call-forwarding/presence/"
TRY = "/selfcare/services/call-forwarding/test/"
HTMX = {"HX-Request": "true"}
BLANK = {"always": "", "busy": "", "no_answer": "", "no_answer_seconds": "20", "unreachable": ""}


def save(user: User, *, always: str = "", busy: str = "") -> None:
    forwarding.save_forwarding(user=user, always=always, busy=busy, no_answer="", no_answer_seconds=20, unreachable="")


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in_and_come_back(db: None) -> None:
    for url in ("/selfcare/", "/selfcare/services/", PAGE):
        response = Client().get(url)
        assert (response.status_code, response["Location"]) == (302, f"/login/?next={url.replace('/', '%2F')}")
    assert Client().post(RULES, {}).status_code == 302


def test_the_services_page_sums_up_forwarding_and_links_to_its_editor(alice: User, bob: User) -> None:
    # given
    save(alice, busy="102")

    # when
    response = client_of(alice).get("/selfcare/services/")

    # then
    page = text(response)
    assert response.status_code == 200
    assert 'aria-label="Edit Call Forwarding"' in page
    assert "<dt>Busy</dt><dd>102</dd>" in page
    assert "<dt>Always</dt><dd>Off</dd>" in page


def test_saving_forwarding_by_a_plain_post_redirects_with_a_message(alice: User, bob: User) -> None:
    client = client_of(alice)

    response = client.post(PAGE, {**BLANK, "no_answer": "102", "no_answer_seconds": "15"}, follow=True)

    assert response.redirect_chain == [(f"{PAGE}?tab=forwarding", 302)]
    assert "Call forwarding saved." in text(response)
    stored = CallForwarding.objects.get(user=alice)
    assert (stored.no_answer_destination, stored.no_answer_seconds) == ("102", 15)


def test_saving_forwarding_with_htmx_returns_the_form_only(alice: User, bob: User) -> None:
    response = client_of(alice).post(PAGE, {**BLANK, "always": "999"}, headers=HTMX)

    page = text(response)
    assert response.status_code == 200
    assert page.startswith('<form class="card" id="forwarding-form"')
    assert "Call forwarding saved." in page
    assert 'value="999"' in page


def test_a_loop_is_refused_next_to_its_field_and_nothing_is_saved(alice: User, bob: User) -> None:
    # given alice forwards always to bob
    save(alice, always="102")

    # when bob forwards always to alice
    response = client_of(bob).post(PAGE, {**BLANK, "always": "101"}, headers=HTMX)

    # then
    page = text(response)
    assert response.status_code == 422
    assert (
        '<p class="field-error" id="always-error">Forward Always: that makes a forwarding loop (102 → 101 → 102); '
        "calls would never reach anyone.</p>"
    ) in page
    assert 'aria-invalid="true"' in page
    assert not CallForwarding.objects.filter(user=bob).exists()


def test_the_plus_button_adds_a_line_without_saving(alice: User) -> None:
    # when alice ticks Away, types one line and presses +
    data = {"away-enabled": "on", "away-destination": ["102"], "away-seconds": ["10"], "add_line": "away"}
    response = client_of(alice).post(RULES, data, headers=HTMX)

    # then the form comes back with two lines (the first as typed) and nothing is stored
    page = text(response)
    assert response.status_code == 200
    assert page.count('name="away-destination"') == 2
    assert 'name="away-destination" value="102"' in page
    assert not PresenceRule.objects.exists()


def test_the_remove_button_takes_a_line_out_without_saving(alice: User) -> None:
    data = {"away-destination": ["102", "999"], "away-seconds": ["10", ""], "remove_line": "away:0"}

    page = text(client_of(alice).post(RULES, data, headers=HTMX))

    assert page.count('name="away-destination"') == 1
    assert 'name="away-destination" value="999"' in page
    assert not PresenceRule.objects.exists()


def test_ticking_different_rules_for_local_calls_shows_the_local_lines(alice: User) -> None:
    data = {"away-enabled": "on", "away-local": "on", "action": "refresh"}

    page = text(client_of(alice).post(RULES, data, headers=HTMX))

    assert 'aria-label="Local calls: Destination / Timeout"' in page
    assert 'name="away-local-destination"' in page
    assert not PresenceRule.objects.exists()


def test_saving_rules_stores_the_ticked_presences_and_ignores_blank_lines(alice: User, bob: User) -> None:
    data = {
        "away-enabled": "on",
        "away-destination": ["102", "", "999"],
        "away-seconds": ["10", "20", ""],
        "away-local": "on",
        "away-local-destination": ["101"],
        "away-local-seconds": ["15"],
        "vacation-destination": [""],
        "vacation-seconds": ["20"],
    }

    response = client_of(alice).post(RULES, data, follow=True)

    assert response.redirect_chain == [(f"{PAGE}?tab=presence", 302)]
    assert "App Presence rules saved." in text(response)
    rule = PresenceRule.objects.get(user=alice)
    assert (rule.status, rule.is_enabled, rule.lines, rule.local_lines) == (
        "away",
        True,
        [{"destination": "102", "seconds": 10}, {"destination": "999", "seconds": 0}],
        [{"destination": "101", "seconds": 15}],
    )


def test_a_bad_rule_is_refused_beside_its_presence_and_nothing_changes(alice: User, bob: User) -> None:
    # given a saved Away rule
    forwarding.save_presence_rules(user=alice, rules={"away": forwarding.RuleInput(True, [("102", 10)])})

    # when alice saves At Lunch with an unknown extension and an unreadable timeout elsewhere
    data = {
        "away-enabled": "on",
        "away-destination": ["999"],
        "away-seconds": [""],
        "at_lunch-enabled": "on",
        "at_lunch-destination": ["150"],
        "at_lunch-seconds": ["10"],
    }
    response = client_of(alice).post(RULES, data, headers=HTMX)

    # then
    page = text(response)
    assert response.status_code == 422
    assert "At Lunch, line 1: there is no extension 150 in your organisation." in page
    assert list(PresenceRule.objects.filter(user=alice).values_list("status", "lines")) == [
        ("away", [{"destination": "102", "seconds": 10}])
    ]


def test_an_unreadable_timeout_is_refused(alice: User, bob: User) -> None:
    data = {"away-enabled": "on", "away-destination": ["102"], "away-seconds": ["ten"]}

    response = client_of(alice).post(RULES, data, headers=HTMX)

    assert response.status_code == 422
    assert "Away, line 1: enter the timeout in seconds." in text(response)
    assert not PresenceRule.objects.exists()


def test_trying_a_rule_lists_what_would_ring(alice: User, bob: User) -> None:
    # given alice's Away rule rings bob for 10 s, then voicemail
    forwarding.save_presence_rules(user=alice, rules={"away": forwarding.RuleInput(True, [("102", 10), ("999", 0)])})
    online(bob)

    # when
    away = text(client_of(alice).post(TRY, {"presence": "away", "caller": "local"}, headers=HTMX))
    available = text(client_of(alice).post(TRY, {"presence": "available", "caller": "outside"}, headers=HTMX))
    wrong = client_of(alice).post(TRY, {"presence": "away", "caller": "robot"}, headers=HTMX)

    # then
    assert "<li>Ring <strong>Bob Tester (102)</strong> for 10 s</li>" in away
    assert "<li>Then your voicemail</li>" in away
    assert "<li>Ring <strong>Alice Tester (101)</strong> for 20 s</li>" in available
    assert (wrong.status_code, "Choose a local or an outside caller." in text(wrong)) == (422, True)


def test_each_user_sees_and_changes_only_their_own_forwarding(alice: User, bob: User, carol: User) -> None:
    # given bob forwards busy calls to 999
    save(bob, busy="999")

    # when carol (another organisation) and alice open and save their own pages
    carol_page = text(client_of(carol).get(PAGE))
    client_of(alice).post(PAGE, {**BLANK, "busy": "102"})

    # then neither sees nor touches bob's
    assert 'id="busy" name="busy" value=""' in carol_page
    assert CallForwarding.objects.get(user=bob).busy_destination == "999"
