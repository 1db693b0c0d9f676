"""Writes for organisations and users: creation, preferences, the Profile Wizard, password login.

Every function validates first and raises `ValidationError` with a message for the user,
changing nothing; the writes themselves run in one transaction.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify

from toc.accounts import throttling
from toc.accounts.models import (
    CallingDevice,
    LicenceTier,
    LoginThrottle,
    OidcConfiguration,
    Organisation,
    SsoDomain,
    User,
)
from toc.lib.events import send_event
from toc.lib.phone import normalise_e164

EXTENSION_PATTERN = re.compile(r"^[1-9][0-9]{2,3}$")
RESERVED_NUMBERS = {"911", "999"}
DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def validate_extension(extension: str) -> str:
    value = extension.strip()
    if not EXTENSION_PATTERN.match(value):
        raise ValidationError({"extension": "An extension is 3 or 4 digits and does not start with 0."})
    if value in RESERVED_NUMBERS:
        raise ValidationError({"extension": f"{value} is reserved by the dial plan."})
    if len(value) == 3 and value[0] in "67":
        raise ValidationError(
            {"extension": "3-digit numbers starting with 6 (park) or 7 (conference rooms) are reserved."}
        )
    return value


def normalise_domain(raw: str) -> str:
    domain = raw.strip().lower().rstrip(".")
    if "@" in domain:
        domain = domain.rsplit("@", 1)[1]
    if not DOMAIN_PATTERN.match(domain):
        raise ValidationError({"domain": f"“{raw.strip()}” is not a domain name such as toc.example.com."})
    return domain


def create_organisation(
    *, name: str, slug: str = "", licence_tier: str = LicenceTier.STARTER, timezone_name: str = "America/Toronto"
) -> Organisation:
    clean_name = name.strip()
    if not clean_name:
        raise ValidationError({"name": "An organisation needs a name."})
    if licence_tier not in LicenceTier.values:
        raise ValidationError({"licence_tier": f"Unknown licence tier “{licence_tier}”."})
    clean_slug = slugify(slug or clean_name)[:60]
    if Organisation.objects.filter(slug=clean_slug).exists():
        raise ValidationError({"slug": f"An organisation with the short name “{clean_slug}” exists."})
    return Organisation.objects.create(
        name=clean_name, slug=clean_slug, licence_tier=licence_tier, timezone=timezone_name
    )


def add_sso_domain(*, organisation: Organisation, domain: str) -> SsoDomain:
    clean = normalise_domain(domain)
    if SsoDomain.objects.filter(domain=clean).exists():
        raise ValidationError({"domain": f"The SSO domain {clean} is already in use."})
    return SsoDomain.objects.create(organisation=organisation, domain=clean)


def configure_oidc(
    *,
    organisation: Organisation,
    issuer: str,
    client_id: str,
    client_secret: str = "",
    tenant_id: str = "",
    allows_auto_provisioning: bool = False,
) -> OidcConfiguration:
    if not issuer.startswith(("https://", "http://")):
        raise ValidationError({"issuer": "The issuer must be an https URL."})
    if not client_id.strip():
        raise ValidationError({"client_id": "A client id is required."})
    configuration, _ = OidcConfiguration.objects.update_or_create(
        organisation=organisation,
        defaults={
            "issuer": issuer.rstrip("/"),
            "client_id": client_id.strip(),
            "client_secret": client_secret,
            "tenant_id": tenant_id.strip(),
            "allows_auto_provisioning": allows_auto_provisioning,
            "is_enabled": True,
        },
    )
    return configuration


def create_user(
    *,
    organisation: Organisation,
    email: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    extension: str = "",
    mobile_number: str = "",
    direct_number: str = "",
    is_org_admin: bool = False,
    is_greetings_manager: bool = False,
) -> User:
    """Create a user of `organisation`; `password=None` makes an SSO-only account."""
    clean_email = email.strip().lower()
    try:
        validate_email(clean_email)
    except ValidationError as error:
        raise ValidationError({"email": f"“{email}” is not an e-mail address."}) from error
    if User.objects.filter(email__iexact=clean_email).exists():
        raise ValidationError({"email": f"A user with the e-mail address {clean_email} exists."})
    clean_extension = validate_extension(extension) if extension else ""
    if clean_extension and User.objects.filter(organisation=organisation, extension=clean_extension).exists():
        raise ValidationError({"extension": f"Extension {clean_extension} is already taken."})
    clean_mobile = normalise_e164(mobile_number, field="mobile_number")
    clean_direct = normalise_e164(direct_number, field="direct_number")
    if clean_direct and User.objects.filter(direct_number=clean_direct).exists():
        raise ValidationError({"direct_number": f"{clean_direct} is already assigned to someone."})
    user = User(
        organisation=organisation,
        email=clean_email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        extension=clean_extension,
        mobile_number=clean_mobile,
        direct_number=clean_direct,
        is_org_admin=is_org_admin,
        is_greetings_manager=is_greetings_manager,
    )
    if password is None:
        user.set_unusable_password()
    else:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise ValidationError({"password": error.messages}) from error
        user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as error:
        # Someone else took the e-mail address, extension or number between check and save.
        raise ValidationError(
            {"email": "That e-mail address, extension or direct number was just taken. Check them and try again."}
        ) from error
    return user


def update_preferences(*, user: User, calling_device: str | None = None, mobile_number: str | None = None) -> User:
    """Change the default calling device and/or mobile number; both are checked together."""
    new_mobile = user.mobile_number if mobile_number is None else normalise_e164(mobile_number, field="mobile_number")
    new_device = user.calling_device if calling_device is None else calling_device
    if not new_device:
        raise ValidationError({"calling_device": "Choose a calling device."})
    if new_device not in CallingDevice.values:
        raise ValidationError({"calling_device": f"Unknown calling device “{new_device}”."})
    if new_device == CallingDevice.MOBILE and not new_mobile:
        raise ValidationError({"mobile_number": "Enter your mobile number to use Mobile as your calling device."})
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.calling_device = new_device
        locked.mobile_number = new_mobile
        locked.save(update_fields=["calling_device", "mobile_number"])
    user.calling_device, user.mobile_number = new_device, new_mobile
    return user


def complete_profile(*, user: User, calling_device: str, mobile_number: str, now: datetime | None = None) -> User:
    """The Profile Wizard's Phones step and Finish: preferences saved, wizard not shown again."""
    update_preferences(user=user, calling_device=calling_device, mobile_number=mobile_number)
    completed_at = now or timezone.now()
    User.objects.filter(pk=user.pk, profile_completed_at__isnull=True).update(profile_completed_at=completed_at)
    user.refresh_from_db(fields=["profile_completed_at"])
    return user


