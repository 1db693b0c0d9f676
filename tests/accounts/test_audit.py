"""The audit log: entries in the actor's organisation, only the fields that changed, never a
secret, read back newest first, filtered by action and paged, one organisation at a time."""

from datetime import UTC, datetime, timedelta

import pytest

from toc.accounts import audit, selectors
from toc.accounts.models import AuditEntry, Organisation, User

pytestmark = pytest.mark.django_db


def _record(actor: User, action: str = "user.updated", **fields: object) -> AuditEntry:
    values: dict[str, object] = {
        "target_type": "user",
        "target_id": 7,
        "target_label": "Bob Tester",
        "before": {"extension": "102"},
        "after": {"extension": "105"},
        **fields,
    }
    return audit.record(actor=actor, action=action, **values)  # type: ignore[arg-type]


def test_changed_fields_keeps_only_what_differs_with_before_and_after() -> None:
    # when
    changes = audit.changed_fields(
        {"extension": "102", "first_name": "Bob", "admin": False},
        {"extension": "105", "first_name": "Bob", "admin": True, "licence_tier": "platinum"},
    )

    # then
    assert changes == {"admin": (False, True), "extension": ("102", "105"), "licence_tier": (None, "platinum")}


def test_changed_fields_is_empty_when_nothing_changed_and_lists_all_for_a_creation() -> None:
    assert audit.changed_fields({"a": 1, "b": "x"}, {"b": "x", "a": 1}) == {}
    assert audit.changed_fields(None, {"name": "Board", "extension": "701"}) == {
        "extension": (None, "701"),
        "name": (None, "Board"),
    }


def test_an_entry_belongs_to_the_actors_organisation_and_names_the_actor(alice: User, acme: Organisation) -> None:
    # when
    entry = _record(alice)

    # then
    stored = AuditEntry.objects.get()
    assert stored.pk == entry.pk
    assert (stored.organisation_id, stored.actor_id, stored.actor_name) == (acme.pk, alice.pk, "Alice Tester")
    assert (stored.action, stored.target_type, stored.target_id, stored.target_label) == (
        "user.updated",
        "user",
        "7",
        "Bob Tester",
    )
    assert (stored.before, stored.after) == ({"extension": "102"}, {"extension": "105"})


@pytest.mark.parametrize("key", ["pin_hash", "password_hash", "client_secret", "api_token"])
def test_secrets_are_refused_and_nothing_is_written(alice: User, key: str) -> None:
    # when
    with pytest.raises(ValueError, match="never stores secrets"):
        _record(alice, after={key: "pbkdf2_sha256$..."})

    # then
    assert AuditEntry.objects.count() == 0


def test_an_entry_outlives_its_actor_with_the_name_kept(alice: User, bob: User) -> None:
    # given
    _record(bob)

    # when
    bob.delete()

    # then
    entry = AuditEntry.objects.get()
    assert (entry.actor_id, entry.actor_name) == (None, "Bob Tester")


def test_entries_are_listed_newest_first_and_only_of_the_organisation(alice: User, carol: User) -> None:
    # given
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    for minutes, action in enumerate(["user.created", "room.created", "user.disabled"]):
        AuditEntry.objects.filter(pk=_record(alice, action).pk).update(created_at=start + timedelta(minutes=minutes))
    _record(carol, "user.created")

    # when
    page = selectors.list_audit_entries(organisation=alice.organisation)  # type: ignore[arg-type]

    # then
    assert [entry.action for entry in page.object_list] == ["user.disabled", "room.created", "user.created"]


def test_entries_are_filtered_by_action_prefix(alice: User) -> None:
    # given
    for action in ["user.created", "room.created", "user.disabled", "users.other"]:
        _record(alice, action)

    # when
    page = selectors.list_audit_entries(organisation=alice.organisation, action_prefix="user.")  # type: ignore[arg-type]

    # then
    assert sorted(entry.action for entry in page.object_list) == ["user.created", "user.disabled"]
    assert selectors.list_audit_action_families(organisation=alice.organisation) == ["room", "user", "users"]  # type: ignore[arg-type]


def test_entries_are_paged_and_a_page_past_the_end_is_the_last(alice: User) -> None:
    # given
    for number in range(selectors.AUDIT_PAGE_SIZE + 3):
        _record(alice, target_label=f"#{number}")

    # when
    first = selectors.list_audit_entries(organisation=alice.organisation, page=1)  # type: ignore[arg-type]
    beyond = selectors.list_audit_entries(organisation=alice.organisation, page=9)  # type: ignore[arg-type]

    # then
    assert len(first.object_list) == selectors.AUDIT_PAGE_SIZE
    assert first.object_list[0].target_label == f"#{selectors.AUDIT_PAGE_SIZE + 2}"
    assert (beyond.number, [entry.target_label for entry in beyond.object_list]) == (2, ["#2", "#1", "#0"])
