"""Account upkeep (Celery beat): expired sessions are deleted, so the session table holds only
sign-ins that still work (Self Care > Devices and disabling a user read it)."""

from importlib import import_module

from celery import shared_task
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase


@shared_task
def clear_expired_sessions() -> None:
    store: type[SessionBase] = import_module(settings.SESSION_ENGINE).SessionStore
    store.clear_expired()
