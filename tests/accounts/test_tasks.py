"""Account upkeep tasks."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from toc.accounts import tasks
from toc.accounts.models import User

pytestmark = pytest.mark.django_db


def test_expired_sessions_are_cleared_and_live_ones_kept(alice: User, bob: User) -> None:
    # given two sign-ins, one of them expired
    for user in (alice, bob):
        Client().force_login(user)
    expired, live = Session.objects.order_by("expire_date")
    Session.objects.filter(pk=expired.pk).update(expire_date=timezone.now() - timedelta(seconds=1))

    # when
    tasks.clear_expired_sessions()

    # then
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
