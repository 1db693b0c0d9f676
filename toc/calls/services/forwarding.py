"""Call Forwarding and App Presence rules: reading, checking and saving them, and the plan of
a call to a user (`plan_for`), which both the call engine and "Test this rule" use.

The policy itself lives in the pure `toc.calls.routing`; this module turns rows into its
`Person` values and back. Saves in one organisation take turns on the organisation's row, so
two people saving A -> B and B -> A at once cannot both pass the loop check.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from toc.accounts.access import organisation_id_of
from toc.accounts.models import Organisation, User
from toc.calls import routing, selectors
from toc.calls.models import Call, CallForwarding, PresenceRule
from toc.presence import selectors as presence_selectors
from toc.presence import state as presence_state
from toc.presence.models import Connection, Presence

logger = logging.getLogger(__name__)

DESTINATION_FIELDS = {
    "always": "Forward Always",
    "busy": "Forward when Busy",
    "no_answer": "Forward on No answer",
    "unreachable": "Forward when Unreachable",
}


@dataclass(frozen=True)
class RuleInput:
    """One presence's rule as the portal sends it: lines of (destination text, seconds)."""

    is_enabled: bool
    lines: Sequence[tuple[str, int]]
    local_lines: Sequence[tuple[str, int]] | None = None


# --- reading ------------------------------------------------------------------------------------


def get_forwarding(*, user: User) -> CallForwarding:
    """The user's forwarding settings (all off when never saved; not stored until saved)."""
    found = CallForwarding.objects.filter(user=user).first()
    return found or CallForwarding(user=user, organisation_id=organisation_id_of(user))


def list_presence_rules(*, user: User) -> dict[presence_state.Status, PresenceRule]:
    return {presence_state.Status(rule.status): rule for rule in PresenceRule.objects.filter(user=user)}


def _destination(text: str) -> routing.Destination | None:
    if not text:
        return None
    try:
        return routing.parse_destination(text, region=settings.PHONE_DEFAULT_REGION)
    except routing.RoutingError:
        logger.warning("a stored forwarding destination no longer parses: %r", text)
        return None


def _lines(raw: object) -> tuple[routing.Line, ...]:
    lines = []
    for item in raw if isinstance(raw, list) else []:
        destination = _destination(str(item.get("destination", ""))) if isinstance(item, dict) else None
        if destination is not None:
            lines.append(routing.Line(destination, int(item.get("seconds", 0))))
    return tuple(lines)


def _forwarding_value(row: CallForwarding | None, rules: Sequence[PresenceRule]) -> routing.Forwarding:
    presence_rules = {
        presence_state.Status(rule.status): routing.PresenceRule(
            _lines(rule.lines), _lines(rule.local_lines) if rule.local_lines is not None else None
        )
        for rule in rules
        if rule.is_enabled
    }
    if row is None:
        return routing.Forwarding(rules=presence_rules)
    return routing.Forwarding(
        always=_destination(row.always_destination),
        busy=_destination(row.busy_destination),
        no_answer=_destination(row.no_answer_destination),
        no_answer_seconds=row.no_answer_seconds,
        unreachable=_destination(row.unreachable_destination),
        rules=presence_rules,
    )


def people_of(organisation_id: int, *, now: datetime, except_call: Call | None = None) -> dict[str, routing.Person]:
    """Everyone of the organisation who has an extension, as routing sees them at `now` (a call
    being placed does not make its own callee busy: `except_call`)."""
    users = list(User.objects.filter(organisation_id=organisation_id, is_active=True).exclude(extension=""))
    ids = [user.pk for user in users]
    presences = {row.user_id: row for row in Presence.objects.filter(user_id__in=ids)}
    online = set(Connection.objects.filter(user_id__in=ids).values_list("user_id", flat=True))
    live = Call.objects.filter(state__in=selectors.LIVE_STATES)
    if except_call is not None:
        live = live.exclude(pk=except_call.pk)
    counts: dict[int, int] = {}
    for side in ("caller", "callee"):
        per_user = live.filter(**{f"{side}_id__in": ids}).values_list(side).annotate(count=Count("id"))
        for user_id, count in per_user.values_list(side, "count"):
            counts[user_id] = counts.get(user_id, 0) + count
    forwardings = {row.user_id: row for row in CallForwarding.objects.filter(user_id__in=ids)}
    rules: dict[int, list[PresenceRule]] = {}
    for rule in PresenceRule.objects.filter(user_id__in=ids):
        rules.setdefault(rule.user_id, []).append(rule)
    return {
        user.extension: routing.Person(
            user_id=user.pk,
            extension=user.extension,
            name=user.display_name,
            presence=presence_state.effective(presence_selectors.value_of(presences.get(user.pk)), now).status,
            phone_dnd=user.phone_dnd,
            is_online=user.pk in online,
            is_busy=counts.get(user.pk, 0) >= settings.CALL_MAX_LIVE_PER_USER,
            mobile_number=user.mobile_number,
            forwarding=_forwarding_value(forwardings.get(user.pk), rules.get(user.pk, [])),
        )
        for user in users
    }


