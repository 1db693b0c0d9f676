"""A media worker process: one `MediaEngine`, driven by commands over the channel layer.

The worker registers a `MediaWorker` row with its own channel name, heart-beats it, and runs
the commands the call engine sends (`toc.media.control.send_command`):

- `media.create_leg` {call_id, leg_id, sdp, reply_channel, bridge_id, bridge_leg_ids, sounds,
  loop}: answers the offer (the answer goes to `reply_channel` as a `call.sdp` event), then
  plays `sounds` to the leg, or (no sounds) joins it to `bridge_id` with `bridge_leg_ids`.
- `media.bridge` {call_id, bridge_id, leg_ids}: joins the legs to one bridge (moving them out
  of any other); their playback stops. Legs that are gone are skipped.
- `media.unbridge` {call_id, leg_ids}: the legs leave their bridge (they hear only playback).
- `media.play` {call_id, leg_ids, sounds, loop, hangup_after}: plays the sounds, in order, to
  each leg over its bridge audio; with `hangup_after`, hangs each leg up once they played
  (at most `PLAY_BEFORE_HANGUP_SECONDS`).
- `media.record` {call_id, leg_id, recording_id, sounds, max_seconds}: plays `sounds` (a
  greeting and a beep), then records what the leg says until `media.stop_record`, the leg
  ends, or `max_seconds` pass; the WAV goes to `WorkerHooks.recording_finished`, then is
  deleted. Returns at once (the recording goes on beside the call's other commands).
- `media.stop_record` {call_id, leg_id}: ends that recording (or its sounds, if still playing).
- `media.mute` {call_id, leg_id, muted}: a muted leg is not heard by its bridge.
- `media.ice` {call_id, leg_id, candidate}: a trickled remote candidate (outside
  MEDIA_ALLOWED_NETWORKS: dropped).
- `media.dtmf` {call_id, leg_id, digits}: the leg's keypad digits, played to the others.
- `media.hangup` {call_id, leg_ids}: closes the legs.
- `media.stats` {leg_ids, reply_channel}: replies `{"type": "media.stats", "stats": {...}}`.

Sounds are names, never paths: "ringback", "beep", "hold" (music on hold), "prompt:<name>"
(`toc.media.prompts`), "file:<name>" (a recording in Django's storage under voicemail/).

Commands of one call run in order; different calls run concurrently. What happens to a leg
(connected, failed, closed) is reported to the call engine through `WorkerHooks`, so this
module does not depend on `toc.calls`. A worker that stops (SIGTERM) ends its calls first;
one that dies is noticed by the call engine's sweep when its heart-beat stops.
"""

import asyncio
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings
from django.utils import timezone

from toc.media import prompts
from toc.media.engine import BEEP, RINGBACK, MediaEngine, MediaError, Tone, restrict_host_addresses
from toc.media.models import MediaWorker

logger = logging.getLogger(__name__)

PLAY_BEFORE_HANGUP_SECONDS = 180.0  # the longest greeting, and then some
PLAY_BEFORE_RECORD_SECONDS = 180.0
MAX_RECORD_SECONDS = 3600.0
STOP_RECORDINGS_SECONDS = 10.0
POLL_SECONDS = 0.05
_RECORDING_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}\Z")


def sound_sources(names: list[str]) -> list[Tone | Path]:
    """The tones and files for sound names; MediaError for a name that is not one."""
    sources: list[Tone | Path] = []
    for name in names:
        if name == "ringback":
            sources.append(RINGBACK)
        elif name == "beep":
            sources.append(BEEP)
        elif name == "hold":
            sources.append(prompts.HOLD_MUSIC)
        elif isinstance(name, str) and name.startswith("prompt:"):
            try:
                sources.append(prompts.prompt_path(name.removeprefix("prompt:")))
            except ValueError as error:
                raise MediaError(str(error)) from error
        elif isinstance(name, str) and name.startswith("file:"):
            try:
                sources.append(prompts.stored_file(name.removeprefix("file:")))
            except (ValueError, OSError) as error:
                raise MediaError(str(error)) from error
        else:
            raise MediaError(f"There is no sound called {name!r}.")
    return sources


