"""The call engine's commands to a call's media worker (`toc.media.worker` runs them).

Every command is sent after commit (`toc.media.control.send_command`) and names the call whose
queue it joins in the worker: commands of one call run in order. Sounds are named, never
paths: "ringback", "beep", "hold" (music on hold), "prompt:<name>" (`toc.media.prompts`),
"file:<name>" (a voicemail recording in Django's storage).
"""

from collections.abc import Sequence

from toc.calls.models import Leg
from toc.media import control
from toc.media.models import MediaWorker


def _send(worker: MediaWorker | None, command: dict[str, object]) -> None:
    if worker is not None:
        control.send_command(channel_name=worker.channel_name, command=command)


def create_leg(
    worker: MediaWorker | None,
    leg: Leg,
    *,
    sdp: str,
    bridge_id: str,
    bridge_leg_ids: Sequence[object] = (),
    sounds: Sequence[str] = (),
    loop: bool = False,
) -> None:
    """Have the worker answer the leg's offer (the answer goes to the leg's socket), then join
    it to `bridge_id` with `bridge_leg_ids` (whose playback stops), or play `sounds` to it."""
    _send(
        worker,
        {
            "type": "media.create_leg",
            "call_id": str(leg.call_id),
            "leg_id": str(leg.pk),
            "sdp": sdp,
            "reply_channel": leg.channel_name,
            "bridge_id": bridge_id,
            "bridge_leg_ids": [str(other) for other in bridge_leg_ids],
            "sounds": list(sounds),
            "loop": loop,
        },
    )


def bridge(worker: MediaWorker | None, *, call_id: object, bridge_id: str, leg_ids: Sequence[object]) -> None:
    """Join the legs to one bridge (each hears the others); their playback stops."""
    _send(
        worker,
        {
            "type": "media.bridge",
            "call_id": str(call_id),
            "bridge_id": bridge_id,
            "leg_ids": [str(leg_id) for leg_id in leg_ids],
        },
    )


def unbridge(worker: MediaWorker | None, *, call_id: object, leg_ids: Sequence[object]) -> None:
    _send(worker, {"type": "media.unbridge", "call_id": str(call_id), "leg_ids": [str(leg) for leg in leg_ids]})


def play(
    worker: MediaWorker | None,
    *,
    call_id: object,
    leg_ids: Sequence[object],
    sounds: Sequence[str],
    loop: bool = False,
    hangup_after: bool = False,
) -> None:
    """Play named sounds to the legs (over their bridge audio); `hangup_after` ends each leg
    once the sounds have played (bounded in the worker)."""
    _send(
        worker,
        {
            "type": "media.play",
            "call_id": str(call_id),
            "leg_ids": [str(leg_id) for leg_id in leg_ids],
            "sounds": list(sounds),
            "loop": loop,
            "hangup_after": hangup_after,
        },
    )


def record(
    worker: MediaWorker | None,
    *,
    call_id: object,
    leg_id: object,
    recording_id: str,
    sounds: Sequence[str],
    max_seconds: float,
) -> None:
    """Play `sounds` (a greeting, a beep) to the leg, then record what it says until
    `stop_record`, the leg ends, or `max_seconds`; the worker reports the recording
    (`toc.calls.services.voicemail.recording_finished`)."""
    _send(
        worker,
        {
            "type": "media.record",
            "call_id": str(call_id),
            "leg_id": str(leg_id),
            "recording_id": recording_id,
            "sounds": list(sounds),
            "max_seconds": max_seconds,
        },
    )


def stop_record(worker: MediaWorker | None, *, call_id: object, leg_id: object) -> None:
    _send(worker, {"type": "media.stop_record", "call_id": str(call_id), "leg_id": str(leg_id)})


def mute(worker: MediaWorker | None, *, call_id: object, leg_id: object, muted: bool) -> None:
    _send(worker, {"type": "media.mute", "call_id": str(call_id), "leg_id": str(leg_id), "muted": muted})


def hangup(worker: MediaWorker | None, *, call_id: object, leg_ids: Sequence[object]) -> None:
    if leg_ids:
        _send(worker, {"type": "media.hangup", "call_id": str(call_id), "leg_ids": [str(leg) for leg in leg_ids]})


def dtmf(worker: MediaWorker | None, *, call_id: object, leg_id: object, digits: str) -> None:
    _send(worker, {"type": "media.dtmf", "call_id": str(call_id), "leg_id": str(leg_id), "digits": digits})
