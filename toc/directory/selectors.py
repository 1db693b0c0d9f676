"""Reads for the Directory (colleagues), personal Contacts and Favourites, and the one search
box across all three. Everything is scoped to the requesting user and their organisation."""

from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from django.http import Http404

from toc.accounts.access import organisation_id_of
from toc.accounts.models import User
from toc.accounts.selectors import list_organisation_users
from toc.directory.models import Contact, Favourite
from toc.lib.phone import digits_of, format_for_display
from toc.presence.selectors import list_presences_for_organisation

NUMBER_PUNCTUATION = str.maketrans("", "", "+-(). ")


def get_contact_for_user(*, user: User, contact_id: int) -> Contact:
    contact = Contact.objects.filter(pk=contact_id, owner=user).select_related("owner").first()
    if contact is None:
        raise Http404("No such contact.")
    return contact


def get_colleague_for_user(*, user: User, colleague_id: int) -> User:
    colleague = User.objects.filter(pk=colleague_id, organisation_id=organisation_id_of(user), is_active=True).first()
    if colleague is None:
        raise Http404("No such person in your directory.")
    return colleague


def _favourite_ids(user: User) -> tuple[set[int], set[int]]:
    rows = Favourite.objects.filter(owner=user).values_list("colleague_id", "contact_id")
    return {c for c, _ in rows if c}, {k for _, k in rows if k}


def _colleague_entry(colleague: User, presence: dict[str, Any] | None, is_favourite: bool) -> dict[str, Any]:
    return {
        "kind": "colleague",
        "id": colleague.pk,
        "name": colleague.display_name,
        "email": colleague.email,
        "extension": colleague.extension,
        "direct_number": colleague.direct_number,
        "direct_number_display": format_for_display(colleague.direct_number),
        "presence": presence,
        "is_favourite": is_favourite,
    }


def _contact_entry(contact: Contact, is_favourite: bool) -> dict[str, Any]:
    return {
        "kind": "contact",
        "id": contact.pk,
        "name": contact.name,
        "company": contact.company,
        "email": contact.email,
        "work_number": contact.work_number,
        "mobile_number": contact.mobile_number,
        "home_number": contact.home_number,
        "numbers_display": {
            field: format_for_display(getattr(contact, field))
            for field in ("work_number", "mobile_number", "home_number")
            if getattr(contact, field)
        },
        "is_favourite": is_favourite,
    }


def list_directory(*, user: User) -> list[dict[str, Any]]:
    if user.organisation is None:
        return []
    presences = list_presences_for_organisation(organisation=user.organisation)
    favourite_colleagues, _ = _favourite_ids(user)
    return [
        _colleague_entry(colleague, presences.get(colleague.pk), colleague.pk in favourite_colleagues)
        for colleague in list_organisation_users(organisation=user.organisation)
    ]


def describe_contact(*, contact: Contact) -> dict[str, Any]:
    """One contact as the API shows it (the caller has loaded it for its owner)."""
    is_favourite = Favourite.objects.filter(owner_id=contact.owner_id, contact=contact).exists()
    return _contact_entry(contact, is_favourite)


def list_contacts(*, user: User) -> list[dict[str, Any]]:
    _, favourite_contacts = _favourite_ids(user)
    contacts = Contact.objects.filter(owner=user).order_by("name", "pk")
    return [_contact_entry(contact, contact.pk in favourite_contacts) for contact in contacts]


def list_favourites(*, user: User) -> list[dict[str, Any]]:
    entries = [entry for entry in list_directory(user=user) if entry["is_favourite"]]
    entries += [entry for entry in list_contacts(user=user) if entry["is_favourite"]]
    return sorted(entries, key=lambda entry: entry["name"].lower())


def _haystack(entry: dict[str, Any]) -> tuple[str, str]:
    words = " ".join(str(entry.get(field) or "") for field in ("name", "company", "email", "extension")).lower()
    numbers = " ".join(
        digits_of(str(entry.get(field) or ""))
        for field in ("extension", "direct_number", "work_number", "mobile_number", "home_number")
    )
    return words, numbers


def _matches(entry: dict[str, Any], terms: list[str]) -> bool:
    words, numbers = _haystack(entry)
    for term in terms:
        bare = term.translate(NUMBER_PUNCTUATION)
        if term in words or (bare.isdigit() and bare in numbers):
            continue
        return False
    return True


def search_directory(*, user: User, query: str) -> dict[str, list[dict[str, Any]]]:
    """Entries of the Directory, Contacts and Favourites matching every word of `query`
    (in a name, company, e-mail, extension, or the digits of a number)."""
    terms = [term for term in query.lower().split() if term]
    directory = list_directory(user=user)
    contacts = list_contacts(user=user)
    if terms:
        directory = [entry for entry in directory if _matches(entry, terms)]
        contacts = [entry for entry in contacts if _matches(entry, terms)]
    favourites = sorted(
        [entry for entry in directory + contacts if entry["is_favourite"]], key=lambda entry: entry["name"].lower()
    )
    return {"directory": directory, "contacts": contacts, "favourites": favourites}


def names_by_number(*, user: User, numbers: Iterable[str]) -> dict[str, str]:
    """The name the user knows each E.164 number by: their own contact's, else a colleague's."""
    wanted = {number for number in numbers if number}
    if not wanted:
        return {}
    names: dict[str, str] = {}
    colleagues = User.objects.filter(organisation_id=organisation_id_of(user), is_active=True).filter(
        Q(direct_number__in=wanted) | Q(mobile_number__in=wanted)
    )
    for colleague in colleagues:
        for number in (colleague.direct_number, colleague.mobile_number):
            if number in wanted:
                names[number] = colleague.display_name
    contacts = Contact.objects.filter(owner=user).filter(
        Q(mobile_number__in=wanted) | Q(work_number__in=wanted) | Q(home_number__in=wanted)
    )
    for contact in contacts.order_by("-id"):
        for number in (contact.mobile_number, contact.work_number, contact.home_number):
            if number in wanted:
                names[number] = contact.name
    return names
