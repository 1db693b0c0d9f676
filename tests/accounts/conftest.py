"""SSO set-up for the accounts tests: the local OIDC provider and Acme's configuration for it."""

import pytest
from pytest_django.live_server_helper import LiveServer

from tests.oidc_provider import fixtures as oidc_provider_fixtures
from tests.oidc_provider.fixtures import IdentityProviderApplication, LocalIdentityProvider
from toc.accounts import services
from toc.accounts.models import OidcConfiguration, Organisation
from toc.accounts.sso import provider_id_for

# The fixture lives with the provider so end-to-end tests can use it too.
oidc_provider = oidc_provider_fixtures.oidc_provider

ACME_TENANT_ID = "5a3c1f0e-acme-4e1b-9d2a-0000000000a1"
GLOBEX_TENANT_ID = "7b4d2e1f-globex-4c3b-8e5f-0000000000b2"


def sso_callback_url(live_server: LiveServer, organisation: Organisation) -> str:
    return f"{live_server.url}/accounts/oidc/{provider_id_for(organisation)}/login/callback/"


@pytest.fixture
def acme_idp_application(
    live_server: LiveServer, oidc_provider: LocalIdentityProvider, acme: Organisation
) -> IdentityProviderApplication:
    return oidc_provider.add_application(redirect_uri=sso_callback_url(live_server, acme))


@pytest.fixture
def acme_sso(
    oidc_provider: LocalIdentityProvider, acme: Organisation, acme_idp_application: IdentityProviderApplication
) -> OidcConfiguration:
    """Acme signs in with the local provider, as a company would with its Entra tenant."""
    return services.configure_oidc(
        organisation=acme,
        issuer=oidc_provider.issuer,
        client_id=acme_idp_application.client_id,
        client_secret=acme_idp_application.client_secret,
        tenant_id=ACME_TENANT_ID,
    )
