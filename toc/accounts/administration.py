"""Company administration: the writes an organisation's admins make in Self Care (users,
numbers, call settings). Conference rooms (`toc.calls.services.rooms`) and the company
greeting (`toc.voicemail.company`) follow the same policy with these helpers.

Policy, in one place:
- Every service takes the acting `admin` (or `user` for the greeting) and checks the right
  itself: a non-admin gets `PermissionDenied` and nothing changes. Objects are loaded only
  within the actor's organisation; another organisation's id is `NotFoundError` (a 404).
- Input problems raise `ValidationError` keyed by field, all found at once, changing nothing.
- Every change writes one audit entry (`toc.accounts.audit`) in the same transaction, with the
  changed fields before and after; a save that changes nothing writes none. Secrets are
  recorded as markers ("a new PIN", "changed").
- A direct number belongs to one place across all organisations: no other user's direct number
  and no organisation's main number.
- Locks: user and organisation writes lock the organisation row first (so two admins cannot
  both remove the last admin, or disable each other), then the user row. The actor's admin
  right is re-read under that lock.
"""

from dataclasses import dataclass

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from toc.accounts import audit
from toc.accounts.models import LicenceTier, Organisation, User
from toc.accounts.services import end_all_connections, end_session, validate_extension
from toc.lib.phone import format_for_display, normalise_e164
from toc.voicemail import services as voicemail
from toc.voicemail.services import VoicemailError

RING_TIMEOUT_RANGE = (5, 120)
PARK_TIMEOUT_RANGE = (15, 600)
PARK_SLOT_RANGE = (600, 699)  # the dial plan's 6xx: what is dialled as a park slot


class NotFoundError(ObjectDoesNotExist):
    """The object does not exist in the actor's organisation (shown as a 404)."""


# --- who may ----------------------------------------------------------------------------------


def organisation_id_of_admin(admin: User) -> int:
    if admin.organisation_id is None or not admin.is_active or not admin.is_org_admin:
        raise PermissionDenied("Only your company's administrators can do that.")
    return admin.organisation_id


def lock_organisation(admin: User) -> Organisation:
    """The admin's organisation row, locked; refused if the admin lost the right meanwhile."""
    organisation_id = organisation_id_of_admin(admin)
    organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
    if not User.objects.filter(
        pk=admin.pk, organisation_id=organisation_id, is_active=True, is_org_admin=True
    ).exists():
        raise PermissionDenied("Only your company's administrators can do that.")
    return organisation


def _locked_user(organisation: Organisation, user_id: object) -> User:
    user = (
        User.objects.select_for_update()
        .filter(pk=user_id if isinstance(user_id, int) else -1, organisation=organisation)
        .first()
    )
    if user is None:
        raise NotFoundError("That user does not exist in your organisation.")
    return user


# --- users --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserFields:
    """What an admin fills in for a user. `password`: None or "" leaves it (an SSO-only account
    when creating)."""

    email: str
    first_name: str
    last_name: str
    extension: str
    is_org_admin: bool = False
    is_greetings_manager: bool = False
    licence_tier: str = LicenceTier.STARTER
    direct_number: str = ""
    password: str | None = None


def snapshot_of_user(user: User) -> dict[str, object]:
    """A user's audited fields (never the password)."""
    return {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "extension": user.extension,
        "direct_number": user.direct_number,
        "licence_tier": user.licence_tier,
        "admin": user.is_org_admin,
        "greetings_manager": user.is_greetings_manager,
    }


def _add(errors: dict[str, list[str]], error: ValidationError) -> None:
    for field, messages in error.message_dict.items():
        errors.setdefault(field, []).extend(messages)


def _number_holder_problem(number: str, *, organisation_id: int, user_id: int) -> str:
    """Why `number` cannot be someone's direct number or a main number, or ""."""
    holder = User.objects.filter(direct_number=number).exclude(pk=user_id).first()
    if holder is not None:
        if holder.organisation_id == organisation_id:
            return f"{format_for_display(number)} is already the direct number of {holder.display_name}."
        return f"{format_for_display(number)} belongs to another organisation."
    owner = Organisation.objects.filter(main_number=number).first()
    if owner is not None:
        if owner.pk == organisation_id:
            return f"{format_for_display(number)} is your company's main number."
        return f"{format_for_display(number)} belongs to another organisation."
    return ""


