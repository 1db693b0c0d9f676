"""Calls that reach voicemail: leaving a message, the mailbox menu, hearing a greeting.

- Deposit: a call the callee does not take (no answer within the ring timeout, declined, busy,
  not signed in), or one a party transfers to someone's voicemail. The VOICEMAIL event has the
  system answer for the mailbox; the callee leaves the call (their history shows it, "Sent to
  voicemail"); the caller hears the greeting and a beep and is recorded (`media.record`) until
  #, hang-up or VOICEMAIL_MAX_MESSAGE_SECONDS. The media worker hands the recording back
  (`recording_finished`); the message is kept unless it is empty or silent, and a caller still
  on the line hears "Your message has been saved. Goodbye."
- Menu: *86 and 999 (your own mailbox) and *84 + extension (any mailbox of the organisation),
  behind the mailbox's PIN. The pure menu (`toc.voicemail.menu`) runs on keypad keys; its state
  is kept in `VoicemailCall.menu` and its actions are carried out here.
- Greeting: *85 + extension plays the greeting that mailbox's callers hear, then hangs up.

Everything runs under the call's row lock: the caller's keys and the worker's report of a
finished recording take their turns.
"""

import logging
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from toc.accounts.access import organisation_id_of
from toc.accounts.models import User
from toc.calls import dialplan, history, selectors, state
from toc.calls.models import Call, CallRecord, CallStatus, Leg, RecordOutcome
from toc.calls.services import delivery, media
from toc.calls.services.base import (
    CallError,
    apply_event,
    at_call_limit,
    live_legs,
    locked_call,
    log,
    party_of,
    pick_worker,
    schedule_ring_timeout,
    user_at_extension,
    worker_of,
    worker_of_live_call,
)
from toc.voicemail import company, pins
from toc.voicemail import menu as phone_menu
from toc.voicemail import services as mailboxes
from toc.voicemail.models import Mailbox, SessionKind, VoicemailCall, VoicemailMessage

logger = logging.getLogger(__name__)

MENU_ROUTES = (dialplan.RouteKind.VOICEMAIL, dialplan.RouteKind.VOICEMAIL_LOGIN, dialplan.RouteKind.VOICEMAIL_GREETING)


def session_of(call: Call) -> VoicemailCall | None:
    return VoicemailCall.objects.select_related("mailbox__user").filter(call_id=call.pk).first()


def _mailbox_of(session: VoicemailCall) -> Mailbox:
    """The mailbox of a deposit or menu session (only the company greeting has none)."""
    assert session.mailbox is not None, f"a {session.kind} session without a mailbox"
    return session.mailbox


def can_take(call: Call) -> bool:
    """Whether an unanswered call goes to its callee's voicemail: a plain call to a user (not a
    consultation before an attended transfer, not an invitation into a conference)."""
    return call.callee_id is not None and call.conference_id is None and call.consult_for_id is None


# --- the greeting -----------------------------------------------------------------------------


def greeting_sounds(mailbox: Mailbox, *, is_busy: bool) -> list[str]:
    """What callers of this mailbox hear before the beep: the recorded greeting in use, or a
    default made of the recorded name (or the extension) and "is not available"."""
    greeting = mailboxes.greeting_in_use(mailbox, is_busy=is_busy)
    if greeting:
        return [f"file:{greeting}"]
    if mailbox.name_recording:
        return [f"file:{mailbox.name_recording.name}", "prompt:voicemail-is-not-available"]
    extension = mailbox.user.extension
    spoken = [f"prompt:digit-{digit}" for digit in extension if digit.isdigit()]
    return ["prompt:voicemail-the-person-at", *spoken, "prompt:voicemail-is-not-available"]


def _is_on_another_call(user: User, call: Call) -> bool:
    return selectors.calls_of(user).filter(state=CallStatus.ANSWERED).exclude(pk=call.pk).exists()


# --- leaving a message ------------------------------------------------------------------------


