"""SSO ("Sign in with Microsoft") end to end: the Profile Wizard's SSO path against a real OIDC
provider (django-oauth-toolkit on 127.0.0.1) and TOC's live server on localhost, driven with
`requests` as a browser would, plus the pure parts of `toc.accounts.sso`.
"""

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from pytest_django.live_server_helper import LiveServer

from tests.accounts.conftest import ACME_TENANT_ID, GLOBEX_TENANT_ID, sso_callback_url
from tests.oidc_provider.fixtures import HOST, LocalIdentityProvider, free_port
from toc.accounts import services
from toc.accounts.models import OidcConfiguration, Organisation, User
from toc.accounts.sso import claims_of, describe_authentication_failure, email_of

IDP_PASSWORD = "idp-password-4417"
TIMEOUT = 10


class _Forms(HTMLParser):
    """The forms of a page: their action and the values of their inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append((attributes.get("action", ""), {}))
        elif tag == "input" and self.forms and attributes.get("name"):
            kind = attributes.get("type", "text")
            if kind == "submit" or (kind in ("checkbox", "radio") and "checked" not in attributes):
                return  # as a browser sends it: no button pressed, unticked boxes left out
            default = "on" if kind in ("checkbox", "radio") else ""
            self.forms[-1][1][attributes["name"]] = attributes.get("value") or default


def only_form(html: str) -> tuple[str, dict[str, str]]:
    parser = _Forms()
    parser.feed(html)
    assert len(parser.forms) == 1, parser.forms
    return parser.forms[0]


def start_sso(
    session: requests.Session, live_server: LiveServer, *, domain: str, keep_signed_in: bool = True
) -> requests.Response:
    """Wizard: type the SSO domain, Next, then "Sign in with Microsoft"; returns allauth's answer."""
    _, fields = only_form(session.get(f"{live_server.url}/login/sso/", timeout=TIMEOUT).text)
    assert fields["keep_signed_in"] == "on"  # ticked by default
    fields["domain"] = domain
    if not keep_signed_in:
        del fields["keep_signed_in"]
    continue_page = session.post(f"{live_server.url}/login/sso/", data=fields, timeout=TIMEOUT)
    assert continue_page.status_code == 200, continue_page.text
    action, fields = only_form(continue_page.text)
    return session.post(f"{live_server.url}{action}", data=fields, allow_redirects=False, timeout=TIMEOUT)


def sign_in_at_provider(session: requests.Session, authorize: requests.Response, *, email: str) -> requests.Response:
    """Follow allauth's redirect to the provider, fill its login form, follow back to TOC."""
    assert authorize.status_code == 302, authorize.text
    login_page = session.get(authorize.headers["Location"], timeout=TIMEOUT)
    action, fields = only_form(login_page.text)
    fields.update(username=email, password=IDP_PASSWORD)
    return session.post(f"http://{urlsplit(login_page.url).netloc}{action}", data=fields, timeout=TIMEOUT)


def sign_in_with_sso(
    session: requests.Session, live_server: LiveServer, *, email: str, domain: str = "acme.example"
) -> requests.Response:
    return sign_in_at_provider(session, start_sso(session, live_server, domain=domain), email=email)


def signed_in_user_id(session: requests.Session) -> str | None:
    """Who TOC's session (the `sessionid` cookie of this browser) is signed in as, if anyone."""
    session_key = session.cookies.get("sessionid")
    if session_key is None:
        return None
    user_id = SessionStore(session_key=session_key).get("_auth_user_id")
    return str(user_id) if user_id is not None else None


def add_idp_user(oidc_provider: LocalIdentityProvider, email: str, *, tenant_id: str = ACME_TENANT_ID) -> str:
    return oidc_provider.add_user(
        email=email, password=IDP_PASSWORD, given_name="Erin", family_name="Example", tenant_id=tenant_id
    )


# (a) a known user of the organisation