def _cleaned_user_fields(fields: UserFields, *, organisation: Organisation, user: User | None) -> UserFields:
    """The fields cleaned, or ValidationError naming every field that is wrong."""
    errors: dict[str, list[str]] = {}
    user_id = user.pk if user is not None else 0
    email = fields.email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = [f"“{fields.email.strip()}” is not an e-mail address."]
    else:
        if User.objects.filter(email__iexact=email).exclude(pk=user_id).exists():
            errors["email"] = [f"A user with the e-mail address {email} exists."]
    first_name, last_name = " ".join(fields.first_name.split()), " ".join(fields.last_name.split())
    if not first_name:
        errors["first_name"] = ["Enter a first name."]
    for name, value in (("first_name", first_name), ("last_name", last_name)):
        if len(value) > 100:
            errors[name] = ["A name is at most 100 characters."]
    extension = fields.extension.strip()
    if not extension:
        errors["extension"] = ["Enter an extension: 3 or 4 digits."]
    else:
        try:
            extension = validate_extension(extension)
        except ValidationError as error:
            _add(errors, error)
        else:
            taken = User.objects.filter(organisation=organisation, extension=extension).exclude(pk=user_id).first()
            if taken is not None:
                errors["extension"] = [f"Extension {extension} is already {taken.display_name}'s."]
    if fields.licence_tier not in LicenceTier.values:
        errors["licence_tier"] = [f"Unknown licence tier “{fields.licence_tier[:20]}”."]
    direct_number = ""
    try:
        direct_number = normalise_e164(fields.direct_number, field="direct_number")
    except ValidationError as error:
        _add(errors, error)
    if direct_number:
        problem = _number_holder_problem(direct_number, organisation_id=organisation.pk, user_id=user_id)
        if problem:
            errors["direct_number"] = [problem]
    if fields.password:
        try:
            validate_password(fields.password, user)
        except ValidationError as error:
            errors["password"] = list(error.messages)
    if errors:
        raise ValidationError(errors)
    return UserFields(
        email=email,
        first_name=first_name,
        last_name=last_name,
        extension=extension,
        is_org_admin=fields.is_org_admin,
        is_greetings_manager=fields.is_greetings_manager,
        licence_tier=fields.licence_tier,
        direct_number=direct_number,
        password=fields.password or None,
    )


def _apply(user: User, fields: UserFields) -> None:
    user.email = fields.email
    user.first_name, user.last_name = fields.first_name, fields.last_name
    user.extension, user.direct_number = fields.extension, fields.direct_number
    user.is_org_admin, user.is_greetings_manager = fields.is_org_admin, fields.is_greetings_manager
    user.licence_tier = fields.licence_tier
    if fields.password:
        user.set_password(fields.password)


def _save(user: User) -> None:
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as error:
        # Another organisation took the number or address between the check and the save.
        raise ValidationError(
            {"email": ["That e-mail address, extension or direct number was just taken. Check them and try again."]}
        ) from error


def create_user(*, admin: User, fields: UserFields) -> User:
    """A new user of the admin's organisation; without a password they sign in with SSO only."""
    with transaction.atomic():
        organisation = lock_organisation(admin)
        clean = _cleaned_user_fields(fields, organisation=organisation, user=None)
        user = User(organisation=organisation)
        _apply(user, clean)
        if clean.password is None:
            user.set_unusable_password()
        _save(user)
        after = {**snapshot_of_user(user), "sign_in": "password" if clean.password else "single sign-on only"}
        audit.record(
            actor=admin,
            action="user.created",
            target_type="user",
            target_id=user.pk,
            target_label=user.display_name,
            before=None,
            after=after,
        )
    return user


