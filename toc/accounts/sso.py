"""SSO ("Sign in with Microsoft"): OpenID Connect per organisation through django-allauth.

Each organisation's `OidcConfiguration` is offered to allauth as an unsaved `openid_connect`
app whose provider id is `org-<slug>`, so the login URL is /accounts/oidc/org-<slug>/login/
(POST only). allauth runs the code flow with PKCE (S256), reads the provider's discovery
document, exchanges the code and fetches userinfo; it keeps the claims in
`SocialAccount.extra_data` as {"userinfo": {...}, "id_token": {...}}.

The policy lives here, in `accept_sso_login` (allauth's `pre_social_login` hook): the ID
token's `tid` must be the organisation's tenant; the person must be an active user of that
organisation, found by their link from an earlier sign-in or by e-mail address; a stranger
is created only when the organisation allows auto-provisioning and their e-mail domain is
one of its SSO domains. Anything else is refused with a clear page and changes nothing.
Failures before that point (the provider's error, a cancelled sign-in, an expired or foreign
state, an unreachable provider) are explained by `describe_authentication_failure`.
"""

import logging
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import requests
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.base import AuthError, AuthProcess, Provider
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from toc.accounts import services
from toc.accounts.models import OidcConfiguration, Organisation, User

logger = logging.getLogger(__name__)

PROVIDER = "openid_connect"
PROVIDER_ID_PREFIX = "org-"
# An OAuth error code (RFC 6749 §4.1.2.1) is shown to the user; anything else in `error` is not.
OAUTH_ERROR_CODE = re.compile(r"^[a-z_]{1,64}$")


def provider_id_for(organisation: Organisation) -> str:
    return f"{PROVIDER_ID_PREFIX}{organisation.slug}"