def test_known_user_signs_in_through_the_wizard_and_lands_on_phones(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme_sso: OidcConfiguration, alice: User
) -> None:
    # given
    sub = add_idp_user(oidc_provider, "alice@acme.example")
    session = requests.Session()
    # when
    response = sign_in_with_sso(session, live_server, email="alice@acme.example")
    # then
    assert response.status_code == 200
    assert response.url == f"{live_server.url}/wizard/phones/"
    assert response.history[-2].url.startswith(f"{live_server.url}/accounts/oidc/org-acme/login/callback/?code=")
    assert response.history[-1].url == f"{live_server.url}/login/done/"
    assert signed_in_user_id(session) == str(alice.pk)
    assert next(cookie for cookie in session.cookies if cookie.name == "sessionid").expires is not None
    account = SocialAccount.objects.get()
    assert (account.user_id, account.provider, account.uid) == (alice.pk, "org-acme", sub)
    assert account.extra_data["id_token"]["tid"] == ACME_TENANT_ID
    assert account.extra_data["userinfo"]["email"] == "alice@acme.example"


def test_second_sign_in_uses_the_existing_link_and_opens_the_communicator(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme_sso: OidcConfiguration, alice: User
) -> None:
    # given
    add_idp_user(oidc_provider, "alice@acme.example")
    first = sign_in_with_sso(requests.Session(), live_server, email="alice@acme.example")
    services.complete_profile(user=alice, calling_device=alice.calling_device, mobile_number="")
    session = requests.Session()
    # when
    second = sign_in_with_sso(session, live_server, email="alice@acme.example")
    # then
    assert first.url == f"{live_server.url}/wizard/phones/"
    assert second.status_code == 200
    assert second.url == f"{live_server.url}/"
    assert signed_in_user_id(session) == str(alice.pk)
    assert list(SocialAccount.objects.values_list("user_id", "provider")) == [(alice.pk, "org-acme")]


def test_keep_signed_in_off_ends_the_session_with_the_browser(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme_sso: OidcConfiguration, alice: User
) -> None:
    # given
    add_idp_user(oidc_provider, "alice@acme.example")
    session = requests.Session()
    authorize = start_sso(session, live_server, domain="acme.example", keep_signed_in=False)
    # when
    response = sign_in_at_provider(session, authorize, email="alice@acme.example")
    # then
    assert response.url == f"{live_server.url}/wizard/phones/"
    cookie = next(cookie for cookie in session.cookies if cookie.name == "sessionid")
    assert cookie.expires is None
    assert SessionStore(session_key=cookie.value).get("_auth_user_id") == str(alice.pk)


def test_disabled_user_is_refused(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme_sso: OidcConfiguration, bob: User
) -> None:
    # given
    add_idp_user(oidc_provider, "bob@acme.example")
    User.objects.filter(pk=bob.pk).update(is_active=False)
    session = requests.Session()
    # when
    response = sign_in_with_sso(session, live_server, email="bob@acme.example")
    # then
    assert response.status_code == 403
    assert "The account bob@acme.example is disabled. Ask your administrator." in response.text
    assert signed_in_user_id(session) is None
    assert SocialAccount.objects.count() == 0


# (b) a token for another tenant


def test_token_of_another_tenant_is_refused_and_changes_nothing(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme_sso: OidcConfiguration, alice: User
) -> None:
    # given
    add_idp_user(oidc_provider, "alice@acme.example", tenant_id=GLOBEX_TENANT_ID)
    users_before = list(User.objects.order_by("pk").values_list("pk", "email", "organisation_id"))
    session = requests.Session()
    # when
    response = sign_in_with_sso(session, live_server, email="alice@acme.example")
    # then
    assert response.status_code == 403
    assert response.url.startswith(f"{live_server.url}/accounts/oidc/org-acme/login/callback/?code=")
    assert "This Microsoft account is not from Acme&#x27;s Microsoft tenant." in response.text
    assert signed_in_user_id(session) is None
    assert SocialAccount.objects.count() == 0
    assert list(User.objects.order_by("pk").values_list("pk", "email", "organisation_id")) == users_before


def test_token_without_tenant_is_refused(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme_sso: OidcConfiguration, alice: User
) -> None:
    # given
    add_idp_user(oidc_provider, "alice@acme.example", tenant_id="")
    session = requests.Session()
    # when
    response = sign_in_with_sso(session, live_server, email="alice@acme.example")
    # then
    assert response.status_code == 403
    assert "This Microsoft account is not from Acme&#x27;s Microsoft tenant." in response.text
    assert signed_in_user_id(session) is None
    assert SocialAccount.objects.count() == 0