def divert(
    call: Call, *, why: str, now: datetime, party: state.Party = state.Party.SYSTEM, also_tell: Iterable[int] = ()
) -> None:
    """Send a locked call to its callee's mailbox, whose owner leaves the call. `why` is for the
    log and the owner's history: no_answer, declined, busy, unreachable or transferred."""
    assert call.callee_id is not None
    owner = User.objects.get(pk=call.callee_id)
    mailbox = mailboxes.get_mailbox(user=owner)
    is_busy = why == "busy" or _is_on_another_call(owner, call)
    history.record_departure(
        call=call,
        user=owner,
        outcome=RecordOutcome.VOICEMAIL,
        note="Sent to voicemail.",
        at=now,
        direction="incoming" if why == "declined" else "missed",
    )
    call.callee = None  # the mailbox took the call; name and number stay for the caller's window
    VoicemailCall.objects.create(call=call, mailbox=mailbox, kind=SessionKind.DEPOSIT, created_at=now)
    apply_event(call, state.CallEvent.VOICEMAIL, party=party, now=now, detail=why, also_tell=[owner.pk, *also_tell])
    worker = worker_of(call)
    legs = [leg.pk for leg in live_legs(call)]
    media.unbridge(worker, call_id=call.pk, leg_ids=legs)
    for leg_id in legs:
        media.record(
            worker,
            call_id=call.pk,
            leg_id=leg_id,
            recording_id=str(call.pk),
            sounds=[*greeting_sounds(mailbox, is_busy=is_busy), "beep"],
            max_seconds=settings.VOICEMAIL_MAX_MESSAGE_SECONDS,
        )
    logger.info("call %s went to the voicemail of user %s (%s)", call.pk, owner.pk, why)


def recording_finished(*, call_id: str, recording_id: str, recording: Path | None, reason: str) -> None:
    """The media worker stopped a recording (`reason`: stopped, limit or hangup): keep the
    message, or the greeting recorded in the menu, and say what comes next."""
    with transaction.atomic():
        call = locked_call(call_id)
        session = session_of(call) if call is not None else None
        if call is None or session is None:
            return
        if session.kind == SessionKind.DEPOSIT:
            _message_recorded(call, session, recording, reason)
        elif session.kind == SessionKind.MENU and call.state != CallStatus.ENDED:
            kind = recording_id.rsplit("-", 1)[-1]
            if recording is not None and kind in mailboxes.RECORDABLE:
                mailboxes.keep_pending(call_id=call.pk, kind=kind, recording=recording)
            if reason in ("stopped", "limit"):
                _advance(call, session, [phone_menu.RecordingDone()])


def _message_recorded(call: Call, session: VoicemailCall, recording: Path | None, reason: str) -> None:
    if session.is_finished:
        return
    session.is_finished = True
    session.save(update_fields=["is_finished"])
    mailbox = _mailbox_of(session)
    message = None
    if recording is not None:
        caller = User.objects.filter(pk=call.caller_id).first() if call.caller_id else None
        message = mailboxes.store_message(
            mailbox=mailbox,
            recording=recording,
            caller_name=call.caller_name,
            caller_number=call.caller_number,
            caller=caller,
            call_id=call.pk,
        )
    if message is not None:
        note = f"Left a voicemail ({round(message.duration_seconds)} s)."
        if CallRecord.objects.filter(owner_id=mailbox.user_id, call=call).update(note=note):
            history.announce_history(mailbox.user_id)
    if call.state == CallStatus.ANSWERED and reason in ("stopped", "limit"):
        goodbye = "prompt:voicemail-deposit-saved" if message is not None else "prompt:voicemail-goodbye"
        legs = [leg.pk for leg in live_legs(call)]
        media.play(worker_of(call), call_id=call.pk, leg_ids=legs, sounds=[goodbye], hangup_after=True)


# --- dialling voicemail -----------------------------------------------------------------------


