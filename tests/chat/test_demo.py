"""`manage.py seed_demo`: the demo team's chat group, made once."""

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from toc.accounts.models import User
from toc.chat.models import Conversation, Membership, Message

pytestmark = pytest.mark.django_db


def test_everyone_in_the_demo_shares_one_group_with_a_welcome(settings: Any, tmp_path: Path) -> None:
    # when seeded twice
    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)

    # then
    group = Conversation.objects.get()
    assert (group.kind, group.name, group.last_sequence) == ("group", "Demo team", 2)
    members = set(Membership.objects.filter(conversation=group).values_list("user__extension", flat=True))
    assert members == set(User.objects.filter(organisation__slug="demo").values_list("extension", flat=True))
    assert len(members) == 6
    welcome = Message.objects.get(conversation=group, sequence=2)
    assert welcome.sender is not None and welcome.sender.extension == "101"
    assert welcome.envelope is not None and welcome.envelope["payload"]["text"].startswith("Welcome to TOC chat! ")
    assert "Chat: everyone is in the group 'Demo team'." in out.getvalue()
