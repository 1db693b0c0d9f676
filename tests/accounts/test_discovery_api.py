"""The public discovery document the desktop app reads (GET /api/discovery/), its throttle, and the
wizard's SSO page the app opens with the domain it found (/login/sso/?domain=)."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from tests.factories import make_organisation
from toc.accounts.models import Organisation


def not_valid(message: str) -> dict[str, Any]:
    return {"detail": "The request was not valid.", "errors": {"sso_domain": [message]}}


def not_found(message: str) -> dict[str, Any]:
    return {"detail": "No organisation uses this SSO domain.", "errors": {"sso_domain": [message]}}


@pytest.fixture(autouse=True)
def fresh_throttle() -> Iterator[None]:
    """Every test starts with no lookups counted (the throttle counts in Django's default cache,
    local memory in tests), and leaves none behind for the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def two_lookups_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    # DRF reads the rates once, when rest_framework.throttling is imported (THROTTLE_RATES), so
    # overriding settings.REST_FRAMEWORK in a test would not reach the throttle.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"discovery": "2/minute"})


def discovery_operation() -> dict[str, Any]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation: dict[str, Any] = schema["paths"]["/api/discovery/"]["get"]
    return operation


# GET /api/discovery/


@pytest.mark.parametrize("client_name", ["anonymous_client", "alice_client"])
def test_discovery_says_this_is_toc_and_where_to_anyone(client_name: str, request: pytest.FixtureRequest) -> None:
    # given an anonymous client, or a signed-in one: the answer is the same
    client: APIClient = request.getfixturevalue(client_name)

    # when
    response = client.get("/api/discovery/")

    # then
    assert response.status_code == 200
    assert response.json() == {
        "service": "toc",
        "company_url": settings.PUBLIC_URL,
        "sso_domain": None,
        "organisation": None,
    }


@pytest.mark.parametrize("typed", ["ACME.example", " acme.example ", "acme.example.", "bob@acme.example"])
def test_discovery_names_the_organisation_of_an_sso_domain(
    acme: Organisation, anonymous_client: APIClient, typed: str
) -> None:
    # when
    response = anonymous_client.get("/api/discovery/", {"sso_domain": typed})

    # then
    assert response.status_code == 200
    assert response.json() == {
        "service": "toc",
        "company_url": settings.PUBLIC_URL,
        "sso_domain": "acme.example",
        "organisation": "Acme",
    }


def test_discovery_tells_organisations_apart(acme: Organisation, anonymous_client: APIClient) -> None:
    # given
    make_organisation(name="Globex", sso_domain="globex.example")

    # when
    response = anonymous_client.get("/api/discovery/", {"sso_domain": "globex.example"})

    # then
    assert response.status_code == 200
    assert (response.json()["sso_domain"], response.json()["organisation"]) == ("globex.example", "Globex")


@pytest.mark.parametrize("typed", ["", "   "])
def test_an_empty_sso_domain_is_plain_discovery(acme: Organisation, anonymous_client: APIClient, typed: str) -> None:
    # when
    response = anonymous_client.get("/api/discovery/", {"sso_domain": typed})

    # then
    assert response.status_code == 200
    assert (response.json()["sso_domain"], response.json()["organisation"]) == (None, None)


def test_an_sso_domain_nobody_uses_is_not_found(acme: Organisation, anonymous_client: APIClient) -> None:
    # when
    response = anonymous_client.get("/api/discovery/", {"sso_domain": "nowhere.example"})

    # then
    assert response.status_code == 404
    assert response.json() == not_found(
        "No organisation uses the SSO domain nowhere.example. Check the domain in your welcome e-mail."
    )


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("not a domain!", "not a domain!"), ("localhost", "localhost"), (" -acme.example ", "-acme.example")],
)
def test_an_sso_domain_that_is_not_a_domain_is_refused(
    acme: Organisation, anonymous_client: APIClient, typed: str, shown: str
) -> None:
    # when
    response = anonymous_client.get("/api/discovery/", {"sso_domain": typed})

    # then
    assert response.status_code == 400
    assert response.json() == not_valid(f"“{shown}” is not a domain name such as toc.example.com.")


