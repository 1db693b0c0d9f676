"""Voicemail messages: kept only when there is something in them, reachable by their owner only,
streamed with seeking."""

from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from tests.audio import write_wav
from toc.accounts.models import User
from toc.voicemail import services
from toc.voicemail.models import VoicemailMessage

pytestmark = pytest.mark.django_db


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def leave_message(user: User, tmp_path: Path, *, name: str = "Bob Tester", number: str = "102") -> VoicemailMessage:
    mailbox = services.get_mailbox(user=user)
    message = services.store_message(
        mailbox=mailbox,
        recording=write_wav(tmp_path / "m.wav", hz=700, seconds=2),
        caller_name=name,
        caller_number=number,
    )
    assert message is not None
    return message


def test_a_message_with_sound_is_kept_with_its_length(alice: User, tmp_path: Path) -> None:
    # when
    message = leave_message(alice, tmp_path)

    # then
    stored = VoicemailMessage.objects.get()
    assert (stored.pk, stored.folder, stored.caller_name, stored.caller_number, stored.duration_seconds) == (
        message.pk,
        "new",
        "Bob Tester",
        "102",
        2.0,
    )
    name = stored.audio.name or ""
    assert default_storage.exists(name)
    assert name.startswith(f"voicemail/messages/{alice.organisation_id}/")


@pytest.mark.parametrize(("hz", "seconds", "amplitude"), [(700, 3, 0.0), (700, 0.6, 0.3), (700, 3, 0.0005)])
def test_silent_or_empty_messages_are_dropped(
    alice: User, tmp_path: Path, hz: float, seconds: float, amplitude: float
) -> None:
    # when
    kept = services.store_message(
        mailbox=services.get_mailbox(user=alice),
        recording=write_wav(tmp_path / "m.wav", hz=hz, seconds=seconds, amplitude=amplitude),
        caller_name="Bob",
        caller_number="102",
    )

    # then
    assert kept is None
    assert VoicemailMessage.objects.count() == 0


def test_an_unreadable_recording_is_dropped(alice: User, tmp_path: Path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    kept = services.store_message(
        mailbox=services.get_mailbox(user=alice), recording=broken, caller_name="Bob", caller_number="102"
    )
    assert kept is None
    assert VoicemailMessage.objects.count() == 0


def test_the_owner_lists_their_messages_with_the_new_count(
    alice: User, alice_client: APIClient, tmp_path: Path
) -> None:
    # given
    message = leave_message(alice, tmp_path)

    # when
    response = alice_client.get("/api/voicemail/messages/")

    # then
    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {
                "id": str(message.pk),
                "folder": "new",
                "caller": {"name": "Bob Tester", "number": "102", "user_id": None},
                "created_at": message.created_at.isoformat(),
                "duration_seconds": 2.0,
                "audio_url": f"/api/voicemail/messages/{message.pk}/audio/",
            }
        ],
        "new_count": 1,
    }


def test_nobody_else_sees_or_hears_a_message(
    alice: User, bob_client: APIClient, carol_client: APIClient, anonymous_client: APIClient, tmp_path: Path
) -> None:
    # given alice's message
    message = leave_message(alice, tmp_path)
    audio = f"/api/voicemail/messages/{message.pk}/audio/"

    # then bob (same company), carol (another) and an anonymous client get nothing of it
    assert bob_client.get("/api/voicemail/messages/").json() == {"results": [], "new_count": 0}
    assert carol_client.get("/api/voicemail/messages/").json() == {"results": [], "new_count": 0}
    assert bob_client.get(audio).status_code == 404
    assert carol_client.get(audio).status_code == 404
    assert anonymous_client.get(audio).status_code in (401, 403)
    assert bob_client.post(f"/api/voicemail/messages/{message.pk}/save/").status_code == 404
    assert carol_client.delete(f"/api/voicemail/messages/{message.pk}/").status_code == 404
    assert VoicemailMessage.objects.get().folder == "new"


def test_the_owner_streams_the_audio_and_seeks_with_a_range(
    alice: User, alice_client: APIClient, tmp_path: Path
) -> None:
    # given
    message = leave_message(alice, tmp_path)
    url = f"/api/voicemail/messages/{message.pk}/audio/"
    whole = default_storage.open(message.audio.name or "", "rb").read()

    # when / then: the whole file
    response = alice_client.get(url)
    assert (response.status_code, response["Content-Type"], response["Accept-Ranges"]) == (200, "audio/wav", "bytes")
    assert body(response) == whole

    # a range in the middle, and the last 100 bytes
    middle = alice_client.get(url, headers={"Range": "bytes=1000-1999"})
    assert (middle.status_code, middle["Content-Range"]) == (206, f"bytes 1000-1999/{len(whole)}")
    assert body(middle) == whole[1000:2000]
    tail = alice_client.get(url, headers={"Range": "bytes=-100"})
    assert body(tail) == whole[-100:]

    # a range past the end is refused
    past = alice_client.get(url, headers={"Range": f"bytes={len(whole) + 10}-"})
    assert (past.status_code, past["Content-Range"]) == (416, f"bytes */{len(whole)}")


def test_save_moves_to_old_and_delete_removes_the_message_and_its_audio(
    alice: User, alice_client: APIClient, tmp_path: Path
) -> None:
    # given
    message = leave_message(alice, tmp_path)

    # when saved
    saved = alice_client.post(f"/api/voicemail/messages/{message.pk}/save/")

    # then
    assert (saved.status_code, saved.json()["folder"]) == (200, "old")
    assert alice_client.get("/api/voicemail/messages/").json()["new_count"] == 0

    # when deleted
    deleted = alice_client.delete(f"/api/voicemail/messages/{message.pk}/")

    # then
    assert deleted.status_code == 204
    assert VoicemailMessage.objects.count() == 0
    assert alice_client.delete(f"/api/voicemail/messages/{message.pk}/").status_code == 404


def test_deleting_removes_the_audio_file_after_commit(
    alice: User, tmp_path: Path, django_capture_on_commit_callbacks: object
) -> None:
    # given
    message = leave_message(alice, tmp_path)
    name = message.audio.name or ""

    # when
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        services.delete_message(user=alice, message_id=str(message.pk))

    # then
    assert not default_storage.exists(name)
