"""SSO ("Sign in with Microsoft"): OpenID Connect per organisation through django-allauth.

Each organisation's `OidcConfiguration` is offered to allauth as an `openid_connect` app whose
provider id is `org-<slug>`, so the login URL is /accounts/oidc/org-<slug>/login/. allauth
runs the code flow with PKCE and checks the id token's signature and issuer against the
discovery document; here we check the rest: the token is for the organisation's tenant, and
the person is one of its users (or the organisation allows auto-provisioning).
"""

from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from django.http import HttpRequest
from django.shortcuts import render

from toc.accounts import services
from toc.accounts.models import OidcConfiguration, Organisation, User

PROVIDER = "openid_connect"
PROVIDER_ID_PREFIX = "org-"


def provider_id_for(organisation: Organisation) -> str:
    return f"{PROVIDER_ID_PREFIX}{organisation.slug}"


def _app_for(configuration: OidcConfiguration) -> SocialApp:
    return SocialApp(
        provider=PROVIDER,
        provider_id=provider_id_for(configuration.organisation),
        name=f"{configuration.organisation.name} (Microsoft)",
        client_id=configuration.client_id,
        secret=configuration.client_secret,
        settings={"server_url": configuration.issuer, "oauth_pkce_enabled": True},
    )


def configuration_for_provider_id(provider_id: str) -> OidcConfiguration | None:
    if not provider_id.startswith(PROVIDER_ID_PREFIX):
        return None
    slug = provider_id.removeprefix(PROVIDER_ID_PREFIX)
    return (
        OidcConfiguration.objects.select_related("organisation")
        .filter(organisation__slug=slug, is_enabled=True)
        .first()
    )


class SsoRefusedError(Exception):
    """A token or person the organisation does not accept."""


def _claims(sociallogin: SocialLogin) -> dict[str, Any]:
    data = sociallogin.account.extra_data or {}
    claims: dict[str, Any] = {}
    for part in ("userinfo", "id_token"):
        value = data.get(part)
        if isinstance(value, dict):
            claims.update(value)
    return claims or dict(data)


def accept_sso_login(*, request: HttpRequest, sociallogin: SocialLogin) -> None:
    """Accept an SSO login for its organisation, linking or provisioning the user; else refuse."""
    configuration = configuration_for_provider_id(sociallogin.account.provider)
    if configuration is None:
        raise SsoRefusedError("Single sign-on is not set up for this organisation.")
    organisation = configuration.organisation
    claims = _claims(sociallogin)
    if configuration.tenant_id and claims.get("tid") != configuration.tenant_id:
        raise SsoRefusedError(f"This account is not from {organisation.name}'s Microsoft tenant.")
    email = str(claims.get("email") or claims.get("preferred_username") or sociallogin.user.email or "").strip().lower()
    if not email:
        raise SsoRefusedError("The identity provider did not say who you are (no e-mail address).")
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and user.organisation_id != organisation.pk:
        raise SsoRefusedError(f"{email} is not a user of {organisation.name}.")
    if user is not None and not user.is_active:
        raise SsoRefusedError(f"The account {email} is disabled. Ask your administrator.")
    if user is None:
        domain = email.rsplit("@", 1)[-1]
        allowed_domains = set(organisation.sso_domains.values_list("domain", flat=True))
        if not configuration.allows_auto_provisioning or domain not in allowed_domains:
            raise SsoRefusedError(f"{email} is not a user of {organisation.name}. Ask your administrator to add you.")
        user = services.create_user(
            organisation=organisation,
            email=email,
            password=None,
            first_name=str(claims.get("given_name") or ""),
            last_name=str(claims.get("family_name") or ""),
        )
    if sociallogin.is_existing:
        if sociallogin.user.pk != user.pk:
            raise SsoRefusedError("This sign-in is linked to another account.")
        return
    sociallogin.connect(request, user)


class OrganisationSocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(self, request: HttpRequest, provider: Any = None, client_id: Any = None) -> list[SocialApp]:
        configurations = OidcConfiguration.objects.select_related("organisation").filter(is_enabled=True)
        apps = [_app_for(configuration) for configuration in configurations]
        if provider and provider != PROVIDER:
            apps = [app for app in apps if app.provider_id == provider]
        if client_id:
            apps = [app for app in apps if app.client_id == client_id]
        return apps

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        configuration = configuration_for_provider_id(sociallogin.account.provider)
        return configuration is not None and configuration.allows_auto_provisioning

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        try:
            accept_sso_login(request=request, sociallogin=sociallogin)
        except SsoRefusedError as refusal:
            raise ImmediateHttpResponse(
                render(request, "accounts/sso_refused.html", {"step": 2, "error": str(refusal)}, status=403)
            ) from refusal