# (c) a person who is not a user of the organisation


def test_unknown_person_is_refused_and_no_user_is_created(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme_sso: OidcConfiguration, alice: User
) -> None:
    # given
    add_idp_user(oidc_provider, "dave@acme.example")
    session = requests.Session()
    # when
    response = sign_in_with_sso(session, live_server, email="dave@acme.example")
    # then
    assert response.status_code == 403
    assert "dave@acme.example is not a user of Acme. Ask your administrator to add you." in response.text
    assert signed_in_user_id(session) is None
    assert list(User.objects.values_list("email", flat=True)) == ["alice@acme.example"]
    assert SocialAccount.objects.count() == 0


# (d) auto-provisioning


def test_auto_provisioning_creates_a_user_of_the_organisation(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme_sso: OidcConfiguration
) -> None:
    # given
    OidcConfiguration.objects.filter(pk=acme_sso.pk).update(allows_auto_provisioning=True)
    sub = add_idp_user(oidc_provider, "erin@acme.example")
    session = requests.Session()
    # when
    response = sign_in_with_sso(session, live_server, email="erin@acme.example")
    # then
    assert response.status_code == 200
    assert response.url == f"{live_server.url}/wizard/phones/"
    erin = User.objects.get(email="erin@acme.example")
    assert (erin.organisation_id, erin.first_name, erin.last_name) == (acme_sso.organisation_id, "Erin", "Example")
    assert erin.has_usable_password() is False
    assert signed_in_user_id(session) == str(erin.pk)
    assert list(SocialAccount.objects.values_list("user_id", "provider", "uid")) == [(erin.pk, "org-acme", sub)]


@pytest.mark.parametrize("email", ["frank@elsewhere.example", "zoe@globex.example"])
def test_auto_provisioning_refuses_a_domain_that_is_not_the_organisations(
    live_server: LiveServer,
    oidc_provider: LocalIdentityProvider,
    acme_sso: OidcConfiguration,
    globex: Organisation,
    email: str,
) -> None:
    # given
    OidcConfiguration.objects.filter(pk=acme_sso.pk).update(allows_auto_provisioning=True)
    add_idp_user(oidc_provider, email)
    session = requests.Session()
    # when
    response = sign_in_with_sso(session, live_server, email=email)
    # then
    assert response.status_code == 403
    assert f"{email} is not a user of Acme. Ask your administrator to add you." in response.text
    assert signed_in_user_id(session) is None
    assert User.objects.count() == 0
    assert SocialAccount.objects.count() == 0


# (e) a user of another organisation


def test_user_of_another_organisation_is_refused(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme_sso: OidcConfiguration, carol: User
) -> None:
    # given
    add_idp_user(oidc_provider, "carol@globex.example")
    users_before = list(User.objects.order_by("pk").values_list("pk", "email", "organisation_id"))
    session = requests.Session()
    # when
    response = sign_in_with_sso(session, live_server, email="carol@globex.example")
    # then
    assert response.status_code == 403
    assert "carol@globex.example is not a user of Acme." in response.text
    assert signed_in_user_id(session) is None
    assert SocialAccount.objects.count() == 0
    assert list(User.objects.order_by("pk").values_list("pk", "email", "organisation_id")) == users_before


def test_linked_user_who_moved_to_another_organisation_is_refused(
    live_server: LiveServer,
    oidc_provider: LocalIdentityProvider,
    acme_sso: OidcConfiguration,
    alice: User,
    globex: Organisation,
) -> None:
    # given: alice signed in once (linked), then moved to Globex
    add_idp_user(oidc_provider, "alice@acme.example")
    sign_in_with_sso(requests.Session(), live_server, email="alice@acme.example")
    User.objects.filter(pk=alice.pk).update(organisation=globex)
    session = requests.Session()
    # when
    response = sign_in_with_sso(session, live_server, email="alice@acme.example")
    # then
    assert response.status_code == 403
    assert "This Microsoft account is not linked to a user of Acme." in response.text
    assert signed_in_user_id(session) is None


# (f) the wizard's SSO domain step


