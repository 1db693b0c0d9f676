"""Files in chat: uploaded into a conversation, sent in a message, downloaded byte-identical by
members only, refused when too big, deleted with their message or when never sent."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from rest_framework.test import APIClient

from tests.chat.conftest import open_direct, plain, upload
from toc.accounts.models import User
from toc.chat import services
from toc.chat.models import Attachment

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_file_sent_in_a_message_reaches_members_byte_identical(
    alice_client: APIClient, bob_client: APIClient, dave_client: APIClient, carol_client: APIClient, bob: User
) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    data = bytes(range(256)) * 1000

    # when
    uploaded = upload(alice_client, conversation_id, "../../etc/Report Q3.pdf", data, "application/pdf")
    attachment = uploaded.json()
    sent = alice_client.post(
        f"/api/chat/conversations/{conversation_id}/messages/",
        {"envelope": plain("", [attachment]), "attachment_ids": [attachment["id"]]},
        format="json",
    )

    # then
    assert uploaded.status_code == 201
    assert (attachment["name"], attachment["kind"], attachment["size"], attachment["content_type"]) == (
        "Report Q3.pdf",
        "file",
        256_000,
        "application/pdf",
    )
    assert sent.json()["attachment_ids"] == [attachment["id"]]
    downloaded = bob_client.get(attachment["url"])
    assert downloaded.status_code == 200
    assert body(downloaded) == data
    assert downloaded["Content-Disposition"] == 'attachment; filename="Report Q3.pdf"'
    assert "sandbox" in downloaded["Content-Security-Policy"]
    assert (dave_client.get(attachment["url"]).status_code, carol_client.get(attachment["url"]).status_code) == (
        404,
        404,
    )
    stored = Attachment.objects.get()
    assert "Report" not in (stored.file.name or "")


def test_pictures_and_voice_show_inline_and_download_on_request(alice_client: APIClient, bob: User) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)

    # when
    picture = upload(alice_client, conversation_id, "cat.png", PNG, "image/png").json()
    voice = upload(
        alice_client,
        conversation_id,
        "voice.webm",
        b"\x1a\x45\xdf\xa3" * 50,
        "audio/webm;codecs=opus",
        kind="voice",
        duration_seconds="4.25",
    ).json()

    # then
    assert (picture["kind"], voice["kind"], voice["duration_seconds"], voice["content_type"]) == (
        "image",
        "voice",
        4.25,
        "audio/webm",
    )
    assert alice_client.get(picture["url"])["Content-Disposition"] == 'inline; filename="cat.png"'
    assert alice_client.get(picture["url"] + "?download=1")["Content-Disposition"] == 'attachment; filename="cat.png"'
    assert alice_client.get(voice["url"])["Content-Type"] == "audio/webm"


def test_a_file_over_the_limit_is_refused_and_nothing_is_kept(
    alice_client: APIClient, bob: User, settings, tmp_path
) -> None:
    # given
    settings.CHAT_MAX_ATTACHMENT_BYTES = 1000
    conversation_id = open_direct(alice_client, bob)
    files_before = default_storage.listdir("chat")[0] if default_storage.exists("chat") else []

    # when
    response = upload(alice_client, conversation_id, "big.bin", b"x" * 1001, "application/octet-stream")
    not_voice = upload(
        alice_client, conversation_id, "a.txt", b"text", "text/plain", kind="voice", duration_seconds="2"
    )

    # then
    assert response.status_code == 400
    assert response.json()["errors"] == {"file": ["The file is 1001 bytes: files up to 1000 bytes can be sent."]}
    assert not_voice.json()["errors"] == {"kind": ["A voice message is an audio file."]}
    assert Attachment.objects.count() == 0
    assert (default_storage.listdir("chat")[0] if default_storage.exists("chat") else []) == files_before


def test_a_non_member_cannot_upload_or_send_someone_elses_file(
    alice_client: APIClient, bob_client: APIClient, dave_client: APIClient, bob: User, dave: User
) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    other_id = open_direct(dave_client, bob)
    attachment = upload(alice_client, conversation_id, "a.txt", b"abc", "text/plain").json()

    # when
    outsider = upload(dave_client, conversation_id, "b.txt", b"abc", "text/plain")
    stolen = bob_client.post(
        f"/api/chat/conversations/{other_id}/messages/",
        {"envelope": plain("", [attachment]), "attachment_ids": [attachment["id"]]},
        format="json",
    )

    # then
    assert outsider.status_code == 404
    assert stolen.status_code == 400
    assert stolen.json()["errors"] == {
        "attachment_ids": ["A file of this message was not uploaded here, or was sent already."]
    }
    assert dave_client.get(attachment["url"]).status_code == 404


def test_deleting_a_message_deletes_its_files(
    alice_client: APIClient, bob_client: APIClient, bob: User, django_capture_on_commit_callbacks
) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    attachment = upload(alice_client, conversation_id, "a.txt", b"abc", "text/plain").json()
    message = alice_client.post(
        f"/api/chat/conversations/{conversation_id}/messages/",
        {"envelope": plain("", [attachment]), "attachment_ids": [attachment["id"]]},
        format="json",
    ).json()
    name = Attachment.objects.get().file.name or ""

    # when
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.delete(f"/api/chat/messages/{message['id']}/")

    # then
    assert bob_client.get(attachment["url"]).status_code == 404
    assert Attachment.objects.count() == 0
    assert not default_storage.exists(name)


def test_uploads_never_sent_are_swept_after_a_day(alice: User, bob: User, alice_client: APIClient, settings) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    old = upload(alice_client, conversation_id, "old.txt", b"old", "text/plain").json()
    fresh = upload(alice_client, conversation_id, "new.txt", b"new", "text/plain").json()
    Attachment.objects.filter(pk=old["id"]).update(created_at=timezone.now() - timedelta(hours=25))
    old_name = Attachment.objects.get(pk=old["id"]).file.name or ""

    # when
    swept = services.delete_unsent_attachments()

    # then
    assert swept == 1
    assert list(Attachment.objects.values_list("name", flat=True)) == ["new.txt"]
    assert not default_storage.exists(old_name)
    assert alice_client.get(fresh["url"]).status_code == 200


def test_a_voice_message_streams_by_byte_range_so_players_can_seek(
    alice_client: APIClient, bob_client: APIClient, bob: User
) -> None:
    # given
    conversation_id = open_direct(alice_client, bob)
    data = bytes(range(256)) * 8
    voice = upload(
        alice_client, conversation_id, "v.webm", data, "audio/webm", kind="voice", duration_seconds="3"
    ).json()

    # when
    middle = bob_client.get(voice["url"], HTTP_RANGE="bytes=100-199")
    beyond = bob_client.get(voice["url"], HTTP_RANGE="bytes=5000-")

    # then
    assert middle.status_code == 206
    assert (middle["Content-Range"], middle["Accept-Ranges"], body(middle)) == (
        "bytes 100-199/2048",
        "bytes",
        data[100:200],
    )
    assert middle["Content-Disposition"] == 'inline; filename="v.webm"'
    assert (beyond.status_code, beyond["Content-Range"]) == (416, "bytes */2048")