def dial(*, user: User, route: dialplan.Route, channel_name: str, sdp: str, now: datetime) -> Call:
    """*86 / 999 (own mailbox), *84 + extension (log in to a mailbox), *85 + extension (hear its
    greeting): a call the system answers."""
    owner = user if route.kind is dialplan.RouteKind.VOICEMAIL else user_at_extension(user, route.target)
    kind = SessionKind.GREETING if route.kind is dialplan.RouteKind.VOICEMAIL_GREETING else SessionKind.MENU
    with transaction.atomic():
        mailbox = mailboxes.get_mailbox(user=owner)
        name = "Voicemail" if owner.pk == user.pk else f"Voicemail of {owner.display_name}"
        call, leg, session = _answered_by_system(user, route, name, mailbox, kind, channel_name, sdp, now)
        worker = worker_of(call)
        if kind == SessionKind.GREETING:
            sounds = greeting_sounds(mailbox, is_busy=False)
            media.play(worker, call_id=call.pk, leg_ids=[leg.pk], sounds=sounds, hangup_after=True)
        elif not mailbox.pin_hash:
            media.play(worker, call_id=call.pk, leg_ids=[leg.pk], sounds=["prompt:voicemail-no-pin"], hangup_after=True)
        else:
            menu, actions = phone_menu.start(
                extension=owner.extension, can_record_company=owner.is_greetings_manager, **_folders(mailbox)
            )
            session.menu = phone_menu.dump(menu)
            session.save(update_fields=["menu"])
            _carry_out(call, session, leg, menu, actions)
    return call


def dial_main_number(*, user: User, route: dialplan.Route, channel_name: str, sdp: str, now: datetime) -> Call:
    """The organisation's main number: the company greeting, then the caller's choice rings."""
    with transaction.atomic():
        organisation_id = organisation_id_of(user)
        assert organisation_id is not None
        greeting = company.greeting_of(organisation_id)
        organisation = user.organisation
        assert organisation is not None
        call, leg, _ = _answered_by_system(
            user, route, organisation.name, None, SessionKind.ATTENDANT, channel_name, sdp, now
        )
        if greeting.audio or greeting.options:
            sounds = company.sounds_of(greeting)
            media.play(worker_of(call), call_id=call.pk, leg_ids=[leg.pk], sounds=sounds)
        else:
            sounds = ["prompt:company-welcome", "prompt:company-no-choices"]
            media.play(worker_of(call), call_id=call.pk, leg_ids=[leg.pk], sounds=sounds, hangup_after=True)
    return call


def _answered_by_system(
    user: User,
    route: dialplan.Route,
    name: str,
    mailbox: Mailbox | None,
    kind: SessionKind,
    channel_name: str,
    sdp: str,
    now: datetime,
) -> tuple[Call, Leg, VoicemailCall]:
    if at_call_limit(user):
        raise CallError("conflict", "You already have calls in progress; hang one up first.")
    worker = pick_worker(now, required=worker_of_live_call(user, now))
    call = Call.objects.create(
        organisation_id=organisation_id_of(user),
        caller=user,
        callee=None,
        dialled=route.dialled,
        caller_name=user.display_name,
        caller_number=user.extension,
        callee_name=name,
        callee_number=route.target or route.dialled,
        media_worker=worker,
        created_at=now,
    )
    log(call, event="create", party=state.Party.CALLER, from_state="", to_state=call.state, at=now)
    leg = Leg.objects.create(call=call, user=user, party=state.Party.CALLER, channel_name=channel_name, created_at=now)
    session = VoicemailCall.objects.create(call=call, mailbox=mailbox, kind=kind, created_at=now)
    apply_event(call, state.CallEvent.RING, party=state.Party.SYSTEM, now=now)
    apply_event(call, state.CallEvent.ANSWER, party=state.Party.SYSTEM, now=now)
    media.create_leg(worker, leg, sdp=sdp, bridge_id=str(call.pk))
    return call, leg, session


def _folders(mailbox: Mailbox) -> dict[str, tuple[str, ...]]:
    messages = VoicemailMessage.objects.filter(mailbox=mailbox).order_by("created_at")
    return {
        "new": tuple(str(pk) for pk in messages.filter(folder="new").values_list("pk", flat=True)),
        "old": tuple(str(pk) for pk in messages.filter(folder="old").values_list("pk", flat=True)),
    }


def press_keys(*, call: Call, leg: Leg, keys: str) -> bool:
    """Keypad keys in a voicemail call (the call is locked); False when it is not one."""
    session = session_of(call)
    if session is None:
        return False
    if session.kind == SessionKind.DEPOSIT:
        if "#" in keys:
            media.stop_record(worker_of(call), call_id=call.pk, leg_id=leg.pk)
    elif session.kind == SessionKind.MENU:
        _advance(call, session, [phone_menu.Key(key) for key in keys], leg=leg)
    elif session.kind == SessionKind.ATTENDANT:
        _choose(call, session, leg, keys[0])
    return True


