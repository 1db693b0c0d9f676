"""Writes for personal contacts and favourites; each change reaches the owner's other sessions."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from toc.accounts.access import organisation_id_of
from toc.accounts.models import User
from toc.directory.models import Contact, Favourite
from toc.lib.events import send_event
from toc.lib.phone import normalise_e164

NUMBER_FIELDS = ("work_number", "mobile_number", "home_number")


@dataclass(frozen=True)
class ContactInput:
    name: str
    company: str = ""
    work_number: str = ""
    mobile_number: str = ""
    home_number: str = ""
    email: str = ""


def _clean(data: ContactInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {
        "name": data.name.strip(),
        "company": data.company.strip(),
        "email": data.email.strip().lower(),
    }
    if not cleaned["name"]:
        errors["name"] = "A contact needs a name."
    elif len(cleaned["name"]) > 200:
        errors["name"] = "A name is at most 200 characters."
    if len(cleaned["company"]) > 200:
        errors["company"] = "A company name is at most 200 characters."
    if cleaned["email"]:
        try:
            validate_email(cleaned["email"])
        except ValidationError:
            errors["email"] = f"“{data.email.strip()}” is not an e-mail address."
    for field in NUMBER_FIELDS:
        try:
            cleaned[field] = normalise_e164(getattr(data, field), field=field)
        except ValidationError as error:
            errors.update({key: value[0] for key, value in error.message_dict.items()})
    if not errors and not any(cleaned[field] for field in NUMBER_FIELDS) and not cleaned["email"]:
        errors["work_number"] = "Give the contact at least one phone number or an e-mail address."
    if errors:
        raise ValidationError(errors)
    return cleaned


def _contacts_changed(owner: User) -> None:
    send_event(event_type="directory.contacts_changed", payload={}, user_ids=[owner.pk])


def create_contact(*, owner: User, data: ContactInput) -> Contact:
    cleaned = _clean(data)
    with transaction.atomic():
        contact = Contact.objects.create(owner=owner, organisation_id=organisation_id_of(owner), **cleaned)
        _contacts_changed(owner)
    return contact


def update_contact(*, contact: Contact, data: ContactInput) -> Contact:
    cleaned = _clean(data)
    with transaction.atomic():
        for field, value in cleaned.items():
            setattr(contact, field, value)
        contact.updated_at = timezone.now()
        contact.save()
        _contacts_changed(contact.owner)
    return contact


def delete_contact(*, contact: Contact) -> None:
    with transaction.atomic():
        owner = contact.owner
        contact.delete()
        _contacts_changed(owner)


def add_favourite(*, owner: User, colleague: User | None = None, contact: Contact | None = None) -> Favourite:
    """Star a colleague or one of the owner's contacts; starring twice is harmless."""
    if (colleague is None) == (contact is None):
        raise ValidationError({"target": "Star either a directory entry or a contact."})
    if colleague is not None and colleague.organisation_id != owner.organisation_id:
        raise ValidationError({"target": "That person is not in your directory."})
    if contact is not None and contact.owner_id != owner.pk:
        raise ValidationError({"target": "That contact is not yours."})
    try:
        with transaction.atomic():
            favourite, _ = Favourite.objects.get_or_create(
                owner=owner, organisation_id=organisation_id_of(owner), colleague=colleague, contact=contact
            )
            _contacts_changed(owner)
    except IntegrityError:
        favourite = Favourite.objects.get(owner=owner, colleague=colleague, contact=contact)
    return favourite


def remove_favourite(*, owner: User, colleague: User | None = None, contact: Contact | None = None) -> bool:
    with transaction.atomic():
        deleted, _ = Favourite.objects.filter(owner=owner, colleague=colleague, contact=contact).delete()
        if deleted:
            _contacts_changed(owner)
    return bool(deleted)
