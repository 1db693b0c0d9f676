"""The audit log: who changed what in an organisation, when, and the fields before and after.

Services that change organisation settings call `record()` inside their own transaction, so an
entry commits or rolls back with its change. Whether anything changed is the caller's concern:
`changed_fields()` says which fields differ, and a change that changes nothing writes no entry.
Secrets (passwords, PIN hashes, client secrets) are never stored: callers record markers such
as {"pin": "changed"}, and `record()` refuses keys that look like secrets.
"""

from collections.abc import Mapping

from toc.accounts.models import AuditEntry, User

# A key holding any of these words is a programming error: record a marker instead.
_SECRET_WORDS = ("hash", "secret", "token")


def changed_fields(
    before: Mapping[str, object] | None, after: Mapping[str, object] | None
) -> dict[str, tuple[object, object]]:
    """The fields whose value differs, each with (before, after); a field missing on one side
    counts as None there. Empty when nothing changed."""
    old, new = before or {}, after or {}
    return {
        key: (old.get(key), new.get(key)) for key in sorted(old.keys() | new.keys()) if old.get(key) != new.get(key)
    }


def _check_no_secrets(values: Mapping[str, object] | None) -> None:
    for key in values or {}:
        if any(word in key.lower() for word in _SECRET_WORDS):
            raise ValueError(f"The audit log never stores secrets: record a marker, not “{key}”.")


def record(
    *,
    actor: User,
    action: str,
    target_type: str,
    target_id: object,
    target_label: str,
    before: dict[str, object] | None,
    after: dict[str, object] | None,
) -> AuditEntry:
    """Write one entry in the actor's organisation (call it inside the change's transaction)."""
    if actor.organisation_id is None:
        raise ValueError("Only members of an organisation make audited changes.")
    _check_no_secrets(before)
    _check_no_secrets(after)
    return AuditEntry.objects.create(
        organisation_id=actor.organisation_id,
        actor=actor,
        actor_name=actor.display_name[:255],
        action=action[:64],
        target_type=target_type[:40],
        target_id="" if target_id is None else str(target_id)[:64],
        target_label=target_label[:255],
        before=before,
        after=after,
    )


def record_changes(
    *,
    actor: User,
    action: str,
    target_type: str,
    target_id: object,
    target_label: str,
    changes: Mapping[str, tuple[object, object]],
) -> AuditEntry:
    """`record()` for the output of `changed_fields()`: only the changed fields, before and after."""
    return record(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        before={key: old for key, (old, _) in changes.items()},
        after={key: new for key, (_, new) in changes.items()},
    )
