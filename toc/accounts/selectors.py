"""Reads for organisations and users. Every selector takes the organisation or user explicitly."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from toc.accounts.models import AuditEntry, Organisation, SsoDomain, User
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


# --- company administration -------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50


def list_members(*, organisation: Organisation) -> QuerySet[User]:
    """Everyone of the organisation, disabled users too (the admin's Users page)."""
    return User.objects.filter(organisation=organisation).order_by("-is_active", "extension", "email")


def get_organisation_user(*, organisation: Organisation, user_id: object) -> User:
    """A user of `organisation`; `User.DoesNotExist` (a 404) for anyone else's."""
    user = User.objects.filter(pk=user_id if isinstance(user_id, int) else -1, organisation=organisation).first()
    if user is None:
        raise User.DoesNotExist("That user does not exist in your organisation.")
    return user


@dataclass(frozen=True)
class NumberInUse:
    number: str  # E.164
    kind: str  # "Main number" or "Direct number"
    holder: User | None  # who has a direct number


def list_numbers(*, organisation: Organisation) -> list[NumberInUse]:
    """The organisation's main number first, then the direct numbers by extension."""
    numbers = [NumberInUse(organisation.main_number, "Main number", None)] if organisation.main_number else []
    holders = User.objects.filter(organisation=organisation).exclude(direct_number="").order_by("extension", "email")
    numbers += [NumberInUse(user.direct_number, "Direct number", user) for user in holders]
    return numbers


def list_audit_entries(*, organisation: Organisation, action_prefix: str = "", page: int = 1) -> Page[AuditEntry]:
    """The organisation's audit log, newest first, `AUDIT_PAGE_SIZE` a page (a page past the
    end gives the last one)."""
    entries = AuditEntry.objects.filter(organisation=organisation)
    if action_prefix:
        entries = entries.filter(action__startswith=action_prefix)
    paginator = Paginator(entries.select_related("actor").order_by("-created_at", "-pk"), AUDIT_PAGE_SIZE)
    return paginator.get_page(page)


def list_audit_action_families(*, organisation: Organisation) -> list[str]:
    """The action prefixes ("user", "room"...) the organisation's log holds, for its filter."""
    actions = AuditEntry.objects.filter(organisation=organisation).values_list("action", flat=True).distinct()
    return sorted({action.split(".", 1)[0] for action in actions})
