"""The mailbox API: my settings (greeting in use, voicemail to e-mail) and my recordings
(upload, hear, delete), reachable by their owner only."""

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.audio import write_wav
from toc.accounts.models import User
from toc.media.tracks import load_audio_file
from toc.voicemail import services
from toc.voicemail.models import Mailbox

pytestmark = pytest.mark.django_db


def audio_file(tmp_path: Path, *, hz: float = 600, seconds: float = 2, amplitude: float = 0.3) -> SimpleUploadedFile:
    path = write_wav(tmp_path / "upload.wav", hz=hz, seconds=seconds, amplitude=amplitude)
    return SimpleUploadedFile("my greeting.wav", path.read_bytes(), content_type="audio/wav")


def test_my_mailbox_starts_with_the_defaults(bob: User, bob_client: APIClient) -> None:
    # when
    response = bob_client.get("/api/voicemail/mailbox/")

    # then
    assert (response.status_code, response.json()) == (
        200,
        {
            "has_pin": False,
            "locked_until": None,
            "greeting_choice": "unavailable",
            "email_enabled": False,
            "email": "bob@acme.example",
            "greetings": {"unavailable": None, "busy": None, "name": None},
            "max_greeting_seconds": 60,
        },
    )


def test_choosing_the_busy_greeting_and_email(bob: User, bob_client: APIClient) -> None:
    # when
    response = bob_client.patch(
        "/api/voicemail/mailbox/", {"greeting_choice": "busy", "email_enabled": True}, format="json"
    )

    # then
    assert response.status_code == 200
    assert (response.json()["greeting_choice"], response.json()["email_enabled"]) == ("busy", True)
    mailbox = Mailbox.objects.get(user=bob)
    assert (mailbox.greeting_choice, mailbox.email_enabled) == ("busy", True)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"greeting_choice": "vacation"}, {"greeting_choice": ["Choose unavailable or busy."]}),
        ({"email_enabled": "yes"}, {"email_enabled": ["Choose true or false."]}),
        (
            {"greeting_choice": "x", "email_enabled": 1},
            {"greeting_choice": ["Choose unavailable or busy."], "email_enabled": ["Choose true or false."]},
        ),
        ({"pin_hash": "x"}, {"pin_hash": ["This cannot be changed here."]}),
    ],
)
def test_bad_settings_are_a_clear_400_and_change_nothing(
    bob: User, bob_client: APIClient, body: dict[str, object], errors: dict[str, list[str]]
) -> None:
    # when
    response = bob_client.patch("/api/voicemail/mailbox/", body, format="json")

    # then
    assert (response.status_code, response.json()) == (400, {"detail": "The request was not valid.", "errors": errors})
    mailbox = services.get_mailbox(user=bob)
    assert (mailbox.greeting_choice, mailbox.email_enabled, mailbox.pin_hash) == ("unavailable", False, "")


def test_uploading_hearing_and_deleting_my_greeting(
    bob: User, bob_client: APIClient, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    url = f"/api/voicemail/mailboxes/{bob.pk}/greetings/unavailable/"

    # when bob uploads a 2 s greeting
    response = bob_client.put(url, {"file": audio_file(tmp_path)}, format="multipart")

    # then it is stored as 48 kHz WAV and listed
    assert response.status_code == 200
    assert response.json()["greetings"] == {"unavailable": url, "busy": None, "name": None}
    stored = Mailbox.objects.get(user=bob).unavailable_greeting
    samples = load_audio_file(Path(stored.path))
    assert samples.size == 96_000

    # and he can hear it, and seek in it
    heard = bob_client.get(url)
    assert (heard.status_code, heard["Content-Type"]) == (200, "audio/wav")
    assert b"".join(heard.streaming_content) == Path(stored.path).read_bytes()  # type: ignore[attr-defined]
    part = bob_client.get(url, HTTP_RANGE="bytes=44-143")
    assert (part.status_code, part["Content-Range"]) == (206, f"bytes 44-143/{Path(stored.path).stat().st_size}")
    assert b"".join(part.streaming_content) == Path(stored.path).read_bytes()[44:144]  # type: ignore[attr-defined]

    # when he deletes it, the file goes and the default greeting is back
    with django_capture_on_commit_callbacks(execute=True):
        deleted = bob_client.delete(url)
    assert deleted.json()["greetings"]["unavailable"] is None
    assert not Mailbox.objects.get(user=bob).unavailable_greeting
    assert not default_storage.exists(str(stored.name))
    assert bob_client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: audio_file(tmp, seconds=61), "A greeting can be at most 60 seconds long; that one is 61."),
        (lambda tmp: audio_file(tmp, amplitude=0.0), "That recording is empty or silent."),
        (lambda tmp: audio_file(tmp, seconds=0.4), "That recording is empty or silent."),
        (
            lambda tmp: SimpleUploadedFile("x.wav", b"not audio at all" * 100, content_type="audio/wav"),
            "That file is not audio that can be played.",
        ),
    ],
)
def test_an_unusable_upload_is_refused_and_the_old_greeting_stays(
    bob: User, bob_client: APIClient, tmp_path: Path, make: object, message: str
) -> None:
    # given a greeting in place
    url = f"/api/voicemail/mailboxes/{bob.pk}/greetings/unavailable/"
    assert bob_client.put(url, {"file": audio_file(tmp_path)}, format="multipart").status_code == 200
    before = Mailbox.objects.get(user=bob).unavailable_greeting.name

    # when
    response = bob_client.put(url, {"file": make(tmp_path)}, format="multipart")  # type: ignore[operator]

    # then
    assert (response.status_code, response.json()["errors"]) == (400, {"file": [message]})
    assert Mailbox.objects.get(user=bob).unavailable_greeting.name == before
    assert default_storage.exists(str(before))


def test_an_upload_without_a_file_is_refused(bob: User, bob_client: APIClient) -> None:
    response = bob_client.put(
        f"/api/voicemail/mailboxes/{bob.pk}/greetings/name/", {"other": io.BytesIO(b"x")}, format="multipart"
    )
    assert (response.status_code, response.json()["errors"]) == (400, {"file": ["Choose an audio file."]})


def test_nobody_else_reaches_my_greetings(
    bob: User, alice_client: APIClient, carol_client: APIClient, anonymous_client: APIClient, tmp_path: Path
) -> None:
    # given bob has a greeting (alice is an admin of his organisation, carol of another)
    services.upload_greeting(user=bob, kind="busy", upload=audio_file(tmp_path))
    url = f"/api/voicemail/mailboxes/{bob.pk}/greetings/busy/"
    before = Mailbox.objects.get(user=bob).busy_greeting.name

    # when / then
    for client in (alice_client, carol_client):
        assert client.get(url).status_code == 404
        assert client.put(url, {"file": audio_file(tmp_path, hz=900)}, format="multipart").status_code == 404
        assert client.delete(url).status_code == 404
    assert anonymous_client.get(url).status_code in (401, 403)
    assert Mailbox.objects.get(user=bob).busy_greeting.name == before


def test_an_unknown_greeting_kind_is_404(bob: User, bob_client: APIClient) -> None:
    assert bob_client.get(f"/api/voicemail/mailboxes/{bob.pk}/greetings/holiday/").status_code == 404
