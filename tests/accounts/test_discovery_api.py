"""The public discovery document the desktop app reads (GET /api/discovery/), and the wizard's SSO
page the app opens with the domain it found (/login/sso/?domain=)."""

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tests.factories import make_organisation
from toc.accounts.models import Organisation


def not_valid(message: str) -> dict[str, Any]:
    return {"detail": "The request was not valid.", "errors": {"sso_domain": [message]}}


def not_found(message: str) -> dict[str, Any]:
    return {"detail": "No organisation uses this SSO domain.", "errors": {"sso_domain": [message]}}


def discovery_operation() -> dict[str, Any]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation: dict[str, Any] = schema["paths"]["/api/discovery/"]["get"]
    return operation


# GET /api/discovery/


def test_discovery_says_this_is_toc_and_where(db: None, anonymous_client: APIClient) -> None:
    # when
    response = anonymous_client.get("/api/discovery/")

    # then
    assert response.status_code == 200
    assert response.json() == {
        "service": "toc",
        "company_url": settings.PUBLIC_URL,
        "sso_domain": None,
        "organisation": None,
    }


def test_discovery_is_the_same_for_a_signed_in_user(alice_client: APIClient) -> None:
    # when
    response = alice_client.get("/api/discovery/")

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


def test_discovery_is_in_the_schema_as_a_public_operation(db: None) -> None:
    # when
    operation = discovery_operation()

    # then
    assert operation["operationId"] == "discovery_retrieve"
    assert operation["security"] == [{}]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DiscoveryOutput"
    }


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
