"""Conversations: one direct chat per pair, groups with members, only members reach them."""

import pytest
from rest_framework.test import APIClient

from tests.chat.conftest import make_group, open_direct, plain, send, upload
from tests.factories import make_user
from toc.accounts.models import Organisation, User
from toc.chat.models import Conversation, Membership, Message, Reaction

pytestmark = pytest.mark.django_db


def test_a_direct_chat_is_made_once_per_pair(
    alice_client: APIClient, bob_client: APIClient, alice: User, bob: User
) -> None:
    # when
    first = alice_client.post("/api/chat/conversations/", {"kind": "direct", "user_id": bob.pk}, format="json")
    again = bob_client.post("/api/chat/conversations/", {"kind": "direct", "user_id": alice.pk}, format="json")

    # then
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert (first.json()["kind"], first.json()["name"], first.json()["other_user_id"]) == (
        "direct",
        "Bob Tester",
        bob.pk,
    )
    assert again.json()["name"] == "Alice Tester"
    assert Conversation.objects.count() == 1
    assert sorted(Membership.objects.values_list("user_id", flat=True)) == sorted([alice.pk, bob.pk])


def test_no_direct_chat_with_yourself_or_another_organisation(
    alice_client: APIClient, alice: User, carol: User
) -> None:
    # when
    yourself = alice_client.post("/api/chat/conversations/", {"kind": "direct", "user_id": alice.pk}, format="json")
    other_org = alice_client.post("/api/chat/conversations/", {"kind": "direct", "user_id": carol.pk}, format="json")

    # then
    assert (yourself.status_code, other_org.status_code) == (400, 400)
    assert yourself.json()["errors"] == {"user_id": ["Choose someone else to chat with."]}
    assert other_org.json()["errors"] == {"user_id": [f"No colleague has the id {carol.pk}."]}
    assert Conversation.objects.count() == 0


def test_a_group_starts_with_a_notice_and_lists_its_members(
    alice_client: APIClient, alice: User, bob: User, dave: User
) -> None:
    # when
    conversation_id = make_group(alice_client, [bob, dave], name="  Sales   team ")

    # then
    described = alice_client.get(f"/api/chat/conversations/{conversation_id}/").json()
    assert (described["kind"], described["name"], described["member_count"]) == ("group", "Sales team", 3)
    assert [member["user_id"] for member in described["members"]] == [alice.pk, bob.pk, dave.pk]
    notice = described["last_message"]
    assert (notice["kind"], notice["sequence"], notice["sender"]["user_id"]) == ("event", 1, alice.pk)
    assert notice["envelope"]["payload"] == {
        "event": "created",
        "actor_id": alice.pk,
        "user_ids": [bob.pk, dave.pk],
        "names": ["Bob Tester", "Dave Tester"],
        "name": "Sales team",
    }
    assert described["unread_count"] == 0


def test_a_group_of_another_organisations_people_is_refused(alice_client: APIClient, bob: User, carol: User) -> None:
    # when
    response = alice_client.post(
        "/api/chat/conversations/", {"kind": "group", "name": "X", "member_ids": [bob.pk, carol.pk]}, format="json"
    )

    # then
    assert response.status_code == 400
    assert response.json()["errors"] == {"member_ids": [f"No colleague has the id {carol.pk}."]}
    assert Conversation.objects.count() == 0


def test_only_members_see_a_conversation(
    alice_client: APIClient,
    dave_client: APIClient,
    carol_client: APIClient,
    anonymous_client: APIClient,
    bob: User,
    carol: User,
) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    send(alice_client, conversation_id, "secret plans")
    urls = [
        f"/api/chat/conversations/{conversation_id}/",
        f"/api/chat/conversations/{conversation_id}/messages/",
    ]

    # then
    for client, expected in ((dave_client, 404), (carol_client, 404), (anonymous_client, 403)):
        assert [client.get(url).status_code for url in urls] == [expected, expected]
        assert client.get("/api/chat/conversations/").status_code == (200 if expected == 404 else expected)
    assert dave_client.get("/api/chat/conversations/").json() == {"results": [], "unread_total": 0}
    refused = send(carol_client, conversation_id, "let me in")
    assert refused.status_code == 404
    joined = carol_client.post(
        f"/api/chat/conversations/{conversation_id}/members/", {"user_ids": [carol.pk]}, format="json"
    )
    assert joined.status_code == 404
    assert Message.objects.count() == 1
    assert Membership.objects.filter(user=carol).count() == 0


def test_members_add_rename_remove_and_leave(
    alice_client: APIClient, bob_client: APIClient, dave_client: APIClient, alice: User, bob: User, dave: User
) -> None:
    # given
    conversation_id = make_group(alice_client, [bob])
    base = f"/api/chat/conversations/{conversation_id}"

    # when
    added = bob_client.post(f"{base}/members/", {"user_ids": [dave.pk]}, format="json")
    renamed = dave_client.patch(f"{base}/", {"name": "Sales West"}, format="json")
    removed = alice_client.delete(f"{base}/members/{bob.pk}/")
    left = dave_client.delete(f"{base}/members/{dave.pk}/")

    # then
    assert (added.status_code, renamed.status_code, removed.status_code, left.status_code) == (200, 200, 204, 204)
    assert renamed.json()["name"] == "Sales West"
    assert list(Membership.objects.values_list("user_id", flat=True)) == [alice.pk]
    assert bob_client.get(f"{base}/").status_code == 404
    notices = [
        message["envelope"]["payload"]["event"] for message in alice_client.get(f"{base}/messages/").json()["results"]
    ]
    assert notices == ["created", "added", "renamed", "removed", "left"]