def end_session(*, user: User, session_key: str) -> None:
    """A session was signed out: its live sockets close themselves when this event arrives."""
    send_event(event_type="accounts.signed_out", payload={"session_key": session_key}, user_ids=[user.pk])


def end_all_connections(*, user: User) -> None:
    """The account was disabled: every live socket of the user closes, the desktop app's too
    (it signs in with a token, not a session)."""
    send_event(event_type="accounts.signed_out", payload={"everywhere": True}, user_ids=[user.pk])


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str = ""
    retry_after_seconds: int = 0


def _email_policy() -> throttling.ThrottlePolicy:
    return throttling.ThrottlePolicy(
        failures_before_delay=settings.LOGIN_FAILURES_BEFORE_DELAY,
        failures_before_lock=settings.LOGIN_FAILURES_BEFORE_LOCK,
        lock_seconds=settings.LOGIN_LOCK_SECONDS,
    )


def _address_policy() -> throttling.ThrottlePolicy:
    # Many people of one office share an address: allow far more before it slows down.
    return throttling.ThrottlePolicy(
        failures_before_delay=settings.LOGIN_FAILURES_BEFORE_LOCK * 2,
        failures_before_lock=settings.LOGIN_FAILURES_BEFORE_LOCK * 10,
        lock_seconds=settings.LOGIN_LOCK_SECONDS,
    )


def _state_of(row: LoginThrottle) -> throttling.ThrottleState:
    # A row is stored only when a failure is counted or cleared, so with failures on record
    # `updated_at` is the time of the last one.
    last_failure_at = row.updated_at if row.failure_count else None
    return throttling.ThrottleState(row.failure_count, row.next_attempt_at, row.locked_until, last_failure_at)


def _store(row: LoginThrottle, state: throttling.ThrottleState, now: datetime) -> None:
    row.failure_count = state.failure_count
    row.next_attempt_at = state.next_attempt_at
    row.locked_until = state.locked_until
    row.updated_at = now
    row.save()


def _wait_message(seconds: int, *, locked: bool) -> str:
    if locked:
        minutes = max(1, (seconds + 59) // 60)
        return f"Too many failed sign-ins. This account is locked for {minutes} more minute(s)."
    return f"Too many failed sign-ins. Wait {seconds} second(s) and try again."


def login_with_password(
    *, request: HttpRequest | None, email: str, password: str, client_address: str, now: datetime | None = None
) -> LoginResult:
    """Check a password under the throttle; the caller starts the session on success.

    Row locks are taken in a fixed order (e-mail key, then address key) so two attempts at
    once never deadlock and never lose a failure.
    """
    moment = now or timezone.now()
    keys = [("email:" + email.strip().lower(), _email_policy()), ("address:" + client_address, _address_policy())]
    with transaction.atomic():
        rows = []
        for key, policy in keys:
            LoginThrottle.objects.get_or_create(key=key)
            rows.append((LoginThrottle.objects.select_for_update().get(key=key), policy))
        for row, _ in rows:
            state = _state_of(row)
            wait = throttling.seconds_to_wait(state, moment)
            if wait:
                return LoginResult(
                    user=None,
                    error=_wait_message(wait, locked=throttling.is_locked(state, moment)),
                    retry_after_seconds=wait,
                )
        user = authenticate(request, username=email.strip().lower(), password=password)
        if isinstance(user, User) and user.organisation_id is not None:
            _store(rows[0][0], throttling.after_success(), moment)
            return LoginResult(user=user)
        for row, policy in rows:
            _store(row, throttling.after_failure(_state_of(row), moment, policy), moment)
    return LoginResult(user=None, error="The e-mail address or password is not correct.")