def update_user(*, admin: User, user_id: object, fields: UserFields) -> User:
    """Change a user's details; an empty password leaves it. The last admin keeps the role."""
    with transaction.atomic():
        organisation = lock_organisation(admin)
        user = _locked_user(organisation, user_id)
        clean = _cleaned_user_fields(fields, organisation=organisation, user=user)
        if user.is_org_admin and not clean.is_org_admin and _is_last_admin(user, organisation):
            raise ValidationError(
                {"is_org_admin": [f"{user.display_name} is the last administrator: make someone else one first."]}
            )
        if user.extension and clean.extension != user.extension:
            _check_extension_unused(organisation, user.extension)
        before = snapshot_of_user(user)
        _apply(user, clean)
        after = snapshot_of_user(user)
        if clean.password:
            before["password"], after["password"] = "", "changed"
        changes = audit.changed_fields(before, after)
        if not changes:
            return user
        _save(user)
        audit.record_changes(
            actor=admin,
            action="user.updated",
            target_type="user",
            target_id=user.pk,
            target_label=user.display_name,
            changes=changes,
        )
    return user


def _check_extension_unused(organisation: Organisation, extension: str) -> None:
    """An extension that is someone's forwarding destination or a company-greeting choice is
    not moved: calls would silently reach whoever gets it next."""
    from toc.calls.services import forwarding  # calls builds on accounts; imported when used
    from toc.voicemail import company

    holders = forwarding.list_users_forwarding_to(organisation_id=organisation.pk, extension=extension)
    places = [f"the call forwarding of {', '.join(user.display_name for user in holders)}"] if holders else []
    if extension in company.greeting_of(organisation.pk).options.values():
        places.append("the company greeting's choices")
    if places:
        raise ValidationError(
            {"extension": [f"Extension {extension} is still used in {' and '.join(places)}: change that first."]}
        )


def _is_last_admin(user: User, organisation: Organisation) -> bool:
    others = User.objects.filter(organisation=organisation, is_org_admin=True, is_active=True)
    return not others.exclude(pk=user.pk).exists()


def _session_keys_of(user: User) -> list[str]:
    """The keys of the user's unexpired sessions (sessions are stored in the database; the
    user id is inside the encoded data, so each live session is decoded)."""
    keys = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            keys.append(session.session_key)
    return keys


def disable_user(*, admin: User, user_id: object) -> User:
    """The user can no longer sign in: their sessions and API tokens end, and their open
    communicator windows are told they were signed out."""
    with transaction.atomic():
        organisation = lock_organisation(admin)
        user = _locked_user(organisation, user_id)
        if user.pk == admin.pk:
            raise ValidationError({"is_active": ["You cannot disable your own account."]})
        if not user.is_active:
            return user
        if user.is_org_admin and _is_last_admin(user, organisation):
            raise ValidationError({"is_active": [f"{user.display_name} is the last administrator."]})
        user.is_active = False
        user.save(update_fields=["is_active"])
        keys = _session_keys_of(user)
        Session.objects.filter(session_key__in=keys).delete()
        Token.objects.filter(user=user).delete()
        audit.record(
            actor=admin,
            action="user.disabled",
            target_type="user",
            target_id=user.pk,
            target_label=user.display_name,
            before={"active": True},
            after={"active": False},
        )
        transaction.on_commit(lambda: _announce_signed_out(user, keys))
    return user


def _announce_signed_out(user: User, session_keys: list[str]) -> None:
    for key in session_keys:
        end_session(user=user, session_key=key)
    end_all_connections(user=user)


def enable_user(*, admin: User, user_id: object) -> User:
    with transaction.atomic():
        organisation = lock_organisation(admin)
        user = _locked_user(organisation, user_id)
        if user.is_active:
            return user
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit.record(
            actor=admin,
            action="user.enabled",
            target_type="user",
            target_id=user.pk,
            target_label=user.display_name,
            before={"active": False},
            after={"active": True},
        )
    return user


