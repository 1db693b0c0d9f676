"""The Directory, Contacts, Favourites and search API, and who may see what."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import client_for
from tests.factories import PASSWORD
from toc.accounts.models import User
from toc.directory import services
from toc.directory.models import Contact, Favourite

NOT_VALID = "The request was not valid."


def make_contact(owner: User, name: str, **fields: str) -> Contact:
    return services.create_contact(owner=owner, data=services.ContactInput(name=name, **fields))


def contact_row(contact_id: int) -> dict[str, Any]:
    return dict(
        Contact.objects.values("name", "company", "work_number", "mobile_number", "home_number", "email").get(
            pk=contact_id
        )
    )


def ids_of(entries: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(entry["kind"], entry["id"]) for entry in entries]


@pytest.fixture
def supplier(alice: User) -> Contact:
    return make_contact(alice, "Sam Supplier", company="Initech", work_number="905 555 0142", email="sam@initech.test")


@pytest.fixture
def carols_contact(carol: User) -> Contact:
    return make_contact(carol, "Gina Globex", company="Globex Partners", work_number="613 555 0177")


@pytest.fixture
def bobs_contact(bob: User) -> Contact:
    return make_contact(bob, "Bob's Plumber", work_number="416 555 0188")


# Directory


def test_the_directory_lists_everyone_in_my_organisation_only(alice: User, bob: User, carol: User, alice_client):
    # when
    response = alice_client.get("/api/directory/")

    # then
    assert response.status_code == 200
    assert response.json() == [
        {
            "kind": "colleague",
            "id": alice.pk,
            "name": "Alice Tester",
            "email": "alice@acme.example",
            "extension": "101",
            "direct_number": "+14165550101",
            "direct_number_display": "(416) 555-0101",
            "presence": {
                "user_id": alice.pk,
                "status": "offline",
                "chosen_status": "available",
                "status_label": "Offline",
                "custom_text": "",
                "expires_at": None,
                "is_online": False,
            },
            "is_favourite": False,
        },
        {
            "kind": "colleague",
            "id": bob.pk,
            "name": "Bob Tester",
            "email": "bob@acme.example",
            "extension": "102",
            "direct_number": "+14165550102",
            "direct_number_display": "(416) 555-0102",
            "presence": {
                "user_id": bob.pk,
                "status": "offline",
                "chosen_status": "available",
                "status_label": "Offline",
                "custom_text": "",
                "expires_at": None,
                "is_online": False,
            },
            "is_favourite": False,
        },
    ]


def test_deactivated_colleagues_leave_the_directory(alice: User, bob: User, alice_client):
    # given
    User.objects.filter(pk=bob.pk).update(is_active=False)

    # when
    response = alice_client.get("/api/directory/")

    # then
    assert ids_of(response.json()) == [("colleague", alice.pk)]


# Contacts


def test_creating_a_contact_stores_normalised_fields(alice: User, alice_client):
    # when
    response = alice_client.post(
        "/api/contacts/",
        {
            "name": "  Sam Supplier ",
            "company": "Initech",
            "work_number": "(905) 555-0142",
            "mobile_number": "+44 20 7946 0958",
            "email": " Sam@Initech.TEST ",
        },
        format="json",
    )

    # then
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "kind": "contact",
        "id": body["id"],
        "name": "Sam Supplier",
        "company": "Initech",
        "email": "sam@initech.test",
        "work_number": "+19055550142",
        "mobile_number": "+442079460958",
        "home_number": "",
        "numbers_display": {"work_number": "(905) 555-0142", "mobile_number": "+44 20 7946 0958"},
        "is_favourite": False,
    }
    contact = Contact.objects.get(pk=body["id"])
    assert (contact.owner_id, contact.organisation_id) == (alice.pk, alice.organisation_id)


def test_a_contact_with_only_an_email_is_fine(alice_client):
    # when
    response = alice_client.post("/api/contacts/", {"name": "Pen Pal", "email": "pal@example.org"}, format="json")

    # then
    assert response.status_code == 201
    assert Contact.objects.get(pk=response.json()["id"]).email == "pal@example.org"


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"name": "", "work_number": "416 555 0123"}, {"name": ["A contact needs a name."]}),
        ({"name": "   ", "work_number": "416 555 0123"}, {"name": ["A contact needs a name."]}),
        ({"work_number": "416 555 0123"}, {"name": ["This field is required."]}),
        (
            {"name": "Sam", "work_number": "555"},
            {"work_number": ["“555” is not a valid phone number. Use a full number, e.g. +1 416 555 0123."]},
        ),
        ({"name": "Sam", "home_number": "call me"}, {"home_number": ["“call me” is not a phone number."]}),
        ({"name": "Sam", "email": "sam at initech"}, {"email": ["“sam at initech” is not an e-mail address."]}),
        ({"name": "Sam"}, {"work_number": ["Give the contact at least one phone number or an e-mail address."]}),
        (
            {"name": "", "mobile_number": "12", "email": "nope"},
            {
                "name": ["A contact needs a name."],
                "mobile_number": ["“12” is not a valid phone number. Use a full number, e.g. +1 416 555 0123."],
                "email": ["“nope” is not an e-mail address."],
            },
        ),
    ],
)
def test_an_invalid_contact_is_refused_with_clear_messages(alice_client, body: dict[str, str], errors):
    # when
    response = alice_client.post("/api/contacts/", body, format="json")

    # then
    assert response.status_code == 400
    assert response.json() == {"detail": NOT_VALID, "errors": errors}
    assert Contact.objects.count() == 0


def test_my_contacts_are_listed_by_name(alice: User, supplier: Contact, alice_client):
    # given
    aaron = make_contact(alice, "Aaron Accountant", email="aaron@example.org")

    # when
    response = alice_client.get("/api/contacts/")

    # then
    assert response.status_code == 200
    assert ids_of(response.json()) == [("contact", aaron.pk), ("contact", supplier.pk)]


def test_reading_one_of_my_contacts(supplier: Contact, alice_client):
    # when
    response = alice_client.get(f"/api/contacts/{supplier.pk}/")

    # then
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["name"]) == (supplier.pk, "Sam Supplier")


def test_changing_a_contact(supplier: Contact, alice_client):
    # when
    response = alice_client.put(
        f"/api/contacts/{supplier.pk}/", {"name": "Sam Seller", "mobile_number": "416 555 0190"}, format="json"
    )

    # then
    assert response.status_code == 200
    assert contact_row(supplier.pk) == {
        "name": "Sam Seller",
        "company": "",
        "work_number": "",
        "mobile_number": "+14165550190",
        "home_number": "",
        "email": "",
    }


def test_an_invalid_change_is_refused_and_the_contact_unchanged(supplier: Contact, alice_client):
    # given
    before = contact_row(supplier.pk)

    # when
    response = alice_client.put(f"/api/contacts/{supplier.pk}/", {"name": "Sam", "work_number": "12"}, format="json")

    # then
    assert response.status_code == 400
    assert response.json() == {
        "detail": NOT_VALID,
        "errors": {"work_number": ["“12” is not a valid phone number. Use a full number, e.g. +1 416 555 0123."]},
    }
    assert contact_row(supplier.pk) == before


def test_deleting_a_contact(supplier: Contact, alice_client):
    # when
    response = alice_client.delete(f"/api/contacts/{supplier.pk}/")

    # then
    assert response.status_code == 204
    assert Contact.objects.filter(pk=supplier.pk).exists() is False


def test_an_unknown_contact_is_404(alice_client, db: None):
    # when
    response = alice_client.get("/api/contacts/999999/")

    # then
    assert response.status_code == 404


# Favourites


def test_starring_a_colleague_and_a_contact(alice: User, bob: User, supplier: Contact, alice_client):
    # when
    colleague = alice_client.put(f"/api/favourites/colleague/{bob.pk}/")
    contact = alice_client.put(f"/api/favourites/contact/{supplier.pk}/")

    # then
    assert (colleague.status_code, contact.status_code) == (204, 204)
    directory = {entry["id"]: entry["is_favourite"] for entry in alice_client.get("/api/directory/").json()}
    assert directory == {alice.pk: False, bob.pk: True}
    assert alice_client.get("/api/contacts/").json()[0]["is_favourite"] is True
    favourites = alice_client.get("/api/search/").json()["favourites"]
    assert ids_of(favourites) == [("colleague", bob.pk), ("contact", supplier.pk)]


def test_starring_twice_keeps_one_favourite(bob: User, alice_client):
    # given
    alice_client.put(f"/api/favourites/colleague/{bob.pk}/")

    # when
    response = alice_client.put(f"/api/favourites/colleague/{bob.pk}/")

    # then
    assert response.status_code == 204
    assert Favourite.objects.count() == 1


def test_unstarring(bob: User, supplier: Contact, alice_client):
    # given
    alice_client.put(f"/api/favourites/colleague/{bob.pk}/")
    alice_client.put(f"/api/favourites/contact/{supplier.pk}/")

    # when
    colleague = alice_client.delete(f"/api/favourites/colleague/{bob.pk}/")
    contact = alice_client.delete(f"/api/favourites/contact/{supplier.pk}/")

    # then
    assert (colleague.status_code, contact.status_code) == (204, 204)
    assert Favourite.objects.count() == 0


def test_favourites_are_personal(alice: User, bob: User, bob_client, alice_client):
    # given
    alice_client.put(f"/api/favourites/colleague/{bob.pk}/")

    # when
    bobs_view = bob_client.get("/api/directory/").json()

    # then
    assert [entry["is_favourite"] for entry in bobs_view] == [False, False]


def test_starring_someone_of_another_organisation_is_404(carol: User, alice_client):
    # when
    response = alice_client.put(f"/api/favourites/colleague/{carol.pk}/")

    # then
    assert response.status_code == 404
    assert Favourite.objects.count() == 0


def test_starring_a_colleagues_contact_is_404(bobs_contact: Contact, alice_client):
    # when
    response = alice_client.put(f"/api/favourites/contact/{bobs_contact.pk}/")

    # then
    assert response.status_code == 404
    assert Favourite.objects.count() == 0


def test_starring_an_unknown_kind_is_404(bob: User, alice_client):
    # when
    response = alice_client.put(f"/api/favourites/meeting/{bob.pk}/")

    # then
    assert response.status_code == 404
    assert Favourite.objects.count() == 0


# Search


def search(client: APIClient, query: str) -> dict[str, list[tuple[str, int]]]:
    response = client.get("/api/search/", {"q": query})
    assert response.status_code == 200
    return {section: ids_of(entries) for section, entries in response.json().items()}


def test_search_by_words_of_a_name(alice: User, bob: User, supplier: Contact, alice_client):
    # when / then
    assert search(alice_client, "bob") == {"directory": [("colleague", bob.pk)], "contacts": [], "favourites": []}
    assert search(alice_client, "Tester Alice") == {
        "directory": [("colleague", alice.pk)],
        "contacts": [],
        "favourites": [],
    }
    assert search(alice_client, "sam sup") == {
        "directory": [],
        "contacts": [("contact", supplier.pk)],
        "favourites": [],
    }


def test_search_by_extension(alice: User, bob: User, alice_client):
    # when / then
    assert search(alice_client, "102")["directory"] == [("colleague", bob.pk)]
    assert search(alice_client, "101")["directory"] == [("colleague", alice.pk)]


def test_search_by_digits_of_a_number_with_punctuation(bob: User, supplier: Contact, alice_client):
    # when / then
    assert search(alice_client, "(416) 555-0102")["directory"] == [("colleague", bob.pk)]
    assert search(alice_client, "416-555-0102")["directory"] == [("colleague", bob.pk)]
    assert search(alice_client, "+1 416 555 0102")["directory"] == [("colleague", bob.pk)]
    assert search(alice_client, "905.555.0142") == {
        "directory": [],
        "contacts": [("contact", supplier.pk)],
        "favourites": [],
    }


def test_search_by_company(supplier: Contact, alice_client):
    # when / then
    assert search(alice_client, "initech")["contacts"] == [("contact", supplier.pk)]


def test_search_needs_every_word_to_match(bob: User, supplier: Contact, alice_client):
    # when / then
    assert search(alice_client, "bob initech") == {"directory": [], "contacts": [], "favourites": []}


def test_an_empty_search_lists_everything(alice: User, bob: User, supplier: Contact, alice_client):
    # when
    result = search(alice_client, "   ")

    # then
    assert result == {
        "directory": [("colleague", alice.pk), ("colleague", bob.pk)],
        "contacts": [("contact", supplier.pk)],
        "favourites": [],
    }


def test_search_finds_favourites_among_matches(bob: User, supplier: Contact, alice_client):
    # given
    alice_client.put(f"/api/favourites/colleague/{bob.pk}/")

    # when
    result = search(alice_client, "bob")

    # then
    assert result["favourites"] == [("colleague", bob.pk)]


# Across organisations and owners


def test_alice_never_sees_carol_or_her_contacts(
    alice: User, bob: User, carol: User, carols_contact: Contact, alice_client
):
    # when
    directory = ids_of(alice_client.get("/api/directory/").json())
    contacts = ids_of(alice_client.get("/api/contacts/").json())
    searches = [search(alice_client, query) for query in ("carol", "gina", "globex", "613", "(613) 555-0101", "")]

    # then
    assert ("colleague", carol.pk) not in directory
    assert directory == [("colleague", alice.pk), ("colleague", bob.pk)]
    assert contacts == []
    for result in searches:
        assert ("colleague", carol.pk) not in result["directory"]
        assert ("contact", carols_contact.pk) not in result["contacts"]
    assert searches[:5] == [{"directory": [], "contacts": [], "favourites": []}] * 5


@pytest.mark.parametrize(
    ("method", "body"),
    [("get", None), ("put", {"name": "Hijacked", "work_number": "416 555 0199"}), ("delete", None)],
)
def test_carol_cannot_read_change_or_delete_alices_contact(
    supplier: Contact, carol_client: APIClient, method: str, body
):
    # given
    before = contact_row(supplier.pk)

    # when
    response = getattr(carol_client, method)(f"/api/contacts/{supplier.pk}/", body, format="json")

    # then
    assert response.status_code == 404
    assert contact_row(supplier.pk) == before


@pytest.mark.parametrize(
    ("method", "body"),
    [("get", None), ("put", {"name": "Hijacked", "work_number": "416 555 0199"}), ("delete", None)],
)
def test_bob_cannot_read_change_or_delete_alices_contact(supplier: Contact, bob_client: APIClient, method: str, body):
    # given
    before = contact_row(supplier.pk)

    # when
    response = getattr(bob_client, method)(f"/api/contacts/{supplier.pk}/", body, format="json")

    # then
    assert response.status_code == 404
    assert contact_row(supplier.pk) == before


def test_carol_cannot_star_alices_contact(supplier: Contact, carol_client: APIClient):
    # when
    response = carol_client.put(f"/api/favourites/contact/{supplier.pk}/")

    # then
    assert response.status_code == 404
    assert Favourite.objects.count() == 0


def test_carols_directory_has_only_globex(alice: User, carol: User, supplier: Contact, carol_client: APIClient):
    # when
    directory = ids_of(carol_client.get("/api/directory/").json())
    found = search(carol_client, "alice")

    # then
    assert directory == [("colleague", carol.pk)]
    assert found == {"directory": [], "contacts": [], "favourites": []}


ENDPOINTS = [
    ("get", "/api/directory/", None),
    ("get", "/api/contacts/", None),
    ("post", "/api/contacts/", {"name": "Sam", "work_number": "416 555 0123"}),
    ("get", "/api/contacts/{contact}/", None),
    ("put", "/api/contacts/{contact}/", {"name": "Hijacked", "work_number": "416 555 0123"}),
    ("delete", "/api/contacts/{contact}/", None),
    ("put", "/api/favourites/colleague/{colleague}/", None),
    ("delete", "/api/favourites/colleague/{colleague}/", None),
    ("put", "/api/favourites/contact/{contact}/", None),
    ("get", "/api/search/?q=bob", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_anonymous_callers_are_refused(
    bob: User, supplier: Contact, anonymous_client: APIClient, method: str, path: str, body
):
    # given
    before = contact_row(supplier.pk)

    # when
    url = path.format(contact=supplier.pk, colleague=bob.pk)
    response = getattr(anonymous_client, method)(url, body, format="json")

    # then
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert (Contact.objects.count(), Favourite.objects.count(), contact_row(supplier.pk)) == (1, 0, before)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_operators_without_organisation_are_refused(bob: User, supplier: Contact, method: str, path: str, body):
    # given
    operator = User.objects.create_superuser("operator@toc.example", PASSWORD)
    before = contact_row(supplier.pk)

    # when
    url = path.format(contact=supplier.pk, colleague=bob.pk)
    response = getattr(client_for(operator), method)(url, body, format="json")

    # then
    assert response.status_code == 403
    assert response.json() == {"detail": "Only members of an organisation can use TOC."}
    assert (Contact.objects.count(), Favourite.objects.count(), contact_row(supplier.pk)) == (1, 0, before)
