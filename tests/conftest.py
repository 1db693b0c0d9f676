"""Shared test set-up: the suite's own Redis (embedded mode), personas and API clients.

Personas: alice (admin) and bob in one organisation, carol in another.
"""

import subprocess

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.factories import make_organisation, make_user
from toc.accounts.models import Organisation, User
from toc.lib import embedded_redis, env

pytest_plugins = ["tests.sockets", "tests.audio"]

_redis_process: subprocess.Popen[bytes] | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _redis_process
    if not env.get_str("REDIS_URL"):
        _redis_process = embedded_redis.start(settings.VAR_DIR / "test")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _redis_process is not None:
        _redis_process.terminate()
        _redis_process.wait(timeout=10)


@pytest.fixture
def acme(db: None) -> Organisation:
    return make_organisation(name="Acme", sso_domain="acme.example")


@pytest.fixture
def globex(db: None) -> Organisation:
    return make_organisation(name="Globex", sso_domain="globex.example")


@pytest.fixture
def alice(acme: Organisation) -> User:
    return make_user(acme, "alice", extension="101", is_org_admin=True, direct_number="+14165550101")


@pytest.fixture
def bob(acme: Organisation) -> User:
    return make_user(acme, "bob", extension="102", direct_number="+14165550102")


@pytest.fixture
def carol(globex: Organisation) -> User:
    return make_user(globex, "carol", extension="101", direct_number="+16135550101")


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def alice_client(alice: User) -> APIClient:
    return client_for(alice)


@pytest.fixture
def bob_client(bob: User) -> APIClient:
    return client_for(bob)


@pytest.fixture
def carol_client(carol: User) -> APIClient:
    return client_for(carol)


@pytest.fixture
def anonymous_client() -> APIClient:
    return APIClient()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Browser tests last: Playwright keeps an event loop on the main thread for the rest of
    # the session, which asyncio tests cannot share.
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