def reset_voicemail_pin(*, admin: User, user_id: object, pin: str) -> None:
    """Give a user's mailbox a new PIN (and lift a lockout); the log says only that it was reset."""
    with transaction.atomic():
        organisation = lock_organisation(admin)
        user = _locked_user(organisation, user_id)
        try:
            voicemail.reset_pin(admin=admin, user_id=user.pk, pin=pin)
        except VoicemailError as error:
            if error.code == "forbidden":
                raise PermissionDenied(error.message) from error
            raise ValidationError({"voicemail_pin": [error.message]}) from error
        audit.record(
            actor=admin,
            action="user.voicemail_pin_reset",
            target_type="user",
            target_id=user.pk,
            target_label=user.display_name,
            before=None,
            after={"voicemail_pin": "reset"},
        )


# --- the organisation: main number and call settings ----------------------------------------------


def set_main_number(*, admin: User, main_number: str) -> Organisation:
    """The number callers of the company dial (empty: none)."""
    with transaction.atomic():
        organisation = lock_organisation(admin)
        number = normalise_e164(main_number, field="main_number")
        if number == organisation.main_number:
            return organisation
        if number:
            problem = _number_holder_problem(number, organisation_id=organisation.pk, user_id=0)
            if problem:
                raise ValidationError({"main_number": [problem]})
        before: dict[str, object] = {"main_number": organisation.main_number}
        organisation.main_number = number
        try:
            with transaction.atomic():
                organisation.save(update_fields=["main_number"])
        except IntegrityError:  # another organisation took it a moment ago
            raise ValidationError({"main_number": ["That number belongs to another organisation."]}) from None
        audit.record(
            actor=admin,
            action="organisation.main_number_changed",
            target_type="organisation",
            target_id=organisation.pk,
            target_label=organisation.name,
            before=before,
            after={"main_number": number},
        )
    return organisation


@dataclass(frozen=True)
class CallSettings:
    ring_timeout_seconds: int
    park_first_slot: int
    park_slot_count: int
    park_timeout_seconds: int


def call_settings_of(organisation: Organisation) -> CallSettings:
    return CallSettings(
        ring_timeout_seconds=organisation.ring_timeout_seconds,
        park_first_slot=organisation.park_first_slot,
        park_slot_count=organisation.park_slot_count,
        park_timeout_seconds=organisation.park_timeout_seconds,
    )


def _call_settings_problems(settings: CallSettings) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    low, high = RING_TIMEOUT_RANGE
    if not low <= settings.ring_timeout_seconds <= high:
        errors["ring_timeout_seconds"] = [f"Ring for {low} to {high} seconds."]
    low, high = PARK_TIMEOUT_RANGE
    if not low <= settings.park_timeout_seconds <= high:
        errors["park_timeout_seconds"] = [f"A parked call waits {low} to {high} seconds before it rings back."]
    first_allowed, last_allowed = PARK_SLOT_RANGE
    if not first_allowed <= settings.park_first_slot <= last_allowed:
        errors["park_first_slot"] = [f"Park slots are dialled as {first_allowed} to {last_allowed}."]
    elif settings.park_slot_count < 1:
        errors["park_slot_count"] = ["Keep at least one park slot."]
    elif settings.park_first_slot + settings.park_slot_count - 1 > last_allowed:
        room = last_allowed - settings.park_first_slot + 1
        errors["park_slot_count"] = [
            f"From {settings.park_first_slot} there is room for {room} slot(s) up to {last_allowed}."
        ]
    return errors


def update_call_settings(*, admin: User, settings: CallSettings) -> Organisation:
    """How long calls ring before going to voicemail, and the park slots and timeout."""
    organisation_id_of_admin(admin)
    errors = _call_settings_problems(settings)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        organisation = lock_organisation(admin)
        before = call_settings_of(organisation).__dict__
        after = settings.__dict__
        changes = audit.changed_fields(before, after)
        if not changes:
            return organisation
        for name, (_, new) in changes.items():
            setattr(organisation, name, new)
        organisation.save(update_fields=list(changes))
        audit.record_changes(
            actor=admin,
            action="organisation.call_settings_changed",
            target_type="organisation",
            target_id=organisation.pk,
            target_label=organisation.name,
            changes=changes,
        )
    return organisation
