"""In Chromium: "Sign in with Microsoft" through a real OpenID Connect provider on 127.0.0.1
(django-oauth-toolkit, code flow with PKCE), from the Profile Wizard to the communicator."""

import re

import pytest
from allauth.socialaccount.models import SocialAccount
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, screenshot
from tests.factories import make_organisation, make_user
from tests.oidc_provider.fixtures import LocalIdentityProvider, oidc_provider
from toc.accounts import services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

__all__ = ["oidc_provider"]
TENANT_ID = "0f9e8d7c-acme-4b3a-9c8d-000000000e2e"


def configure_acme_sso(oidc_provider: LocalIdentityProvider, server: Server) -> None:
    acme = make_organisation(name="Acme", sso_domain="acme.example")
    make_user(acme, "bob", extension="102", password=None)
    application = oidc_provider.add_application(redirect_uri=f"{server.url}/accounts/oidc/org-acme/login/callback/")
    services.configure_oidc(
        organisation=acme,
        issuer=oidc_provider.issuer,
        client_id=application.client_id,
        client_secret=application.client_secret,
        tenant_id=TENANT_ID,
    )


def start_sso(page: Page, domain: str) -> None:
    page.goto("/")
    page.get_by_role("link", name="Next").click()
    page.get_by_role("link", name=re.compile("SSO Login")).click()
    page.get_by_label("SSO Domain").fill(domain)
    page.get_by_role("button", name="Next").click()


def test_sso_login_through_the_wizard_lands_in_the_communicator(new_context, e2e_server, oidc_provider):
    # given Acme signs in with its identity provider, where bob has an account
    configure_acme_sso(oidc_provider, e2e_server)
    oidc_provider.add_user(email="bob@acme.example", password="idp-secret-42", given_name="Bob", tenant_id=TENANT_ID)
    page = new_context()

    # when bob chooses SSO Login, types the domain and signs in with Microsoft
    start_sso(page, "acme.example")
    page.get_by_role("button", name="Sign in with Microsoft").click()
    expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/login/\?next=/o/authorize"))
    page.get_by_label("E-mail address").fill("bob@acme.example")
    page.get_by_label("Password").fill("idp-secret-42")
    page.get_by_role("button", name="Sign in").click()

    # then he is back in TOC at the Phones step, and Finish opens the communicator
    expect(page.get_by_role("heading", name="Phones")).to_be_visible()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Finish").click()
    expect(page.locator("body[data-connected=true]")).to_be_attached()
    expect(page.locator("#me-name")).to_have_text("Bob Tester · 102")
    screenshot(page, "sso-communicator")
    assert SocialAccount.objects.filter(user__email="bob@acme.example", provider="org-acme").count() == 1


def test_sso_refuses_an_account_from_another_tenant(new_context, e2e_server, oidc_provider):
    # given an identity-provider account whose token carries another tenant
    configure_acme_sso(oidc_provider, e2e_server)
    oidc_provider.add_user(email="bob@acme.example", password="idp-secret-42", tenant_id="another-tenant")
    page = new_context()

    # when
    start_sso(page, "acme.example")
    page.get_by_role("button", name="Sign in with Microsoft").click()
    page.get_by_label("E-mail address").fill("bob@acme.example")
    page.get_by_label("Password").fill("idp-secret-42")
    page.get_by_role("button", name="Sign in").click()

    # then TOC refuses with a clear message and no session
    expect(page.get_by_role("alert")).to_contain_text("not from Acme's Microsoft tenant")
    screenshot(page, "sso-refused-other-tenant")
    page.goto("/")
    expect(page.get_by_role("heading", name="Welcome to TOC")).to_be_visible()
