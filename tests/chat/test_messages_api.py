"""Messages: numbered, stored once per client_id, paged, edited and deleted by their sender
only, reacted to, read marks and unread counts, search."""

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.chat.conftest import make_group, open_direct, plain, send, upload
from tests.conftest import client_for
from tests.factories import make_user
from toc.accounts.models import Organisation, User
from toc.chat import selectors
from toc.chat.models import Conversation, Message, Reaction

pytestmark = pytest.mark.django_db


def test_messages_are_numbered_and_stored_verbatim(alice_client: APIClient, bob_client: APIClient, bob: User) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    injection = '<img src=x onerror="alert(1)"><script>alert(2)</script>'

    # when
    first = send(alice_client, conversation_id, "Hello Bob\nsecond line")
    second = send(bob_client, conversation_id, injection)

    # then
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["sequence"], second.json()["sequence"]) == (1, 2)
    page = bob_client.get(f"/api/chat/conversations/{conversation_id}/messages/").json()
    assert [message["envelope"] for message in page["results"]] == [plain("Hello Bob\nsecond line"), plain(injection)]
    assert [message["sender"]["name"] for message in page["results"]] == ["Alice Tester", "Bob Tester"]
    assert page["has_more"] is False


def test_a_retried_send_is_stored_once(alice_client: APIClient, bob: User) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    client_id = str(uuid.uuid4())

    # when
    first = send(alice_client, conversation_id, "only once", client_id=client_id)
    retry = send(alice_client, conversation_id, "only once", client_id=client_id)

    # then
    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["id"] == retry.json()["id"]
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    ("envelope", "error"),
    [
        ({"format": "toc.plain/1", "payload": {"text": "   ", "attachments": []}}, "The message is empty."),
        ({"format": "toc.secret/9", "payload": {}}, "Unknown message format 'toc.secret/9'."),
        ({"format": "toc.event/1", "payload": {"event": "created"}}, "Unknown message format 'toc.event/1'."),
        (
            {"format": "toc.plain/1", "payload": {"text": "x" * 10_001}},
            "The message is too long (10001 characters; at most 10000).",
        ),
        ("hello", 'A message is {"format": ..., "payload": ...}.'),
        ({"format": ["toc.plain/1"], "payload": {}}, "Unknown message format \"['toc.plain/1']\"."),
        (
            {"format": "toc.plain/1", "payload": {"text": "a\x00b"}},
            "The message holds a NUL character, which cannot be stored.",
        ),
        (
            {"format": "toc.plain/1", "payload": {"text": "", "attachments": [{"id": "made-up", "name": "x.exe"}]}},
            "The files the message describes are not the files it carries.",
        ),
        (
            {"format": "toc.plain/1", "payload": {"text": 5}},
            'A plain message\'s payload is {"text": ..., "attachments": [...]}.',
        ),
    ],
)
def test_a_bad_envelope_is_refused(alice_client: APIClient, bob: User, envelope: object, error: str) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)

    # when
    response = alice_client.post(
        f"/api/chat/conversations/{conversation_id}/messages/", {"envelope": envelope}, format="json"
    )

    # then
    assert response.status_code == 400
    assert response.json()["errors"] == {"envelope": [error]}
    assert Message.objects.count() == 0


def test_history_pages_back_and_forward(alice_client: APIClient, bob: User) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    for number in range(1, 8):
        send(alice_client, conversation_id, f"m{number}")
    url = f"/api/chat/conversations/{conversation_id}/messages/"

    # when
    newest = alice_client.get(f"{url}?limit=3").json()
    older = alice_client.get(f"{url}?limit=3&before=5").json()
    oldest = alice_client.get(f"{url}?limit=3&before=2").json()
    newer = alice_client.get(f"{url}?limit=3&after=5").json()
    both = alice_client.get(f"{url}?before=3&after=1")

    # then
    def sequences(page: dict) -> list[int]:
        return [message["sequence"] for message in page["results"]]

    assert (sequences(newest), newest["has_more"]) == ([5, 6, 7], True)
    assert (sequences(older), older["has_more"]) == ([2, 3, 4], True)
    assert (sequences(oldest), oldest["has_more"]) == ([1], False)
    assert (sequences(newer), newer["has_more"]) == ([6, 7], False)
    assert both.status_code == 400


def test_only_the_sender_edits_or_deletes(alice_client: APIClient, bob_client: APIClient, bob: User) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    message_id = send(alice_client, conversation_id, "typo").json()["id"]

    # when
    bob_edit = bob_client.patch(f"/api/chat/messages/{message_id}/", {"envelope": plain("hacked")}, format="json")
    bob_delete = bob_client.delete(f"/api/chat/messages/{message_id}/")
    edited = alice_client.patch(f"/api/chat/messages/{message_id}/", {"envelope": plain("fixed")}, format="json")

    # then
    assert (bob_edit.status_code, bob_delete.status_code) == (403, 403)
    assert bob_edit.json()["detail"] == "You can edit only your own messages."
    assert edited.status_code == 200
    assert edited.json()["envelope"] == plain("fixed")
    assert edited.json()["edited_at"] is not None