def test_unknown_sso_domain_is_explained_on_the_wizard_page(client: Client, acme: Organisation) -> None:
    # when
    response = client.post("/login/sso/", {"domain": "nowhere.example", "keep_signed_in": "on"})
    # then
    assert response.status_code == 400
    assert "No organisation uses the SSO domain nowhere.example. Check the domain in your welcome e-mail." in (
        response.content.decode()
    )
    assert "_auth_user_id" not in client.session


def test_organisation_without_oidc_is_explained_on_the_wizard_page(client: Client, globex: Organisation) -> None:
    # when
    response = client.post("/login/sso/", {"domain": "globex.example", "keep_signed_in": "on"})
    # then
    assert response.status_code == 400
    assert "Globex does not use single sign-on. Choose Password Login." in response.content.decode()


def test_disabled_oidc_is_explained_on_the_wizard_page(client: Client, acme: Organisation) -> None:
    # given
    services.configure_oidc(organisation=acme, issuer="https://login.example/tenant/v2.0", client_id="toc")
    OidcConfiguration.objects.filter(organisation=acme).update(is_enabled=False)
    # when
    response = client.post("/login/sso/", {"domain": "acme.example"})
    # then
    assert response.status_code == 400
    assert "Acme does not use single sign-on. Choose Password Login." in response.content.decode()


def test_known_domain_shows_the_microsoft_button_posting_to_the_organisations_provider(
    client: Client, acme: Organisation
) -> None:
    # given
    services.configure_oidc(organisation=acme, issuer="https://login.example/tenant/v2.0", client_id="toc")
    # when
    response = client.post("/login/sso/", {"domain": "ACME.example"})
    # then
    assert response.status_code == 200
    action, fields = only_form(response.content.decode())
    assert action == "/accounts/oidc/org-acme/login/"
    assert fields["next"] == "/login/done/"
    assert "Sign in with Microsoft" in response.content.decode()


# (g) PKCE and the authorize request


def test_authorize_redirect_carries_pkce_s256_state_and_the_callback(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme_sso: OidcConfiguration
) -> None:
    # when
    response = start_sso(requests.Session(), live_server, domain="acme.example")
    # then
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    query = {name: values[0] for name, values in parse_qs(location.query).items()}
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{oidc_provider.issuer}/authorize/"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["response_type"] == "code"
    assert query["client_id"] == acme_sso.client_id
    assert query["redirect_uri"] == sso_callback_url(live_server, acme_sso.organisation)
    assert sorted(query["scope"].split()) == ["email", "openid", "profile"]
    assert len(query["state"]) >= 12


def test_login_url_opened_with_get_shows_a_button_and_does_not_redirect(
    live_server: LiveServer, acme_sso: OidcConfiguration
) -> None:
    # when
    response = requests.get(f"{live_server.url}/accounts/oidc/org-acme/login/", allow_redirects=False, timeout=TIMEOUT)
    # then
    assert response.status_code == 200
    assert "Sign in with Acme (Microsoft)" in response.text
    action, fields = only_form(response.text)
    assert (action, sorted(fields)) == ("", ["csrfmiddlewaretoken"])
    assert "<script" not in response.text
    assert "style=" not in response.text


def test_sign_in_started_from_allauths_page_lands_on_the_wizard_too(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme_sso: OidcConfiguration, alice: User
) -> None:
    # given: no `next` from the wizard, so allauth uses LOGIN_REDIRECT_URL
    add_idp_user(oidc_provider, "alice@acme.example")
    session = requests.Session()
    login_url = f"{live_server.url}/accounts/oidc/org-acme/login/"
    _, fields = only_form(session.get(login_url, timeout=TIMEOUT).text)
    authorize = session.post(login_url, data=fields, allow_redirects=False, timeout=TIMEOUT)
    # when
    response = sign_in_at_provider(session, authorize, email="alice@acme.example")
    # then
    assert response.status_code == 200
    assert response.url == f"{live_server.url}/wizard/phones/"
    assert response.history[-1].url == f"{live_server.url}/login/done/"
    assert signed_in_user_id(session) == str(alice.pk)