def _choose(call: Call, session: VoicemailCall, leg: Leg, key: str) -> None:
    """A key pressed at the company greeting: its choice rings (and goes to that person's
    voicemail if they do not answer); anything else says so and repeats the greeting."""
    greeting = company.greeting_of(call.organisation_id)
    extension = greeting.options.get(key)
    target = (
        User.objects.filter(organisation_id=call.organisation_id, extension=extension, is_active=True).first()
        if isinstance(extension, str)
        else None
    )
    worker = worker_of(call)
    if target is None:
        sounds = ["prompt:company-not-an-option", *company.sounds_of(greeting)]
        media.play(worker, call_id=call.pk, leg_ids=[leg.pk], sounds=sounds)
        return
    now = timezone.now()
    session.delete()
    # A call on the company's public number is an outside call for the chosen person's rules.
    seconds = delivery.start_routing(call, target, caller_is_local=False, now=now)
    if seconds is None:
        divert(call, why=delivery.empty_plan_reason(target), now=now)
        return
    apply_event(
        call,
        state.CallEvent.TRANSFER,
        party=state.Party.SYSTEM,
        now=now,
        detail=f"company greeting {key}",
        ring_seconds=seconds,
    )
    media.play(worker, call_id=call.pk, leg_ids=[leg.pk], sounds=["ringback"], loop=True)
    schedule_ring_timeout(call)


# --- the menu's actions -----------------------------------------------------------------------


@dataclass
class _Output:
    sounds: list[str] = field(default_factory=list)
    hang_up: bool = False


def _advance(call: Call, session: VoicemailCall, events: list[phone_menu.Event], *, leg: Leg | None = None) -> None:
    leg = leg or next(iter(live_legs(call)), None)
    if leg is None:
        return
    try:
        menu = phone_menu.load(session.menu)
    except ValueError:
        logger.exception("call %s: the voicemail menu's state is broken; hanging up", call.pk)
        menu, events = phone_menu.Menu(extension="", step=phone_menu.Step.GOODBYE), []
    output = _Output()
    for event in events:
        if isinstance(event, phone_menu.Key):
            output.sounds = []  # a key cuts short what was about to be said, as on any phone menu
        menu, actions = phone_menu.handle(menu, event)
        menu = _carry_out(call, session, leg, menu, actions, output=output, flush=False)
    session.menu = phone_menu.dump(menu)
    session.save(update_fields=["menu"])
    _flush(call, leg, output)


def _carry_out(
    call: Call,
    session: VoicemailCall,
    leg: Leg,
    menu: phone_menu.Menu,
    actions: list[phone_menu.Action],
    *,
    output: _Output | None = None,
    flush: bool = True,
) -> phone_menu.Menu:
    out = output or _Output()
    mailbox = _mailbox_of(session)
    worker = worker_of(call)
    queue = deque(actions)
    while queue:
        action = queue.popleft()
        if isinstance(action, phone_menu.Say):
            out.sounds += [f"prompt:{name}" for name in action.prompts]
        elif isinstance(action, phone_menu.PlayMessage):
            key = _uuid(action.message_id)
            message = VoicemailMessage.objects.filter(pk=key, mailbox=mailbox).first() if key else None
            if message is not None and message.audio:
                out.sounds.append(f"file:{message.audio.name}")
        elif isinstance(action, phone_menu.PlayRecording):
            name = mailboxes.pending_name(call_id=call.pk, kind=action.kind.value)
            if default_storage.exists(name):
                out.sounds.append(f"file:{name}")
        elif isinstance(action, phone_menu.Record):
            media.record(
                worker,
                call_id=call.pk,
                leg_id=leg.pk,
                recording_id=f"{call.pk}-{action.kind.value}",
                sounds=[*out.sounds, "beep"],
                max_seconds=settings.VOICEMAIL_MAX_GREETING_SECONDS,
            )
            out.sounds = []
        elif isinstance(action, phone_menu.StopRecording):
            media.stop_record(worker, call_id=call.pk, leg_id=leg.pk)
        elif isinstance(action, phone_menu.CheckPin):
            menu, more = phone_menu.handle(menu, _check_pin(call, mailbox, action.pin))
            queue.extendleft(reversed(more))
        elif isinstance(action, phone_menu.SetPin):
            mailboxes.set_pin(user=mailbox.user, pin=action.pin)
        elif isinstance(action, phone_menu.SaveMessage | phone_menu.DeleteMessage):
            _file_message(mailbox, action)
        elif isinstance(action, phone_menu.SaveRecording):
            saved = _accept(call, mailbox, action.kind)
            menu, more = phone_menu.handle(menu, phone_menu.SaveResult(saved=saved))
            queue.extendleft(reversed(more))
        elif isinstance(action, phone_menu.HangUp):
            out.hang_up = True
    if flush:
        _flush(call, leg, out)
    return menu