def _app_for(configuration: OidcConfiguration) -> SocialApp:
    return SocialApp(
        provider=PROVIDER,
        provider_id=provider_id_for(configuration.organisation),
        name=f"{configuration.organisation.name} (Microsoft)",
        client_id=configuration.client_id,
        secret=configuration.client_secret,
        # `hidden`: allauth's own pages never list the organisations that use SSO.
        settings={"server_url": configuration.issuer, "oauth_pkce_enabled": True, "hidden": True},
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


def claims_of(extra_data: dict[str, Any]) -> dict[str, Any]:
    """The claims of a sign-in; the signed ID token wins over userinfo (`tid` is only in it)."""
    claims: dict[str, Any] = {}
    for part in ("userinfo", "id_token"):
        value = extra_data.get(part)
        if isinstance(value, dict):
            claims.update(value)
    # Before allauth 65.11, extra_data was the bare claims.
    return claims or dict(extra_data)


def email_of(claims: dict[str, Any]) -> str:
    return str(claims.get("email") or claims.get("preferred_username") or "").strip().lower()


def accept_sso_login(*, request: HttpRequest, sociallogin: SocialLogin) -> None:
    """Accept an SSO login for its organisation, linking or provisioning the user; else refuse.

    On return `sociallogin.user` is a saved, active user of the organisation linked to this
    identity, so allauth signs them in; otherwise `SsoRefusedError` and nothing is written
    (allauth itself has already refreshed the stored claims of an existing link by then).
    """
    configuration = configuration_for_provider_id(sociallogin.account.provider)
    if configuration is None:
        raise SsoRefusedError("Single sign-on is not set up for this organisation.")
    if sociallogin.state.get("process", AuthProcess.LOGIN) != AuthProcess.LOGIN:
        raise SsoRefusedError("Single sign-on can only be used to sign in.")
    organisation = configuration.organisation
    claims = claims_of(sociallogin.account.extra_data or {})
    if configuration.tenant_id and claims.get("tid") != configuration.tenant_id:
        raise SsoRefusedError(f"This Microsoft account is not from {organisation.name}'s Microsoft tenant.")
    if sociallogin.is_existing:
        # Linked at an earlier sign-in: the link, not the e-mail address, says who this is.
        linked = sociallogin.user
        if not isinstance(linked, User) or linked.organisation_id != organisation.pk:
            raise SsoRefusedError(f"This Microsoft account is not linked to a user of {organisation.name}.")
        _check_active(linked)
        return
    email = email_of(claims)
    if not email:
        raise SsoRefusedError("Microsoft did not say who you are (no e-mail address). Ask your administrator.")
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and user.organisation_id != organisation.pk:
        raise SsoRefusedError(f"{email} is not a user of {organisation.name}.")
    if user is not None:
        _check_active(user)
    try:
        with transaction.atomic():
            if user is None:
                user = _provision(configuration=configuration, email=email, claims=claims)
            sociallogin.connect(request, user)
    except IntegrityError as error:
        # The same person was linked or created a moment ago by a sign-in in another window.
        raise SsoRefusedError("This sign-in was completed in another window. Please start again.") from error


def _check_active(user: User) -> None:
    if not user.is_active:
        raise SsoRefusedError(f"The account {user.email} is disabled. Ask your administrator.")


def _provision(*, configuration: OidcConfiguration, email: str, claims: dict[str, Any]) -> User:
    organisation = configuration.organisation
    domain = email.rpartition("@")[2]
    is_own_domain = organisation.sso_domains.filter(domain=domain).exists()
    if not configuration.allows_auto_provisioning or not is_own_domain:
        raise SsoRefusedError(f"{email} is not a user of {organisation.name}. Ask your administrator to add you.")
    try:
        return services.create_user(
            organisation=organisation,
            email=email,
            password=None,
            first_name=str(claims.get("given_name") or "")[:100],
            last_name=str(claims.get("family_name") or "")[:100],
        )
    except ValidationError as error:
        # Another sign-in created this address first, or the provider sent an unusable one.
        raise SsoRefusedError(f"Could not create an account for {email}. Please try again.") from error


@dataclass(frozen=True)
class AuthenticationFailure:
    message: str
    status: int


def describe_authentication_failure(
    *, error: str, exception: BaseException | None, is_state_known: bool, provider_error: str
) -> AuthenticationFailure:
    """What to tell a person whose sign-in stopped before TOC saw who they are, and the status."""
    if error == AuthError.CANCELLED:
        return AuthenticationFailure(
            "Sign-in with Microsoft was cancelled. Nothing was changed; you can try again.", HTTPStatus.OK
        )
    if isinstance(exception, requests.RequestException):
        return AuthenticationFailure(
            "Your organisation's Microsoft sign-in could not be reached. Please try again in a few minutes.",
            HTTPStatus.UNAUTHORIZED,
        )
    if exception is not None:
        return AuthenticationFailure(
            "Microsoft could not confirm your sign-in. Please try again; if it keeps happening, "
            "ask your administrator.",
            HTTPStatus.UNAUTHORIZED,
        )
    if not is_state_known:
        return AuthenticationFailure(
            "This sign-in has expired or was started in another browser or window. Please start again.",
            HTTPStatus.UNAUTHORIZED,
        )
    code = f" ({provider_error})" if OAUTH_ERROR_CODE.match(provider_error) else ""
    return AuthenticationFailure(
        f"Microsoft refused the sign-in{code}. Please try again; if it keeps happening, ask your administrator.",
        HTTPStatus.UNAUTHORIZED,
    )


class OrganisationOidcProvider(OpenIDConnectProvider):
    """allauth's OpenID Connect provider, with an unreachable provider explained at login start."""

    def redirect(
        self, request: HttpRequest, process: str, next_url: str | None = None, data: Any = None, **kwargs: Any
    ) -> HttpResponse:
        try:
            response: HttpResponse = super().redirect(request, process, next_url=next_url, data=data, **kwargs)
        except requests.RequestException as error:
            # Reading the discovery document failed; allauth only handles this at the callback.
            response = render_authentication_error(request, self, exception=error)
        return response


class OrganisationSocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(self, request: HttpRequest, provider: Any = None, client_id: Any = None) -> list[SocialApp]:
        configurations = OidcConfiguration.objects.select_related("organisation").filter(is_enabled=True)
        apps = [_app_for(configuration) for configuration in configurations]
        if provider and provider != PROVIDER:
            apps = [app for app in apps if app.provider_id == provider]
        if client_id:
            apps = [app for app in apps if app.client_id == client_id]
        return apps

    def get_provider(self, request: HttpRequest, provider: str, client_id: Any = None) -> Provider:
        if provider.startswith(PROVIDER_ID_PREFIX):
            return OrganisationOidcProvider(request, app=self.get_app(request, provider=provider, client_id=client_id))
        found: Provider = super().get_provider(request, provider, client_id=client_id)
        return found

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        # `accept_sso_login` links or creates every accepted user itself; allauth never signs up.
        return False

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        try:
            accept_sso_login(request=request, sociallogin=sociallogin)
        except SsoRefusedError as refusal:
            logger.info("SSO refused for %s: %s", sociallogin.account.provider, refusal)
            raise ImmediateHttpResponse(
                render(request, "accounts/sso_refused.html", {"step": 2, "error": str(refusal)}, status=403)
            ) from refusal

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: Any = None,
        exception: Any = None,
        extra_context: Any = None,
    ) -> None:
        context = extra_context or {}
        failure = describe_authentication_failure(
            error=str(error or AuthError.UNKNOWN),
            exception=exception,
            is_state_known=context.get("state") is not None,
            provider_error=request.GET.get("error", "")[:100],
        )
        logger.warning(
            "SSO sign-in with %s failed: %s (%s)", getattr(provider, "sub_id", provider), error, exception or "-"
        )
        raise ImmediateHttpResponse(
            render(
                request,
                "socialaccount/authentication_error.html",
                {"step": 2, "error": failure.message},
                status=failure.status,
            )
        )
