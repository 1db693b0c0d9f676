"""Small factories that build data through the services, as the app does."""

from toc.accounts import services
from toc.accounts.models import Organisation, User

PASSWORD = "correct-horse-battery-9"


def make_organisation(*, name: str, sso_domain: str = "") -> Organisation:
    organisation = services.create_organisation(name=name)
    if sso_domain:
        services.add_sso_domain(organisation=organisation, domain=sso_domain)
    return organisation


def make_user(organisation: Organisation, first_name: str, **fields: object) -> User:
    domain = organisation.sso_domains.values_list("domain", flat=True).first() or f"{organisation.slug}.example"
    return services.create_user(
        organisation=organisation,
        email=f"{first_name}@{domain}",
        password=fields.pop("password", PASSWORD),  # type: ignore[arg-type]
        first_name=first_name.capitalize(),
        last_name="Tester",
        **fields,  # type: ignore[arg-type]
    )