def test_a_very_long_sso_domain_is_cut_before_it_is_checked(acme: Organisation, anonymous_client: APIClient) -> None:
    # given
    typed = "a" * 300 + ".example"

    # when
    response = anonymous_client.get("/api/discovery/", {"sso_domain": typed})

    # then
    assert response.status_code == 400
    assert response.json() == not_valid(f"“{'a' * 253}” is not a domain name such as toc.example.com.")


def test_discovery_is_read_only(db: None, anonymous_client: APIClient) -> None:
    # when
    response = anonymous_client.post("/api/discovery/", {"sso_domain": "acme.example"}, format="json")

    # then
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "POST" not allowed.'}


def test_the_61st_lookup_in_a_minute_from_one_address_is_refused(
    acme: Organisation, anonymous_client: APIClient
) -> None:
    # given 60 lookups from one address (the default rate, 60/minute)
    answers = [anonymous_client.get("/api/discovery/", {"sso_domain": "acme.example"}) for _ in range(60)]

    # when
    response = anonymous_client.get("/api/discovery/", {"sso_domain": "acme.example"})

    # then
    assert ScopedRateThrottle.THROTTLE_RATES["discovery"] == "60/minute"  # the setting DRF read
    assert [answer.status_code for answer in answers] == [200] * 60
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["detail"].startswith("Request was throttled.")


@pytest.mark.usefixtures("two_lookups_a_minute")
def test_the_throttle_counts_each_client_address_apart(acme: Organisation, anonymous_client: APIClient) -> None:
    # given one address has used its lookups
    for _ in range(2):
        assert anonymous_client.get("/api/discovery/", REMOTE_ADDR="203.0.113.7").status_code == 200
    assert anonymous_client.get("/api/discovery/", REMOTE_ADDR="203.0.113.7").status_code == 429

    # when another address asks
    response = anonymous_client.get("/api/discovery/", {"sso_domain": "acme.example"}, REMOTE_ADDR="198.51.100.9")

    # then
    assert response.status_code == 200
    assert response.json()["organisation"] == "Acme"


@pytest.mark.usefixtures("two_lookups_a_minute")
def test_the_throttle_counts_signed_in_users_and_unknown_domains_too(alice_client: APIClient) -> None:
    # given (discovery authenticates nobody: a signed-in user is one more client address)
    alice_client.get("/api/discovery/", {"sso_domain": "nowhere.example"})
    alice_client.get("/api/discovery/", {"sso_domain": "not a domain!"})

    # when
    response = alice_client.get("/api/discovery/")

    # then
    assert response.status_code == 429


def test_discovery_is_in_the_schema_as_a_public_operation(db: None) -> None:
    # when
    operation = discovery_operation()

    # then
    assert operation["operationId"] == "discovery_retrieve"
    assert operation["security"] == [{}]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DiscoveryOutput"
    }
    assert sorted(operation["responses"]) == ["200", "400", "404", "429"]


def test_the_schema_documents_the_sso_domain_parameter(db: None) -> None:
    # when
    operation = discovery_operation()

    # then
    assert [(parameter["name"], parameter["in"]) for parameter in operation.get("parameters", [])] == [
        ("sso_domain", "query")
    ]


# GET /login/sso/?domain=


def test_the_sso_page_is_prefilled_with_the_domain_the_app_found(db: None, client: Client) -> None:
    # when
    response = client.get("/login/sso/", {"domain": "acme.example"})

    # then
    assert response.status_code == 200
    assert b'value="acme.example"' in response.content


def test_the_sso_page_without_a_domain_has_an_empty_field(db: None, client: Client) -> None:
    # when
    response = client.get("/login/sso/")

    # then
    assert response.status_code == 200
    assert b'required value="" autofocus' in response.content


def test_the_prefilled_domain_is_escaped(db: None, client: Client) -> None:
    # when
    response = client.get("/login/sso/", {"domain": '"><script>alert(1)</script>'})

    # then
    assert response.status_code == 200
    assert b'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in response.content
    assert b"<script>alert(1)" not in response.content


def test_a_very_long_prefilled_domain_is_cut_to_253_characters(db: None, client: Client) -> None:
    # when
    response = client.get("/login/sso/", {"domain": "a" * 300})

    # then
    assert response.status_code == 200
    assert f'value="{"a" * 253}"'.encode() in response.content
    assert b"a" * 254 not in response.content
