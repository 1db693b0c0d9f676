"""Writes of calls (the call engine). One module per concern:

- `base`: errors, locks, the one place a call changes (`apply_event`), announcements;
- `calls`: place, answer, decline, hang up, keypad, timeouts, legs and sockets;
- `handling`: hold, transfer (blind, attended, to voicemail), switch device;
- `park`: park, pickup, ring-back;
- `conferences`: rooms, instant conferences, adding people, PINs, mute and remove;
- `voicemail`: calls that reach voicemail: leaving a message, the mailbox menu, greetings;
- `media`: the commands sent to a call's media worker.
"""

from toc.calls.services.base import CallError, describe_call_of, describe_for
from toc.calls.services.calls import (
    add_ice_candidate,
    answer_call,
    decline_call,
    detach_socket,
    end_detached_legs,
    end_unanswered_call,
    fail_call,
    fail_calls_of_worker,
    hang_up,
    leg_answered,
    leg_closed,
    leg_connected,
    leg_failed,
    place_call,
    reclaim_leg,
    send_dtmf,
    set_phone_dnd,
    sweep_dead_workers,
    sweep_overdue_ringing,
)
from toc.calls.services.conferences import (
    add_people,
    create_room,
    mute_participant,
    remove_participant,
    set_room_pin,
    start_conference,
)
from toc.calls.services.handling import (
    cancel_consultation,
    complete_transfer,
    hold_call,
    list_devices,
    request_switch,
    resume_call,
    start_consultation,
    take_call,
    transfer_call,
    transfer_to_voicemail,
)
from toc.calls.services.park import park_call, ring_back_parked_call, sweep_overdue_parked
from toc.calls.services.voicemail import recording_finished

__all__ = [
    "CallError",
    "add_ice_candidate",
    "add_people",
    "answer_call",
    "cancel_consultation",
    "complete_transfer",
    "create_room",
    "decline_call",
    "describe_call_of",
    "describe_for",
    "detach_socket",
    "end_detached_legs",
    "end_unanswered_call",
    "fail_call",
    "fail_calls_of_worker",
    "hang_up",
    "hold_call",
    "leg_answered",
    "leg_closed",
    "leg_connected",
    "leg_failed",
    "list_devices",
    "mute_participant",
    "park_call",
    "place_call",
    "reclaim_leg",
    "recording_finished",
    "remove_participant",
    "request_switch",
    "resume_call",
    "ring_back_parked_call",
    "send_dtmf",
    "set_phone_dnd",
    "set_room_pin",
    "start_conference",
    "start_consultation",
    "sweep_dead_workers",
    "sweep_overdue_parked",
    "sweep_overdue_ringing",
    "take_call",
    "transfer_call",
    "transfer_to_voicemail",
]
