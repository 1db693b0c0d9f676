"""Where an incoming call to a user goes, as pure functions: no ORM, no clock.

`plan_call()` is the one place the routing policy lives. It takes the dialled user as a frozen
`Person` (presence, Phone DND, online, busy, forwarding settings), whether the caller is local
(a colleague who dialled the extension) or from outside (a call that came in on a public
number), the organisation's people by extension, and the ring time. It returns a `Plan`: who
rings, in order, each for how long; whatever is not answered ends in the dialled user's
voicemail. The same plan feeds the call engine and the portal's "Test this rule".

The policy, first match wins:
1. Phone DND: straight to voicemail.
2. Forward Always: the destination rings instead.
3. A custom rule for the user's presence (App Presence): its lines in order; with "Different
   rules for local calls", local callers get the local lines. A 999 line ends the list.
4. Not signed in anywhere: the Unreachable destination, else voicemail. At the call limit:
   the Busy destination, else voicemail.
5. Otherwise the user rings (for the No answer ring time when a No answer destination is
   set), then the No answer destination, then voicemail.
Busy, Do not Disturb and In a Meeting deliver like Available unless a rule says otherwise
(the guide's "Default Presence Status Behaviour").

Ringing a colleague follows that colleague's Forward Always (a chain), skipping anyone with
Phone DND, not signed in, or busy. A chain that comes back to someone already in it (a loop) or
that grows past `MAX_FORWARDS` is cut there. `check_destinations()` refuses such settings when
they are saved; the cut at call time covers what others changed since. An outside number or a
mobile needs the phone carrier: without one that line is skipped, and the plan says so.
911 is never a destination: the dial plan sends it to the carrier before any routing.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from toc.calls import dialplan
from toc.presence.state import LABELS, Status

VOICEMAIL_CODE = "999"
MOBILE_WORD = "mobile"
MAX_FORWARDS = 4  # forwards one call may follow from the dialled user (A -> B -> C -> D -> E)
MIN_SECONDS = 5
MAX_SECONDS = 120
MAX_LINES = 8


class RoutingError(Exception):
    """A destination or rule that cannot be saved; the message is for the user."""


class DestinationKind(StrEnum):
    EXTENSION = "extension"
    VOICEMAIL = "voicemail"
    MOBILE = "mobile"
    OUTSIDE = "outside"


@dataclass(frozen=True)
class Destination:
    kind: DestinationKind
    value: str = ""  # the extension, or the E.164 number of an outside destination

    def __str__(self) -> str:
        if self.kind is DestinationKind.VOICEMAIL:
            return VOICEMAIL_CODE
        if self.kind is DestinationKind.MOBILE:
            return MOBILE_WORD
        return self.value


def parse_destination(text: str, *, region: str = "CA") -> Destination:
    """What a destination typed in the portal means: an extension, 999 (voicemail), "mobile"
    (the user's mobile number) or a phone number. Anything else raises RoutingError."""
    if text.strip().lower() == MOBILE_WORD:
        return Destination(DestinationKind.MOBILE)
    route = dialplan.resolve(text, region=region)
    if route.kind is dialplan.RouteKind.EMERGENCY:
        raise RoutingError("911 cannot be a forwarding destination: emergency calls are never forwarded.")
    if route.dialled == VOICEMAIL_CODE:
        return Destination(DestinationKind.VOICEMAIL)
    if route.kind is dialplan.RouteKind.EXTENSION:
        return Destination(DestinationKind.EXTENSION, route.target)
    if route.kind is dialplan.RouteKind.OUTSIDE:
        return Destination(DestinationKind.OUTSIDE, route.target)
    shown = route.dialled[:20] or text.strip()[:20]
    raise RoutingError(
        f"“{shown}” is not a destination: enter an extension, 999 for voicemail, “mobile”, or a phone number."
    )


@dataclass(frozen=True)
class Line:
    destination: Destination
    seconds: int


@dataclass(frozen=True)
class PresenceRule:
    lines: tuple[Line, ...]
    local_lines: tuple[Line, ...] | None = None  # "Different rules for local calls"


@dataclass(frozen=True)
class Forwarding:
    always: Destination | None = None
    busy: Destination | None = None
    no_answer: Destination | None = None
    no_answer_seconds: int | None = None
    unreachable: Destination | None = None
    rules: Mapping[Status, PresenceRule] = field(default_factory=dict)


@dataclass(frozen=True)
class Person:
    """A user as routing sees them at one moment."""

    user_id: int
    extension: str
    name: str
    presence: Status = Status.AVAILABLE
    phone_dnd: bool = False
    is_online: bool = True
    is_busy: bool = False
    mobile_number: str = ""
    forwarding: Forwarding = Forwarding()

    @property
    def label(self) -> str:
        return f"{self.name} ({self.extension})"


@dataclass(frozen=True)
class Ring:
    """Ring this user's signed-in sessions for `seconds`."""

    user_id: int
    extension: str
    name: str
    seconds: int


@dataclass(frozen=True)
class Dial:
    """Call this outside number through the carrier for `seconds`."""

    number: str
    seconds: int


Step = Ring | Dial


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    voicemail_user_id: int  # whose mailbox takes the call when nobody answers
    reasons: tuple[str, ...]  # why, in words, for "Test this rule" and the call log


@dataclass
class _Planner:
    callee: Person
    people: Mapping[str, Person]
    can_dial_out: bool
    steps: list[Step] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def plan(self) -> Plan:
        return Plan(tuple(self.steps), self.callee.user_id, tuple(self.reasons))

    def add(self, destination: Destination, seconds: int) -> bool:
        """Add what `destination` rings; False when it is voicemail (nothing after it rings)."""
        if destination.kind is DestinationKind.VOICEMAIL:
            self.reasons.append("Then voicemail (999).")
            return False
        if destination.kind is DestinationKind.MOBILE:
            self._dial(self.callee.mobile_number, seconds, what="your mobile")
        elif destination.kind is DestinationKind.OUTSIDE:
            self._dial(destination.value, seconds, what=destination.value)
        else:
            self._ring_extension(destination.value, seconds)
        return True

    def _dial(self, number: str, seconds: int, *, what: str) -> None:
        if not number:
            self.reasons.append("Your mobile is skipped: no mobile number is set (Self Care > Devices).")
        elif not self.can_dial_out:
            self.reasons.append(f"{what} is skipped: outside calls need a phone carrier, and none is configured.")
        else:
            self.steps.append(Dial(number, seconds))
            self.reasons.append(f"Ring {what} for {seconds} s.")

    def _ring_extension(self, extension: str, seconds: int) -> None:
        person = self.people.get(extension)
        if person is None:
            self.reasons.append(f"Extension {extension} is skipped: nobody has it.")
            return
        chain = [self.callee.extension] if person.user_id != self.callee.user_id else []
        while True:
            if person.extension in chain:
                path = " → ".join([*chain, person.extension])
                self.reasons.append(f"Extension {extension} is skipped: forwarding loop {path}.")
                return
            chain.append(person.extension)
            forward = person.forwarding.always if person.user_id != self.callee.user_id else None
            if forward is None:
                break
            if len(chain) > MAX_FORWARDS:
                self.reasons.append(
                    f"Extension {extension} is skipped: it forwards too many times ({' → '.join(chain)} → …)."
                )
                return
            if forward.kind is not DestinationKind.EXTENSION:
                self._forwarded_away(person, forward, seconds)
                return
            self.reasons.append(f"{person.label} forwards all calls to {forward.value}.")
            next_person = self.people.get(forward.value)
            if next_person is None:
                self.reasons.append(f"Extension {forward.value} is skipped: nobody has it.")
                return
            person = next_person
        self._ring(person, seconds)

    def _forwarded_away(self, person: Person, forward: Destination, seconds: int) -> None:
        if forward.kind is DestinationKind.VOICEMAIL:
            self.reasons.append(f"{person.label} is skipped: they send all calls to their voicemail.")
        elif forward.kind is DestinationKind.MOBILE:
            self._dial(person.mobile_number, seconds, what=f"the mobile of {person.label}")
        else:
            self._dial(forward.value, seconds, what=forward.value)

    def _ring(self, person: Person, seconds: int) -> None:
        who = "You" if person.user_id == self.callee.user_id else person.label
        if person.phone_dnd and person.user_id != self.callee.user_id:
            self.reasons.append(f"{who} skipped: Phone DND is on.")
        elif not person.is_online:
            self.reasons.append(f"{who} skipped: not signed in anywhere.")
        elif person.is_busy:
            self.reasons.append(f"{who} skipped: busy on other calls.")
        else:
            self.steps.append(Ring(person.user_id, person.extension, person.name, seconds))
            self.reasons.append(f"Ring {'you' if who == 'You' else who} for {seconds} s.")


def plan_call(
    callee: Person,
    *,
    caller_is_local: bool,
    people: Mapping[str, Person],
    ring_seconds: int,
    can_dial_out: bool = False,
) -> Plan:
    """Who rings for a call to `callee`, in order and for how long (see the module's policy)."""
    planner = _Planner(callee, people, can_dial_out)
    forwarding = callee.forwarding
    if callee.phone_dnd:
        planner.reasons.append("Phone DND is on: every call goes straight to voicemail.")
        return planner.plan()
    if forwarding.always is not None:
        planner.reasons.append(f"Forward Always to {forwarding.always}.")
        planner.add(forwarding.always, ring_seconds)
        return _ending(planner)
    rule = forwarding.rules.get(callee.presence)
    if rule is not None:
        use_local = caller_is_local and rule.local_lines is not None
        lines = rule.local_lines if use_local and rule.local_lines is not None else rule.lines
        callers = " (local callers)" if use_local else (" (outside callers)" if rule.local_lines is not None else "")
        planner.reasons.append(f"Your App Presence rule for {LABELS[callee.presence]}{callers}.")
        for line in lines:
            if not planner.add(line.destination, line.seconds):
                return planner.plan()
        return _ending(planner)
    if not callee.is_online:
        return _fallback(planner, forwarding.unreachable, ring_seconds, "You are not signed in anywhere")
    if callee.is_busy:
        return _fallback(planner, forwarding.busy, ring_seconds, "You are busy on other calls")
    ring_first = forwarding.no_answer_seconds if forwarding.no_answer and forwarding.no_answer_seconds else ring_seconds
    planner._ring(callee, ring_first)
    if forwarding.no_answer is not None:
        planner.reasons.append(f"No answer: forward to {forwarding.no_answer}.")
        if not planner.add(forwarding.no_answer, ring_seconds):
            return planner.plan()
    return _ending(planner)


def _fallback(planner: _Planner, destination: Destination | None, seconds: int, why: str) -> Plan:
    if destination is None:
        planner.reasons.append(f"{why}: voicemail.")
        return planner.plan()
    planner.reasons.append(f"{why}: forward to {destination}.")
    if planner.add(destination, seconds):
        return _ending(planner)
    return planner.plan()


def _ending(planner: _Planner) -> Plan:
    planner.reasons.append("Then voicemail." if planner.steps else "Nobody can ring: voicemail.")
    return planner.plan()


# --- checks when settings are saved -----------------------------------------------------------


def check_line_seconds(seconds: int, *, what: str) -> None:
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise RoutingError(f"{what}: a timeout is {MIN_SECONDS} to {MAX_SECONDS} seconds.")


def check_lines(lines: tuple[Line, ...], *, what: str) -> None:
    """A rule's lines: at least one, at most MAX_LINES, timeouts in range, nothing after 999."""
    if not lines:
        raise RoutingError(f"{what}: add at least one destination.")
    if len(lines) > MAX_LINES:
        raise RoutingError(f"{what}: at most {MAX_LINES} destinations.")
    for number, line in enumerate(lines, start=1):
        if line.destination.kind is not DestinationKind.VOICEMAIL:
            check_line_seconds(line.seconds, what=f"{what}, line {number}")
        elif number < len(lines):
            raise RoutingError(f"{what}: nothing after 999 (voicemail) would ever ring; remove the lines after it.")


def check_destination(owner: Person, destination: Destination, *, people: Mapping[str, Person], what: str) -> None:
    """Refuse a destination that leads nowhere or back to `owner`: an unknown extension, a
    forwarding loop, a chain longer than MAX_FORWARDS, a mobile that is not set."""
    if destination.kind is DestinationKind.MOBILE and not owner.mobile_number:
        raise RoutingError(f"{what}: add your mobile number first (Self Care > Devices).")
    if destination.kind is not DestinationKind.EXTENSION:
        return
    chain = [owner.extension]
    extension: str | None = destination.value
    while extension is not None:
        if extension == owner.extension and len(chain) == 1:
            return  # ringing yourself: only rules use it, and it is no forward
        if extension in chain:
            path = " → ".join([*chain, extension])
            raise RoutingError(f"{what}: that makes a forwarding loop ({path}); calls would never reach anyone.")
        person = people.get(extension)
        if person is None:
            raise RoutingError(f"{what}: there is no extension {extension} in your organisation.")
        chain.append(extension)
        if len(chain) > MAX_FORWARDS + 1:
            path = " → ".join(chain)
            raise RoutingError(f"{what}: that forwards too many times ({path}); at most {MAX_FORWARDS} forwards.")
        always = person.forwarding.always
        extension = always.value if always is not None and always.kind is DestinationKind.EXTENSION else None