def test_a_direct_chat_keeps_its_two_members(alice_client: APIClient, bob: User, dave: User) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)

    # when
    added = alice_client.post(
        f"/api/chat/conversations/{conversation_id}/members/", {"user_ids": [dave.pk]}, format="json"
    )
    left = alice_client.delete(f"/api/chat/conversations/{conversation_id}/members/{bob.pk}/")

    # then
    assert (added.status_code, left.status_code) == (400, 400)
    assert Membership.objects.count() == 2


def test_mute_is_mine_alone(alice_client: APIClient, bob_client: APIClient, bob: User) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)

    # when
    muted = alice_client.put(f"/api/chat/conversations/{conversation_id}/mute/", {"is_muted": True}, format="json")

    # then
    assert muted.json()["is_muted"] is True
    assert bob_client.get(f"/api/chat/conversations/{conversation_id}/").json()["is_muted"] is False


def test_a_member_added_later_owes_nothing_of_the_history(
    alice_client: APIClient, dave_client: APIClient, bob: User, dave: User
) -> None:
    # given
    conversation_id = make_group(alice_client, [bob])
    for number in range(5):
        send(alice_client, conversation_id, f"before dave {number}")

    # when
    alice_client.post(f"/api/chat/conversations/{conversation_id}/members/", {"user_ids": [dave.pk]}, format="json")
    send(alice_client, conversation_id, "hello dave")

    # then
    listed = dave_client.get("/api/chat/conversations/").json()
    assert (listed["unread_total"], listed["results"][0]["unread_count"]) == (1, 1)
    history = dave_client.get(f"/api/chat/conversations/{conversation_id}/messages/").json()["results"]
    assert len(history) == 8  # created, five messages, added, hello


def test_big_groups_list_twenty_members_and_their_count(
    alice_client: APIClient, alice: User, acme: Organisation
) -> None:
    # given a group of alice and 24 colleagues
    colleagues = [make_user(acme, f"colleague{number}") for number in range(24)]
    conversation_id = make_group(alice_client, colleagues, name="All hands")

    # when
    listed = alice_client.get("/api/chat/conversations/").json()["results"][0]
    detail = alice_client.get(f"/api/chat/conversations/{conversation_id}/").json()

    # then
    assert (len(listed["members"]), listed["member_count"]) == (20, 25)
    assert [member["user_id"] for member in listed["members"]] == [alice.pk] + [c.pk for c in colleagues[:19]]
    assert (len(detail["members"]), detail["member_count"]) == (25, 25)


@pytest.mark.parametrize("persona", ["dave", "carol"])
def test_outsiders_change_nothing_in_a_conversation(
    persona: str, alice_client: APIClient, bob: User, request: pytest.FixtureRequest
) -> None:
    # given a group of alice and bob with a message, and dave (same organisation) or carol (another)
    conversation_id = make_group(alice_client, [bob], name="Inner")
    message_id = send(alice_client, conversation_id, "inner circle").json()["id"]
    outsider: APIClient = request.getfixturevalue(f"{persona}_client")
    base = f"/api/chat/conversations/{conversation_id}"
    state = (Message.objects.count(), Membership.objects.count(), Conversation.objects.get().name)

    # when
    answers = [
        outsider.patch(f"{base}/", {"name": "Mine"}, format="json").status_code,
        outsider.put(f"{base}/mute/", {"is_muted": True}, format="json").status_code,
        outsider.post(f"{base}/read/", {"sequence": 2}, format="json").status_code,
        outsider.post(f"{base}/typing/").status_code,
        outsider.delete(f"{base}/members/{bob.pk}/").status_code,
        outsider.put(
            f"/api/chat/messages/{message_id}/reactions/", {"emoji": "👍", "reacted": True}, format="json"
        ).status_code,
        outsider.patch(f"/api/chat/messages/{message_id}/", {"envelope": plain("mine")}, format="json").status_code,
        outsider.delete(f"/api/chat/messages/{message_id}/").status_code,
    ]

    # then
    assert answers == [404] * 8
    assert (Message.objects.count(), Membership.objects.count(), Conversation.objects.get().name) == state
    assert Reaction.objects.count() == 0
    assert Message.objects.get(pk=message_id).envelope == plain("inner circle")


def test_a_removed_member_loses_the_conversation_and_its_files(
    alice_client: APIClient, bob_client: APIClient, bob: User, dave: User
) -> None:
    # given
    conversation_id = make_group(alice_client, [bob])
    message_id = send(alice_client, conversation_id, "for members").json()["id"]
    attachment = upload(alice_client, conversation_id, "plan.txt", b"the plan", "text/plain").json()
    send(alice_client, conversation_id, "", envelope=plain("", [attachment]), attachment_ids=[attachment["id"]])
    assert bob_client.get(attachment["url"]).status_code == 200

    # when
    alice_client.delete(f"/api/chat/conversations/{conversation_id}/members/{bob.pk}/")

    # then
    assert bob_client.get(attachment["url"]).status_code == 404
    assert bob_client.get(f"/api/chat/conversations/{conversation_id}/messages/").status_code == 404
    reacted = bob_client.put(
        f"/api/chat/messages/{message_id}/reactions/", {"emoji": "👍", "reacted": True}, format="json"
    )
    assert reacted.status_code == 404
    assert bob_client.get("/api/chat/search/?q=members").json() == {"results": []}
