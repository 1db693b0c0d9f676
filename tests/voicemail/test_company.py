"""The company greeting: greetings managers change it (choices, an uploaded file); everyone else
is refused and nothing changes; another organisation's greeting is never reached."""

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.audio import write_wav
from tests.conftest import client_for
from tests.factories import make_user
from toc.accounts.models import Organisation, User
from toc.voicemail import company
from toc.voicemail.models import CompanyGreeting

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(acme: Organisation, alice: User, bob: User) -> User:
    return make_user(acme, "gwen", extension="110", is_greetings_manager=True)


def wav(tmp_path: Path, hz: float = 600) -> SimpleUploadedFile:
    return SimpleUploadedFile("welcome.wav", write_wav(tmp_path / "w.wav", hz=hz, seconds=2).read_bytes())


def state(organisation: Organisation) -> tuple[Any, ...]:
    greeting = company.greeting_of(organisation.pk)
    return (greeting.options, greeting.audio.name or "", greeting.updated_by_id)


def test_a_manager_sets_the_choices_and_uploads_the_greeting(acme: Organisation, manager: User, tmp_path: Path) -> None:
    client = client_for(manager)

    # when
    choices = client.patch("/api/voicemail/company-greeting/", {"options": {"1": "101", "0": "102"}}, format="json")
    uploaded = client.put("/api/voicemail/company-greeting/audio/", {"file": wav(tmp_path)}, format="multipart")

    # then
    assert choices.status_code == 200
    assert uploaded.status_code == 200
    body = uploaded.json()
    assert {key: body[key] for key in ("audio_url", "options", "can_change", "updated_by")} == {
        "audio_url": "/api/voicemail/company-greeting/audio/",
        "options": {"0": "102", "1": "101"},
        "can_change": True,
        "updated_by": "Gwen Tester",
    }
    heard = client.get("/api/voicemail/company-greeting/audio/")
    assert (heard.status_code, heard["Content-Type"]) == (200, "audio/wav")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"1": "199"}, "Key 1: there is no extension “199” here."),
        ({"12": "101"}, "“12” is not a key: choices are the digits 0 to 9."),
        ({"#": "101"}, "“#” is not a key: choices are the digits 0 to 9."),
        (["101"], "Choices are digits, each with the extension it connects to."),
    ],
)
def test_bad_choices_are_refused_and_change_nothing(
    acme: Organisation, manager: User, options: object, message: str
) -> None:
    # given
    company.set_options(user=manager, options={"0": "101"})
    before = state(acme)

    # when
    response = client_for(manager).patch("/api/voicemail/company-greeting/", {"options": options}, format="json")

    # then
    assert (response.status_code, response.json()["errors"]) == (400, {"options": [message]})
    assert state(acme) == before


def test_a_user_who_is_not_a_greetings_manager_is_refused_and_nothing_changes(
    acme: Organisation, manager: User, bob: User, alice: User, tmp_path: Path
) -> None:
    # given the manager's greeting is in place; bob is a plain user, alice an admin without the role
    company.set_options(user=manager, options={"0": "101"})
    company.upload_audio(user=manager, upload=wav(tmp_path))
    User.objects.filter(pk=alice.pk).update(is_greetings_manager=False)
    before = state(acme)

    for user in (bob, User.objects.get(pk=alice.pk)):
        client = client_for(user)
        # when / then
        patched = client.patch("/api/voicemail/company-greeting/", {"options": {"0": "102"}}, format="json")
        assert (patched.status_code, patched.json()["detail"]) == (
            403,
            "Only greetings managers can change the company greeting.",
        )
        put = client.put("/api/voicemail/company-greeting/audio/", {"file": wav(tmp_path, 900)}, format="multipart")
        assert put.status_code == 403
        assert client.delete("/api/voicemail/company-greeting/audio/").status_code == 403
        # they may still read it (it is what callers hear)
        assert client.get("/api/voicemail/company-greeting/").json()["can_change"] is False
    assert state(acme) == before


def test_another_organisation_sees_only_its_own_greeting(
    acme: Organisation, manager: User, carol: User, carol_client: APIClient, tmp_path: Path
) -> None:
    # given acme's greeting is recorded
    company.upload_audio(user=manager, upload=wav(tmp_path))

    # when carol (globex) asks for "the" company greeting
    response = carol_client.get("/api/voicemail/company-greeting/")

    # then she gets globex's (none), never acme's
    assert (response.json()["audio_url"], response.json()["options"]) == (None, {})
    assert carol_client.get("/api/voicemail/company-greeting/audio/").status_code == 404
    assert CompanyGreeting.objects.filter(organisation=acme).get().audio


def test_removing_the_recording_goes_back_to_the_default(
    acme: Organisation, manager: User, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    company.set_options(user=manager, options={"1": "101"})
    company.upload_audio(user=manager, upload=wav(tmp_path))
    assert company.sounds_of(company.greeting_of(acme.pk))[0].startswith("file:voicemail/company/")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(manager).delete("/api/voicemail/company-greeting/audio/")

    # then
    assert response.json()["audio_url"] is None
    assert company.sounds_of(company.greeting_of(acme.pk)) == [
        "prompt:company-welcome",
        "prompt:company-for-extension",
        "prompt:digit-1",
        "prompt:digit-0",
        "prompt:digit-1",
        "prompt:company-press",
        "prompt:digit-1",
    ]
