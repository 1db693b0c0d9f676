"""In Chromium: personal contacts, favourites and the one search box."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_wizard_and_presence import open_communicator
from tests.factories import make_organisation, make_user
from toc.accounts import services
from toc.directory.models import Contact, Favourite

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_add_a_contact_star_it_and_find_it_by_number(new_context):
    # given bob in the communicator, with a colleague alice
    acme = make_organisation(name="Acme", sso_domain="acme.example")
    alice = make_user(acme, "alice", extension="101")
    bob = make_user(acme, "bob", extension="102")
    services.complete_profile(user=bob, calling_device="softphone", mobile_number="")
    page = new_context()
    open_communicator(page, bob)

    # when he adds a contact with an invalid number
    page.get_by_role("tab", name="Contacts").click()
    page.get_by_role("button", name="Add contact").click()
    page.get_by_label("Name", exact=True).fill("Dana Client")
    page.get_by_label("Company").fill("Initech")
    page.get_by_label("Work number").fill("12")
    page.get_by_role("button", name="Save").click()

    # then he is told and nothing is stored
    expect(page.get_by_role("alert")).to_contain_text("“12” is not a valid phone number")
    assert Contact.objects.count() == 0

    # when he corrects it
    page.get_by_label("Work number").fill("(613) 555-0142")
    page.get_by_role("button", name="Save").click()

    # then the contact is listed and shown with its formatted number
    row = page.locator("#list .entry-row", has_text="Dana Client")
    expect(row).to_contain_text("Initech · (613) 555-0142")
    expect(page.locator(".facts")).to_contain_text("Work(613) 555-0142")
    contact = Contact.objects.get(owner=bob)
    assert contact.work_number == "+16135550142"

    # when he stars the contact and the colleague alice
    row.get_by_role("button", name="Add Dana Client to Favourites").click()
    page.get_by_role("tab", name="Directory").click()
    page.get_by_role("button", name="Add Alice Tester to Favourites").click()
    page.get_by_role("tab", name="Favourites").click()

    # then both are in Favourites
    expect(page.locator("#list .entry-name")).to_have_text(["Alice Tester", "Dana Client"])
    assert Favourite.objects.filter(owner=bob).count() == 2

    # when he searches by digits of the contact's number
    page.get_by_role("searchbox").fill("555-0142")

    # then only the contact matches, in Contacts and Favourites, and nobody in the Directory
    expect(page.locator("#list .entry-name")).to_have_text(["Dana Client"])
    page.get_by_role("tab", name="Directory").click()
    expect(page.locator("#list")).to_contain_text("Nobody matches.")
    page.get_by_role("searchbox").fill(alice.extension)
    expect(page.locator("#list .entry-name")).to_have_text(["Alice Tester"])