def test_a_deleted_message_keeps_its_place_and_loses_its_content(
    alice_client: APIClient, bob_client: APIClient, bob: User
) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    message_id = send(alice_client, conversation_id, "oops wrong chat").json()["id"]
    bob_client.put(f"/api/chat/messages/{message_id}/reactions/", {"emoji": "👍", "reacted": True}, format="json")

    # when
    deleted = alice_client.delete(f"/api/chat/messages/{message_id}/")

    # then
    assert deleted.status_code == 204
    (seen,) = bob_client.get(f"/api/chat/conversations/{conversation_id}/messages/").json()["results"]
    assert (seen["sequence"], seen["envelope"], seen["reactions"], seen["attachment_ids"]) == (1, None, [], [])
    assert seen["deleted_at"] is not None
    assert alice_client.get("/api/chat/search/?q=wrong").json() == {"results": []}
    again = alice_client.patch(f"/api/chat/messages/{message_id}/", {"envelope": plain("x")}, format="json")
    assert again.status_code == 400
    assert Reaction.objects.count() == 0


def test_reactions_toggle_and_say_who(
    alice_client: APIClient, bob_client: APIClient, alice: User, bob: User, dave: User
) -> None:
    # given
    conversation_id = make_group(alice_client, [bob, dave])
    message_id = send(alice_client, conversation_id, "lunch?").json()["id"]
    url = f"/api/chat/messages/{message_id}/reactions/"

    # when
    alice_client.put(url, {"emoji": "👍", "reacted": True}, format="json")
    bob_client.put(url, {"emoji": "👍", "reacted": True}, format="json")
    bob_client.put(url, {"emoji": "👍", "reacted": True}, format="json")
    bob_client.put(url, {"emoji": "🎉", "reacted": True}, format="json")
    final = bob_client.put(url, {"emoji": "🎉", "reacted": False}, format="json")
    refused = bob_client.put(url, {"emoji": "<b>", "reacted": True}, format="json")

    # then
    assert final.json()["reactions"] == [
        {"emoji": "👍", "count": 2, "user_ids": [alice.pk, bob.pk], "names": ["Alice Tester", "Bob Tester"]}
    ]
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"emoji": ["A reaction is one emoji."]}
    assert sorted(Reaction.objects.values_list("emoji", "user_id")) == [("👍", alice.pk), ("👍", bob.pk)]


def test_unread_counts_follow_read_marks(alice_client: APIClient, bob_client: APIClient, bob: User) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    for text in ("one", "two", "three"):
        send(alice_client, conversation_id, text)
    read_url = f"/api/chat/conversations/{conversation_id}/read/"

    # when
    before = bob_client.get("/api/chat/conversations/").json()
    marked = bob_client.post(read_url, {"sequence": 2}, format="json").json()
    backwards = bob_client.post(read_url, {"sequence": 1}, format="json").json()
    beyond = bob_client.post(read_url, {"sequence": 99}, format="json").json()

    # then
    assert (before["unread_total"], before["results"][0]["unread_count"]) == (3, 3)
    assert (marked["last_read_sequence"], marked["unread_count"], marked["unread_total"]) == (2, 1, 1)
    assert (backwards["last_read_sequence"], backwards["unread_count"]) == (2, 1)
    assert (beyond["last_read_sequence"], beyond["unread_count"], beyond["unread_total"]) == (3, 0, 0)
    assert alice_client.get("/api/chat/conversations/").json()["unread_total"] == 0


def test_replying_marks_what_came_before_as_read(alice_client: APIClient, bob_client: APIClient, bob: User) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    send(alice_client, conversation_id, "are you there?")

    # when
    send(bob_client, conversation_id, "yes")

    # then
    listed = bob_client.get("/api/chat/conversations/").json()
    assert (listed["unread_total"], listed["results"][0]["last_read_sequence"]) == (0, 2)


def test_search_finds_every_word_in_my_conversations_only(
    alice_client: APIClient, carol_client: APIClient, dave_client: APIClient, bob: User
) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    send(alice_client, conversation_id, "The quarterly REPORT is ready")
    send(alice_client, conversation_id, "report later")

    # when
    found = alice_client.get("/api/chat/search/?q=report quarterly").json()["results"]
    not_member = dave_client.get("/api/chat/search/?q=report").json()["results"]
    other_organisation = carol_client.get("/api/chat/search/?q=report").json()["results"]
    too_short = alice_client.get("/api/chat/search/?q=r")

    # then
    assert [(hit["conversation"]["name"], hit["message"]["sequence"]) for hit in found] == [("Bob Tester", 1)]
    assert (not_member, other_organisation) == ([], [])
    assert too_short.status_code == 400