@dataclass(frozen=True)
class WorkerHooks:
    """Synchronous callbacks into the call engine (run in a thread, with database access)."""

    leg_event: Callable[[str, str, str], None]  # (leg_id, "connected" | "failed" | "closed", detail)
    leg_answered: Callable[[str, str], None]  # (leg_id, answer sdp), before the answer is sent
    worker_stopping: Callable[[MediaWorker], None]
    # (call_id, recording_id, the WAV or None when nothing was recorded, why it stopped:
    # "stopped" | "limit" | "hangup"); the file is deleted after the hook returns.
    recording_finished: Callable[[str, str, Path | None, str], None]


class MediaWorkerProcess:
    def __init__(self, *, hooks: WorkerHooks, capacity: int, name: str = "") -> None:
        self.hooks = hooks
        self.capacity = capacity
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.channel_name = ""
        self.engine = MediaEngine(allowed_networks=settings.MEDIA_ALLOWED_NETWORKS, on_leg_event=self._leg_event)
        self.queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.runners: dict[str, asyncio.Task[None]] = {}
        self.background: set[asyncio.Task[None]] = set()
        self.recordings: dict[str, asyncio.Event] = {}  # leg id -> set to stop its recording
        self.recording_tasks: set[asyncio.Task[None]] = set()
        self.recordings_dir = Path(settings.VAR_DIR) / "recordings"
        if settings.MEDIA_HOST_ADDRESSES:
            restrict_host_addresses(settings.MEDIA_HOST_ADDRESSES)

    @property
    def layer(self) -> BaseChannelLayer:
        layer = get_channel_layer()
        assert layer is not None, "The media worker needs a channel layer."
        return layer

    async def run(self, stop: asyncio.Event) -> None:
        # The default prefix: channels_redis reads every process-local channel of a layer through
        # one shared Redis list, and a second prefix would starve the other consumers' receives.
        self.channel_name = await self.layer.new_channel()
        await database_sync_to_async(self._register)()
        logger.info("media worker %s ready on %s (capacity %d)", self.name, self.channel_name, self.capacity)
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        receiver = asyncio.create_task(self._receive(stop))
        await stop.wait()
        receiver.cancel()
        heartbeat.cancel()
        await asyncio.gather(receiver, heartbeat, return_exceptions=True)
        await self.shutdown()

    async def shutdown(self) -> None:
        row = await database_sync_to_async(MediaWorker.objects.filter(name=self.name).first)()
        if row is not None:
            await database_sync_to_async(self.hooks.worker_stopping)(row)
            await database_sync_to_async(MediaWorker.objects.filter(pk=row.pk).delete)()
        await self._finish_recordings()
        for task in [*self.runners.values(), *self.background]:
            task.cancel()
        await asyncio.gather(*self.runners.values(), *self.background, return_exceptions=True)
        await self.engine.close()
        logger.info("media worker %s stopped", self.name)

    async def _finish_recordings(self) -> None:
        """Stop every recording and hand each to the call engine (a message left while the
        worker stops is kept), waiting at most STOP_RECORDINGS_SECONDS."""
        for stop in list(self.recordings.values()):
            stop.set()
        if self.recording_tasks:
            await asyncio.wait(set(self.recording_tasks), timeout=STOP_RECORDINGS_SECONDS)

    def _register(self) -> None:
        MediaWorker.objects.update_or_create(
            name=self.name,
            defaults={
                "channel_name": self.channel_name,
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "capacity": self.capacity,
                "last_seen_at": timezone.now(),
            },
        )

    def _beat(self) -> bool:
        return MediaWorker.objects.filter(name=self.name).update(last_seen_at=timezone.now()) == 1

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if not await database_sync_to_async(self._beat)():
                    # Declared dead while stalled: those calls were ended; start clean.
                    logger.warning("media worker %s was declared dead; dropping its legs", self.name)
                    await self.engine.close()
                    await database_sync_to_async(self._register)()
            except Exception:
                logger.exception("media worker heart-beat failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=settings.MEDIA_WORKER_HEARTBEAT_SECONDS)
            except TimeoutError:
                pass

    async def _receive(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            message = await self.layer.receive(self.channel_name)
            self.dispatch(message)

    def dispatch(self, message: dict[str, Any]) -> None:
        """Queue a command behind the earlier commands of the same call."""
        key = str(message.get("call_id") or message.get("type"))
        queue = self.queues.get(key)
        if queue is None:
            queue = self.queues[key] = asyncio.Queue()
            self.runners[key] = asyncio.create_task(self._run_queue(key, queue))
        queue.put_nowait(message)

    async def _run_queue(self, key: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        try:
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=30)
                except TimeoutError:
                    if queue.empty():
                        return
                    continue
                await self._run(message)
        finally:
            if self.queues.get(key) is queue:
                del self.queues[key]
                self.runners.pop(key, None)

    async def _run(self, message: dict[str, Any]) -> None:
        handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "media.create_leg": self._create_leg,
            "media.bridge": self._bridge,
            "media.unbridge": self._unbridge,
            "media.play": self._play,
            "media.record": self._record,
            "media.stop_record": self._stop_record,
            "media.mute": self._mute,
            "media.ice": self._ice,
            "media.dtmf": self._dtmf,
            "media.hangup": self._hangup,
            "media.stats": self._stats,
        }
        handler = handlers.get(str(message.get("type")))
        if handler is None:
            logger.warning("media worker: unknown command %r", message.get("type"))
            return
        try:
            await handler(message)
        except MediaError as error:
            leg_id = message.get("leg_id")
            logger.warning("media command %s failed: %s", message.get("type"), error)
            if isinstance(leg_id, str) and message.get("type") == "media.create_leg":
                await self._leg_event(leg_id, "failed", f"The call's audio could not start: {error}")
        except Exception:
            logger.exception("media command %s crashed", message.get("type"))

    async def _create_leg(self, message: dict[str, Any]) -> None:
        leg_id = str(message["leg_id"])
        answer = await self.engine.create_leg(leg_id, str(message["sdp"]))
        await database_sync_to_async(self.hooks.leg_answered)(leg_id, answer)
        await self.layer.send(
            str(message["reply_channel"]),
            {
                "type": "event.message",
                "event": {"type": "call.sdp", "call_id": message["call_id"], "leg_id": leg_id, "sdp": answer},
            },
        )
        sounds = [str(name) for name in message.get("sounds") or []]
        if sounds:
            await self.engine.play(leg_id, sound_sources(sounds), loop=bool(message.get("loop")))
            return
        others = [str(other) for other in message.get("bridge_leg_ids") or []]
        await self._join(str(message.get("bridge_id") or message["call_id"]), [*others, leg_id])

    async def _join(self, bridge_id: str, leg_ids: list[str]) -> None:
        present = [leg_id for leg_id in leg_ids if self.engine.has_leg(leg_id)]
        for leg_id in present:
            await self._quietly(self.engine.stop_play(leg_id))
        if present:
            await self.engine.bridge(bridge_id, present)

    async def _bridge(self, message: dict[str, Any]) -> None:
        await self._join(str(message["bridge_id"]), [str(leg_id) for leg_id in message.get("leg_ids") or []])

    async def _unbridge(self, message: dict[str, Any]) -> None:
        for leg_id in message.get("leg_ids") or []:
            await self._quietly(self.engine.unbridge(str(leg_id)))

    async def _play(self, message: dict[str, Any]) -> None:
        sources = sound_sources([str(name) for name in message.get("sounds") or []])
        loop = bool(message.get("loop"))
        for leg_id in [str(leg_id) for leg_id in message.get("leg_ids") or []]:
            if not self.engine.has_leg(leg_id):
                continue
            played = await self.engine.play(leg_id, sources, loop=loop)
            if message.get("hangup_after"):
                self._spawn_hangup_after(leg_id, played)

    def _spawn_hangup_after(self, leg_id: str, played: "asyncio.Future[bool]") -> None:
        async def hang_up_when_played() -> None:
            try:
                await asyncio.wait_for(asyncio.shield(played), timeout=PLAY_BEFORE_HANGUP_SECONDS)
            except TimeoutError:
                logger.warning("leg %s: playback did not finish; hanging up", leg_id)
            await self.engine.hangup(leg_id)

        self._spawn(hang_up_when_played())

    def _spawn(self, coroutine: Any) -> "asyncio.Task[None]":
        task = asyncio.create_task(coroutine)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def _record(self, message: dict[str, Any]) -> None:
        call_id, leg_id, recording_id = str(message["call_id"]), str(message["leg_id"]), str(message["recording_id"])
        if not _RECORDING_ID.match(recording_id):
            raise MediaError("A recording id is 1 to 80 letters, digits, - or _.")
        sounds = sound_sources([str(name) for name in message.get("sounds") or []])
        seconds = min(max(float(message.get("max_seconds") or 60.0), 1.0), MAX_RECORD_SECONDS)
        previous = self.recordings.get(leg_id)
        if previous is not None:
            previous.set()
        stop = self.recordings[leg_id] = asyncio.Event()
        task = self._spawn(self._record_leg(call_id, leg_id, recording_id, sounds, seconds, stop))
        self.recording_tasks.add(task)
        task.add_done_callback(self.recording_tasks.discard)

    async def _stop_record(self, message: dict[str, Any]) -> None:
        stop = self.recordings.get(str(message["leg_id"]))
        if stop is not None:
            stop.set()

    async def _until(self, leg_id: str, stop: asyncio.Event, seconds: float, done: Callable[[], bool]) -> str:
        """Wait for `done`, a stop, the leg's end, or `seconds`: "done" | "stopped" | "hangup" | "limit"."""
        deadline = time.monotonic() + seconds
        while True:
            if not self.engine.has_leg(leg_id):
                return "hangup"
            if stop.is_set():
                return "stopped"
            if done():
                return "done"
            if time.monotonic() >= deadline:
                return "limit"
            await asyncio.sleep(POLL_SECONDS)

    async def _record_leg(
        self,
        call_id: str,
        leg_id: str,
        recording_id: str,
        sounds: list[Tone | Path],
        seconds: float,
        stop: asyncio.Event,
    ) -> None:
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        path = self.recordings_dir / f"{recording_id}-{uuid.uuid4().hex[:8]}.wav"
        reason = "hangup"
        try:
            outcome = "done"
            if sounds and self.engine.has_leg(leg_id):
                played = await self.engine.play(leg_id, sounds)
                outcome = await self._until(leg_id, stop, PLAY_BEFORE_RECORD_SECONDS, played.done)
            if outcome in ("done", "limit") and self.engine.has_leg(leg_id):
                await self.engine.record(leg_id, path)
                reason = await self._until(leg_id, stop, seconds, lambda: False)
            else:
                reason = outcome
            if self.engine.has_leg(leg_id):
                await self.engine.stop_record(leg_id)
            else:
                await self.engine.hangup(leg_id)  # waits for the tear-down, which closes the file
        except MediaError as error:
            logger.info("leg %s: recording %s ended: %s", leg_id, recording_id, error)
        finally:
            if self.recordings.get(leg_id) is stop:
                del self.recordings[leg_id]
        try:
            recorded = path if path.exists() else None
            await database_sync_to_async(self.hooks.recording_finished)(call_id, recording_id, recorded, reason)
        except Exception:
            logger.exception("reporting recording %s of leg %s failed", recording_id, leg_id)
        finally:
            path.unlink(missing_ok=True)

    async def _mute(self, message: dict[str, Any]) -> None:
        leg_id = str(message["leg_id"])
        if self.engine.has_leg(leg_id):
            await self.engine.set_muted(leg_id, bool(message.get("muted")))

    async def _ice(self, message: dict[str, Any]) -> None:
        await self.engine.add_ice_candidate(str(message["leg_id"]), message.get("candidate"))

    async def _dtmf(self, message: dict[str, Any]) -> None:
        await self.engine.dtmf(str(message["leg_id"]), str(message["digits"]))

    async def _hangup(self, message: dict[str, Any]) -> None:
        for leg_id in message.get("leg_ids") or []:
            await self.engine.hangup(str(leg_id))

    async def _stats(self, message: dict[str, Any]) -> None:
        stats: dict[str, Any] = {}
        for leg_id in message.get("leg_ids") or []:
            try:
                stats[str(leg_id)] = asdict(self.engine.stats(str(leg_id)))
            except MediaError:
                stats[str(leg_id)] = None
        await self.layer.send(str(message["reply_channel"]), {"type": "media.stats", "stats": stats})

    async def _quietly(self, action: Awaitable[None]) -> None:
        try:
            await action
        except MediaError:
            pass

    async def _leg_event(self, leg_id: str, kind: str, detail: str) -> None:
        try:
            await database_sync_to_async(self.hooks.leg_event)(leg_id, kind, detail)
        except Exception:
            logger.exception("reporting %s of leg %s failed", kind, leg_id)
