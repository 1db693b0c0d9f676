"""Reads for organisations and users. Every selector takes the organisation or user explicitly."""

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from toc.accounts.models import Organisation, SsoDomain, User
from toc.accounts.services import normalise_domain


def get_organisation_for_sso_domain(*, domain: str) -> Organisation:
    """The organisation whose SSO domain the user typed; a clear error when none has it."""
    clean = normalise_domain(domain)
    entry = SsoDomain.objects.select_related("organisation").filter(domain=clean).first()
    if entry is None:
        raise ValidationError(
            {"domain": f"No organisation uses the SSO domain {clean}. Check the domain in your welcome e-mail."}
        )
    return entry.organisation


def list_organisation_users(*, organisation: Organisation) -> QuerySet[User]:
    return User.objects.filter(organisation=organisation, is_active=True).order_by("first_name", "last_name", "email")


def get_sso_provider_id(*, organisation: Organisation) -> str:
    """The allauth provider id of the organisation's SSO; a clear error when it has none."""
    from toc.accounts.sso import provider_id_for

    configuration = getattr(organisation, "oidc_configuration", None)
    if configuration is None or not configuration.is_enabled:
        raise ValidationError({"domain": f"{organisation.name} does not use single sign-on. Choose Password Login."})
    return provider_id_for(organisation)