def test_a_heart_with_or_without_its_variation_selector_is_one_reaction(
    alice_client: APIClient, bob_client: APIClient, bob: User
) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    url = f"/api/chat/messages/{send(alice_client, conversation_id, 'love it').json()['id']}/reactions/"

    # when
    alice_client.put(url, {"emoji": "\u2764", "reacted": True}, format="json")
    final = bob_client.put(url, {"emoji": "\u2764\ufe0f", "reacted": True}, format="json")

    # then
    assert [(item["emoji"], item["count"]) for item in final.json()["reactions"]] == [("\u2764\ufe0f", 2)]


def test_the_emoji_catalogue_is_cached_by_etag(alice_client: APIClient, anonymous_client: APIClient) -> None:
    # when
    first = alice_client.get("/api/chat/emoji/")
    again = alice_client.get("/api/chat/emoji/", HTTP_IF_NONE_MATCH=first["ETag"])

    # then
    assert first.status_code == 200
    assert {"char": "😀", "name": "grinning face"}.items() <= first.json()["emoji"][0].items()
    assert again.status_code == 304
    assert anonymous_client.get("/api/chat/emoji/").status_code == 403


def test_deleting_twice_is_done_once(alice_client: APIClient, bob: User) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    message_id = send(alice_client, conversation_id, "bye").json()["id"]

    # when
    first = alice_client.delete(f"/api/chat/messages/{message_id}/")
    again = alice_client.delete(f"/api/chat/messages/{message_id}/")

    # then
    assert (first.status_code, again.status_code) == (204, 204)
    assert Message.objects.get().deleted_at is not None


def test_an_edit_keeps_the_files_a_message_carries(alice_client: APIClient, bob: User) -> None:
    # given a message with a file
    conversation_id = open_direct(alice_client, bob)
    attachment = upload(alice_client, conversation_id, "a.txt", b"abc", "text/plain").json()
    message = send(
        alice_client, conversation_id, "", envelope=plain("see file", [attachment]), attachment_ids=[attachment["id"]]
    ).json()

    # when
    dropped = alice_client.patch(f"/api/chat/messages/{message['id']}/", {"envelope": plain("no file")}, format="json")
    kept = alice_client.patch(
        f"/api/chat/messages/{message['id']}/", {"envelope": plain("see the file", [attachment])}, format="json"
    )

    # then
    assert dropped.status_code == 400
    assert dropped.json()["errors"] == {"envelope": ["The files the message describes are not the files it carries."]}
    assert (kept.status_code, kept.json()["attachment_ids"]) == (200, [attachment["id"]])


def test_nobody_sends_a_file_someone_else_uploaded(alice_client: APIClient, bob_client: APIClient, bob: User) -> None:
    # given alice's upload in the chat she shares with bob
    conversation_id = open_direct(alice_client, bob)
    attachment = upload(alice_client, conversation_id, "a.txt", b"abc", "text/plain").json()

    # when bob tries to send it as his
    response = send(
        bob_client, conversation_id, "", envelope=plain("", [attachment]), attachment_ids=[attachment["id"]]
    )

    # then
    assert response.status_code == 400
    assert Message.objects.count() == 0


def test_reacting_costs_the_same_few_queries_however_many_reacted(
    alice_client: APIClient, acme: Organisation, django_assert_max_num_queries: Any
) -> None:
    # given a message of a group of 31 that 30 people reacted to
    colleagues = [make_user(acme, f"fan{number}") for number in range(30)]
    conversation_id = make_group(alice_client, colleagues)
    message_id = send(alice_client, conversation_id, "big news").json()["id"]
    for colleague in colleagues:
        client_for(colleague).put(
            f"/api/chat/messages/{message_id}/reactions/", {"emoji": "🎉", "reacted": True}, format="json"
        )

    # when / then
    with django_assert_max_num_queries(16):
        response = alice_client.put(
            f"/api/chat/messages/{message_id}/reactions/", {"emoji": "🎉", "reacted": True}, format="json"
        )
    assert response.json()["reactions"][0]["count"] == 31


def test_two_sends_of_one_client_id_at_once_store_it_once(
    alice_client: APIClient, bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the first send is stored, and the second's early look for it came just before
    conversation_id = open_direct(alice_client, bob)
    client_id = str(uuid.uuid4())
    first = send(alice_client, conversation_id, "at once", client_id=client_id).json()
    looks = []
    real_lookup = selectors.get_sent_message

    def raced_lookup(**kwargs: Any) -> Any:
        looks.append(kwargs["client_id"])
        return None if len(looks) == 1 else real_lookup(**kwargs)

    monkeypatch.setattr(selectors, "get_sent_message", raced_lookup)

    # when
    second = send(alice_client, conversation_id, "at once", client_id=client_id)

    # then the database's unique constraint catches it and the first message is the answer
    assert (second.status_code, second.json()["id"], len(looks)) == (200, first["id"], 2)
    assert Message.objects.count() == 1
    assert Conversation.objects.get().last_sequence == 1