def test_sso_cannot_be_used_to_connect_an_account(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme_sso: OidcConfiguration, alice: User
) -> None:
    # given: allauth's "connect" process, which TOC does not offer
    add_idp_user(oidc_provider, "alice@acme.example")
    session = requests.Session()
    login_url = f"{live_server.url}/accounts/oidc/org-acme/login/?process=connect"
    _, fields = only_form(session.get(login_url, timeout=TIMEOUT).text)
    authorize = session.post(login_url, data=fields, allow_redirects=False, timeout=TIMEOUT)
    # when
    response = sign_in_at_provider(session, authorize, email="alice@acme.example")
    # then
    assert response.status_code == 403
    assert "Single sign-on can only be used to sign in." in response.text
    assert signed_in_user_id(session) is None
    assert SocialAccount.objects.count() == 0


# Errors a person can hit between TOC and the provider


def test_cancelling_at_the_provider_shows_a_clear_message(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme: Organisation, alice: User
) -> None:
    # given: an application that asks for consent, which the person declines
    application = oidc_provider.add_application(
        redirect_uri=sso_callback_url(live_server, acme), skip_authorization=False
    )
    services.configure_oidc(
        organisation=acme,
        issuer=oidc_provider.issuer,
        client_id=application.client_id,
        client_secret=application.client_secret,
        tenant_id=ACME_TENANT_ID,
    )
    add_idp_user(oidc_provider, "alice@acme.example")
    session = requests.Session()
    consent_page = sign_in_at_provider(
        session, start_sso(session, live_server, domain="acme.example"), email="alice@acme.example"
    )
    assert consent_page.url.startswith(f"{oidc_provider.issuer}/authorize/?")
    _, fields = only_form(consent_page.text)
    # when: the consent form sent without "allow" is the Cancel button
    response = session.post(consent_page.url, data=fields, timeout=TIMEOUT)
    # then
    assert response.status_code == 200
    assert response.url.startswith(f"{sso_callback_url(live_server, acme)}?error=access_denied")
    assert "Sign-in with Microsoft was cancelled. Nothing was changed; you can try again." in response.text
    assert signed_in_user_id(session) is None
    assert SocialAccount.objects.count() == 0


def test_callback_with_an_unknown_state_is_refused_clearly(
    live_server: LiveServer, acme_sso: OidcConfiguration
) -> None:
    # when: a callback this browser never started (a stale tab, or a forged link)
    response = requests.get(
        f"{live_server.url}/accounts/oidc/org-acme/login/callback/",
        params={"code": "forged", "state": "not-a-state"},
        timeout=TIMEOUT,
    )
    # then
    assert response.status_code == 401
    assert "This sign-in has expired or was started in another browser or window. Please start again." in (
        response.text
    )
    assert SocialAccount.objects.count() == 0


def test_provider_error_is_shown_with_its_code(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme: Organisation, alice: User
) -> None:
    # given: the provider's application may not use the authorization-code flow
    application = oidc_provider.add_application(
        redirect_uri=sso_callback_url(live_server, acme), grant_type="client-credentials"
    )
    services.configure_oidc(
        organisation=acme,
        issuer=oidc_provider.issuer,
        client_id=application.client_id,
        client_secret=application.client_secret,
        tenant_id=ACME_TENANT_ID,
    )
    add_idp_user(oidc_provider, "alice@acme.example")
    session = requests.Session()
    # when
    response = sign_in_with_sso(session, live_server, email="alice@acme.example")
    # then
    assert response.status_code == 401
    assert "Microsoft refused the sign-in (unauthorized_client)." in response.text
    assert signed_in_user_id(session) is None


def test_wrong_client_secret_is_shown_as_an_unconfirmed_sign_in(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme_sso: OidcConfiguration, alice: User
) -> None:
    # given
    OidcConfiguration.objects.filter(pk=acme_sso.pk).update(client_secret="not-the-secret")
    add_idp_user(oidc_provider, "alice@acme.example")
    session = requests.Session()
    # when
    response = sign_in_with_sso(session, live_server, email="alice@acme.example")
    # then
    assert response.status_code == 401
    assert "Microsoft could not confirm your sign-in. Please try again" in response.text
    assert signed_in_user_id(session) is None
    assert SocialAccount.objects.count() == 0