def _flush(call: Call, leg: Leg, out: _Output) -> None:
    if out.sounds:
        media.play(worker_of(call), call_id=call.pk, leg_ids=[leg.pk], sounds=out.sounds, hangup_after=out.hang_up)
    elif out.hang_up:
        media.hangup(worker_of(call), call_id=call.pk, leg_ids=[leg.pk])


def _check_pin(call: Call, mailbox: Mailbox, pin: str) -> phone_menu.PinResult:
    who = f"user {call.caller_id} on call {call.pk}"
    try:
        outcome = mailboxes.verify_pin(mailbox_id=mailbox.pk, pin=pin, caller=who)
    except mailboxes.VoicemailError:
        return phone_menu.PinResult(accepted=False, locked=True)
    return phone_menu.PinResult(accepted=outcome is pins.PinCheck.ACCEPTED, locked=outcome is pins.PinCheck.LOCKED)


def _accept(call: Call, mailbox: Mailbox, kind: phone_menu.Recording) -> bool:
    """ "1 to accept": the recording made in this call becomes the mailbox's (or the company's);
    False when nothing was recorded, or the owner may no longer change the company greeting."""
    if kind is not phone_menu.Recording.COMPANY:
        return mailboxes.accept_pending(mailbox_id=mailbox.pk, call_id=call.pk, kind=kind.value)
    try:
        return company.accept_recorded(user=mailbox.user, call_id=call.pk)
    except mailboxes.VoicemailError as error:
        logger.warning("voicemail menu on call %s: %s", call.pk, error.message)
        return False


def _file_message(mailbox: Mailbox, action: phone_menu.SaveMessage | phone_menu.DeleteMessage) -> None:
    """Save or delete a message; one the menu knew may have gone meanwhile (the Voicemail view)."""
    try:
        if isinstance(action, phone_menu.SaveMessage):
            mailboxes.save_message(user=mailbox.user, message_id=action.message_id)
        else:
            mailboxes.delete_message(user=mailbox.user, message_id=action.message_id)
    except mailboxes.VoicemailError:
        pass


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# --- ending -----------------------------------------------------------------------------------


def call_ended(call: Call) -> None:
    """After a voicemail call ends: greetings recorded but never accepted are dropped."""
    call_id = call.pk
    transaction.on_commit(lambda: mailboxes.drop_pending(call_id=call_id))


def end_voicemail_calls(*, user: User, except_call_id: uuid.UUID, now: datetime | None = None) -> int:
    """Answering or placing another call ends the user's own voicemail calls (a message being
    left is kept): voicemail cannot wait on hold."""
    moment = now or timezone.now()
    ended = 0
    ids = list(
        selectors.calls_of(user)
        .filter(state=CallStatus.ANSWERED, caller=user, voicemail__isnull=False)
        .exclude(pk=except_call_id)
        .values_list("pk", flat=True)
    )
    for call_id in ids:
        with transaction.atomic():
            call = locked_call(call_id)
            if call is None or call.state != CallStatus.ANSWERED:
                continue
            apply_event(call, state.CallEvent.HANGUP, party=party_of(call, user), now=moment)
            ended += 1
    return ended


__all__ = [
    "MENU_ROUTES",
    "can_take",
    "dial",
    "divert",
    "end_voicemail_calls",
    "press_keys",
    "recording_finished",
]