def plan_for(*, callee: User, caller_is_local: bool, now: datetime, call: Call | None = None) -> routing.Plan:
    """The routing plan of a call to `callee` now."""
    return _plan(callee, caller_is_local=caller_is_local, now=now, call=call)


def try_rule(*, user: User, presence: object, caller_is_local: object, now: datetime | None = None) -> routing.Plan:
    """ "Test this rule": what would ring for a call to `user` with this presence from this kind
    of caller, as if the user were signed in and free (their Phone DND as it is now)."""
    try:
        status = presence_state.Status(str(presence))
    except ValueError:
        raise ValidationError({"presence": "Choose a presence."}) from None
    if not isinstance(caller_is_local, bool):
        raise ValidationError({"caller": "Choose a local or an outside caller."})
    return _plan(
        user,
        caller_is_local=caller_is_local,
        now=now or timezone.now(),
        tested={"presence": status, "is_online": True, "is_busy": False},
    )


def _plan(
    callee: User,
    *,
    caller_is_local: bool,
    now: datetime,
    call: Call | None = None,
    tested: dict[str, Any] | None = None,
) -> routing.Plan:
    """`plan_call` for `callee` as the organisation is now (with `tested` facts changed)."""
    organisation_id = organisation_id_of(callee)
    people = people_of(organisation_id, now=now, except_call=call)
    person = people.get(callee.extension) or _person_without_extension(callee)
    if tested:
        person = replace(person, **tested)
        people = {**people, person.extension: person}
    ring_seconds = Organisation.objects.values_list("ring_timeout_seconds", flat=True).get(pk=organisation_id)
    return routing.plan_call(person, caller_is_local=caller_is_local, people=people, ring_seconds=ring_seconds)


def _person_without_extension(user: User) -> routing.Person:
    return routing.Person(user_id=user.pk, extension=user.extension, name=user.display_name, is_online=False)


# --- saving -------------------------------------------------------------------------------------


def _lock_organisation(user: User) -> int:
    organisation_id = organisation_id_of(user)
    Organisation.objects.select_for_update().filter(pk=organisation_id).first()
    return organisation_id


def _check(
    owner: routing.Person, text: str, *, people: Mapping[str, routing.Person], what: str, may_be_self: bool
) -> routing.Destination:
    destination = routing.parse_destination(text, region=settings.PHONE_DEFAULT_REGION)
    if destination.kind is routing.DestinationKind.EXTENSION and destination.value == owner.extension:
        if not may_be_self:
            raise routing.RoutingError(f"{what}: that is your own extension.")
        return destination
    if destination.kind in (routing.DestinationKind.OUTSIDE, routing.DestinationKind.MOBILE):
        # The voice carrier is not built yet: a destination it would dial could never ring.
        raise routing.RoutingError(
            f"{what}: outside numbers (your mobile too) need a phone carrier, "
            "and none is configured for your organisation."
        )
    routing.check_destination(owner, destination, people=people, what=what)
    return destination


def _owner(user: User, people: Mapping[str, routing.Person]) -> routing.Person:
    if not user.extension:
        raise ValidationError({"__all__": "You have no extension, so calls cannot be forwarded for you."})
    return people.get(user.extension) or _person_without_extension(user)


def save_forwarding(
    *,
    user: User,
    always: str,
    busy: str,
    no_answer: str,
    no_answer_seconds: object,
    unreachable: str,
    now: datetime | None = None,
) -> CallForwarding:
    """Save the four forwarding destinations (empty: off). Every problem is reported at once,
    by field, and nothing is saved unless all are right."""
    moment = now or timezone.now()
    texts = {"always": always.strip(), "busy": busy.strip(), "no_answer": no_answer.strip()}
    texts["unreachable"] = unreachable.strip()
    errors: dict[str, str] = {}
    seconds = _seconds(no_answer_seconds, errors, field="no_answer_seconds", what="No answer ring time")
    with transaction.atomic():
        organisation_id = _lock_organisation(user)
        people = people_of(organisation_id, now=moment)
        owner = _owner(user, people)
        stored: dict[str, str] = {}
        for name, text in texts.items():
            if not text:
                stored[name] = ""
                continue
            try:
                stored[name] = str(_check(owner, text, people=people, what=DESTINATION_FIELDS[name], may_be_self=False))
            except routing.RoutingError as error:
                errors[name] = str(error)
        if errors:
            raise ValidationError(errors)
        row, _ = CallForwarding.objects.select_for_update().get_or_create(
            user=user, defaults={"organisation_id": organisation_id}
        )
        row.always_destination = stored["always"]
        row.busy_destination = stored["busy"]
        row.no_answer_destination = stored["no_answer"]
        row.no_answer_seconds = seconds
        row.unreachable_destination = stored["unreachable"]
        row.updated_at = moment
        row.save()
    logger.info("user %s saved call forwarding %s", user.pk, stored)
    return row