def test_unreachable_provider_is_explained_when_sign_in_starts(live_server: LiveServer, acme: Organisation) -> None:
    # given: nothing listens on this port of 127.0.0.1
    services.configure_oidc(organisation=acme, issuer=f"http://{HOST}:{free_port()}/o", client_id="toc")
    # when
    response = start_sso(requests.Session(), live_server, domain="acme.example")
    # then
    assert response.status_code == 401
    assert "Your organisation&#x27;s Microsoft sign-in could not be reached." in response.text


@pytest.mark.parametrize(
    ("path", "status"),
    [("/accounts/signup/", 404), ("/accounts/password/reset/", 404), ("/accounts/login/", 403)],
)
def test_allauth_local_accounts_are_closed(client: Client, db: None, path: str, status: int) -> None:
    # when
    response = client.post(path, {"email": "mallory@evil.example", "login": "mallory@evil.example", "password1": "x"})
    # then
    assert response.status_code == status
    assert User.objects.count() == 0
    assert "_auth_user_id" not in client.session


def test_allauth_login_page_does_not_list_the_organisations_using_sso(client: Client, acme: Organisation) -> None:
    # given
    services.configure_oidc(organisation=acme, issuer="https://login.example/tenant/v2.0", client_id="toc")
    # when
    response = client.get("/accounts/login/")
    # then
    assert response.status_code == 200
    assert "Acme" not in response.content.decode()
    assert "/accounts/oidc/" not in response.content.decode()


# Pure parts


def test_claims_prefer_the_id_token_over_userinfo() -> None:
    # when
    claims = claims_of({"userinfo": {"email": "a@acme.example", "tid": "forged"}, "id_token": {"tid": "real"}})
    # then
    assert claims == {"email": "a@acme.example", "tid": "real"}


def test_claims_of_the_old_flat_shape_are_read_as_they_are() -> None:
    assert claims_of({"sub": "1", "email": "a@acme.example"}) == {"sub": "1", "email": "a@acme.example"}


@pytest.mark.parametrize(
    ("claims", "email"),
    [
        ({"email": " Alice@Acme.Example "}, "alice@acme.example"),
        ({"preferred_username": "alice@acme.example"}, "alice@acme.example"),
        ({"email": "", "preferred_username": "bob@acme.example"}, "bob@acme.example"),
        ({}, ""),
    ],
)
def test_email_of_claims(claims: dict[str, str], email: str) -> None:
    assert email_of(claims) == email


@pytest.mark.parametrize(
    ("kwargs", "message", "status"),
    [
        (
            {"error": "cancelled", "exception": None, "is_state_known": True, "provider_error": "access_denied"},
            "Sign-in with Microsoft was cancelled. Nothing was changed; you can try again.",
            200,
        ),
        (
            {
                "error": "unknown",
                "exception": requests.ConnectionError(),
                "is_state_known": False,
                "provider_error": "",
            },
            "Your organisation's Microsoft sign-in could not be reached. Please try again in a few minutes.",
            401,
        ),
        (
            {"error": "unknown", "exception": ValueError("bad token"), "is_state_known": True, "provider_error": ""},
            "Microsoft could not confirm your sign-in. Please try again; if it keeps happening, ask your "
            "administrator.",
            401,
        ),
        (
            {"error": "unknown", "exception": None, "is_state_known": False, "provider_error": "server_error"},
            "This sign-in has expired or was started in another browser or window. Please start again.",
            401,
        ),
        (
            {"error": "unknown", "exception": None, "is_state_known": True, "provider_error": "server_error"},
            "Microsoft refused the sign-in (server_error). Please try again; if it keeps happening, ask your "
            "administrator.",
            401,
        ),
        (
            {"error": "unknown", "exception": None, "is_state_known": True, "provider_error": "<b>Call 555</b>"},
            "Microsoft refused the sign-in. Please try again; if it keeps happening, ask your administrator.",
            401,
        ),
    ],
)
def test_describe_authentication_failure(kwargs: dict[str, object], message: str, status: int) -> None:
    # when
    failure = describe_authentication_failure(**kwargs)  # type: ignore[arg-type]
    # then
    assert (failure.message, failure.status) == (message, status)