def _seconds(value: object, errors: dict[str, str], *, field: str, what: str) -> int:
    try:
        number = int(str(value).strip())
        routing.check_line_seconds(number, what=what)
    except ValueError:
        errors[field] = f"{what}: enter a number of seconds."
        return 0
    except routing.RoutingError as error:
        errors[field] = str(error)
        return 0
    return number


def _checked_lines(
    owner: routing.Person,
    lines: Sequence[tuple[str, int]],
    *,
    people: Mapping[str, routing.Person],
    what: str,
) -> list[dict[str, Any]]:
    parsed = tuple(
        routing.Line(
            _check(owner, text, people=people, what=f"{what}, line {number}", may_be_self=True),
            seconds,
        )
        for number, (text, seconds) in enumerate(lines, start=1)
    )
    routing.check_lines(parsed, what=what)
    return [{"destination": str(line.destination), "seconds": line.seconds} for line in parsed]


def save_presence_rules(
    *, user: User, rules: Mapping[str, RuleInput], now: datetime | None = None
) -> dict[presence_state.Status, PresenceRule]:
    """Save the App Presence rules, one per presence the portal shows. A ticked presence needs
    at least one line; an unticked one keeps its lines for later but does not apply."""
    moment = now or timezone.now()
    errors: dict[str, str] = {}
    checked: dict[presence_state.Status, tuple[bool, list[dict[str, Any]], list[dict[str, Any]] | None]] = {}
    with transaction.atomic():
        organisation_id = _lock_organisation(user)
        people = people_of(organisation_id, now=moment)
        owner = _owner(user, people)
        for key, rule in rules.items():
            try:
                status = presence_state.Status(key)
            except ValueError:
                errors[key] = f"“{key[:20]}” is not a presence."
                continue
            label = presence_state.LABELS[status]
            if not rule.is_enabled and not rule.lines and not rule.local_lines:
                checked[status] = (False, [], None)
                continue
            try:
                lines = _checked_lines(owner, rule.lines, people=people, what=label)
                local = (
                    _checked_lines(owner, rule.local_lines, people=people, what=f"{label} (local calls)")
                    if rule.local_lines is not None
                    else None
                )
            except routing.RoutingError as error:
                # Unticked rules are checked too: lines that are kept for later must still
                # make sense, and nothing the user typed is dropped without a word.
                errors[status.value] = str(error)
                continue
            checked[status] = (rule.is_enabled, lines, local)
        if errors:
            raise ValidationError(errors)
        saved = _store_rules(user, organisation_id, checked, moment)
    logger.info("user %s saved presence rules for %s", user.pk, sorted(status.value for status in saved))
    return saved


def _store_rules(
    user: User,
    organisation_id: int,
    checked: Mapping[presence_state.Status, tuple[bool, list[dict[str, Any]], list[dict[str, Any]] | None]],
    moment: datetime,
) -> dict[presence_state.Status, PresenceRule]:
    saved: dict[presence_state.Status, PresenceRule] = {}
    for status, (is_enabled, lines, local) in checked.items():
        if not lines:
            PresenceRule.objects.filter(user=user, status=status.value).delete()
            continue
        saved[status], _ = PresenceRule.objects.update_or_create(
            user=user,
            status=status.value,
            defaults={
                "organisation_id": organisation_id,
                "is_enabled": is_enabled,
                "lines": lines,
                "local_lines": local,
                "updated_at": moment,
            },
        )
    return saved


def list_users_forwarding_to(*, organisation_id: int, extension: str) -> list[User]:
    """Who has `extension` as a destination (forwarding or an App Presence line), so that an
    extension is not moved under their feet to someone else."""
    user_ids = set(
        CallForwarding.objects.filter(organisation_id=organisation_id)
        .filter(
            Q(always_destination=extension)
            | Q(busy_destination=extension)
            | Q(no_answer_destination=extension)
            | Q(unreachable_destination=extension)
        )
        .values_list("user_id", flat=True)
    )
    for rule in PresenceRule.objects.filter(organisation_id=organisation_id):
        lines = [*rule.lines, *(rule.local_lines or [])]
        if any(isinstance(line, dict) and line.get("destination") == extension for line in lines):
            user_ids.add(rule.user_id)
    return list(User.objects.filter(pk__in=user_ids).order_by("first_name", "last_name", "pk"))
