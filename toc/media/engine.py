"""The media engine: WebRTC legs anchored here, joined by bridges, with tones, files, recording, DTMF.

One `MediaEngine` lives in each media worker process (`toc.media.worker`), on its event loop;
it is pure asyncio + aiortc and knows nothing of Django or calls. A *leg* is one client's
PeerConnection: its inbound audio is always decoded and read (aiortc's receive queues are
unbounded) and resampled to 48 kHz mono; its outbound track sends, every 20 ms, what it hears
of its bridge plus whatever is played to it. A *bridge* mixes once per 20 ms for all its legs
and gives each the sum minus its own audio (`toc.media.tracks.MixMinus`), so a conference of N
legs costs O(N) per frame, and a two-leg call as little as before. A muted leg still hears the
others, and its audio is still metered and recorded; nobody hears it.

Network policy: PeerConnections never get a default STUN server, and remote candidates outside
`allowed_networks` are dropped before ICE sees them (`toc.media.engine_sdp`). What happens to a
leg is reported through `on_leg_event(leg_id, kind, detail)`: "connected" once, "failed" with a
sentence (ICE or DTLS failed, or nothing connected within `connect_timeout` seconds), and
"closed" exactly once after the leg is gone, whoever ended it.
"""

import asyncio
import ipaddress
import logging
import os
import pathlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import aioice.ice
import av
import numpy as np
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCRtpCodecCapability, RTCSessionDescription
from aiortc.exceptions import InvalidStateError, OperationError
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from toc.media.engine_sdp import (
    MediaError,
    answer_codec,
    is_allowed_address,
    parse_networks,
    read_candidate,
    read_offer,
)
from toc.media.tones import BEEP, BUSY, DTMF_DIGITS, RINGBACK, Tone, dtmf_tone
from toc.media.tracks import (
    FRAME_SAMPLES,
    AudioSource,
    LevelMeter,
    MixedOutputTrack,
    MixMinus,
    MonoResampler,
    OpusFrameEncoder,
    Samples,
    SamplesSource,
    SourceSequence,
    ToneSource,
    WavRecorder,
    load_audio_file,
    peak_hz,
    rms_dbfs,
    silence,
    tone_samples,
)

__all__ = [
    "BEEP",
    "BUSY",
    "RINGBACK",
    "LegEventCallback",
    "LegStats",
    "MediaEngine",
    "MediaError",
    "PlaySource",
    "Tone",
    "dtmf_tone",
    "restrict_host_addresses",
]

logger = logging.getLogger(__name__)

LegEventCallback = Callable[[str, str, str], Awaitable[None]]
PlaySource = Tone | pathlib.Path  # a tone, or an audio file that FFmpeg reads

CONNECT_TIMEOUT_SECONDS = 20.0
MAX_LEG_ID_LENGTH = 200
MAX_DTMF_DIGITS = 64


@dataclass(frozen=True)
class LegStats:
    leg_id: str
    connection_state: str
    codec: str
    frames_received: int
    frames_sent: int
    rms_dbfs: float  # inbound level over the last second of decoded audio
    peak_hz: float  # dominant inbound frequency over the last second (0.0 when silent)
    is_muted: bool = False


@dataclass(eq=False)
class _Leg:
    leg_id: str
    pc: RTCPeerConnection
    output: MixedOutputTrack
    codec: str = ""
    bridge_id: str | None = None
    is_muted: bool = False
    meter: LevelMeter = field(default_factory=LevelMeter)
    frames_received: int = 0
    player: AudioSource | None = None
    played: "asyncio.Future[bool] | None" = None  # what `play` returned for `player`
    dtmf: SourceSequence = field(default_factory=SourceSequence)
    recorder: WavRecorder | None = None
    tasks: set["asyncio.Task[None]"] = field(default_factory=set)  # reader and connect timeout
    event_task: "asyncio.Task[None] | None" = None
    teardown: "asyncio.Task[None] | None" = None
    is_created: bool = False  # create_leg returned its answer: from then on, "closed" is reported
    is_connected: bool = False
    has_failed: bool = False


def restrict_host_addresses(addresses: Sequence[str]) -> None:
    """Make ICE gather host candidates on exactly these local addresses (process-wide).

    aioice otherwise offers every interface address except loopback; tests pin media to
    127.0.0.1, and the MEDIA_HOST_ADDRESSES setting pins production to the public interface.
    """
    chosen = [ipaddress.ip_address(address) for address in addresses]

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [str(ip) for ip in chosen if (ip.version == 4 and use_ipv4) or (ip.version == 6 and use_ipv6)]

    aioice.ice.get_host_addresses = get_host_addresses


def _join_sounds(sources: list[Any]) -> Samples:
    """Tones (one cadence each) and audio files, decoded and joined end to end."""
    parts: list[Samples] = []
    for source in sources:
        if isinstance(source, Tone):
            parts.append(tone_samples(source))
            continue
        if not isinstance(source, str | os.PathLike):
            raise MediaError("Only tones and audio files can be played.")
        try:
            parts.append(load_audio_file(pathlib.Path(source)))
        except (OSError, ValueError, av.FFmpegError) as error:
            raise MediaError(f"The audio file {source} cannot be played: {error}") from error
    return np.concatenate(parts)


class MediaEngine:
    def __init__(
        self,
        *,
        allowed_networks: Sequence[str] = ("0.0.0.0/0", "::/0"),
        ice_servers: Sequence[RTCIceServer] = (),
        on_leg_event: LegEventCallback | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    ) -> None:
        self._networks = parse_networks(allowed_networks)
        self._ice_servers = list(ice_servers)
        self._on_leg_event = on_leg_event
        self._connect_timeout = connect_timeout
        self._legs: dict[str, _Leg] = {}
        self._bridges: dict[str, MixMinus] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def leg_count(self) -> int:
        return len(self._legs)

    def has_leg(self, leg_id: str) -> bool:
        """Whether the leg exists and is not being hung up."""
        leg = self._legs.get(leg_id)
        return leg is not None and leg.teardown is None

    # Legs

    async def create_leg(self, leg_id: str, offer_sdp: str) -> str:
        """Answer a client's offer; the answer holds all the engine's candidates (no trickle)."""
        if not isinstance(leg_id, str) or not leg_id or len(leg_id) > MAX_LEG_ID_LENGTH:
            raise MediaError("A leg id must be a non-empty string of at most 200 characters.")
        if leg_id in self._legs:
            raise MediaError(f"There is already a leg {leg_id}.")
        offer = read_offer(offer_sdp, self._networks)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(self._ice_servers)))
        leg = _Leg(leg_id, pc, MixedOutputTrack(lambda: self._mix(leg)))
        self._legs[leg_id] = leg
        hung_up = MediaError(f"Leg {leg_id} was hung up while it was being set up.")
        try:
            answer = await self._negotiate(leg, offer.sdp, offer.codecs)
        except BaseException as error:
            was_hung_up = leg.teardown is not None  # then aiortc refuses to go on with the closed PeerConnection
            await self.hangup(leg_id)
            if was_hung_up and isinstance(error, Exception) and not isinstance(error, MediaError):
                raise hung_up from error
            raise
        if leg.teardown is not None:
            raise hung_up
        leg.codec = answer_codec(answer)
        if leg.codec == "opus":
            leg.output.encoder = OpusFrameEncoder()
        leg.is_created = True
        if offer.dropped_candidates:
            logger.info("leg %s: dropped %d offered candidates", leg_id, offer.dropped_candidates)
        leg.tasks.add(self._spawn(self._time_out(leg)))
        return answer

    async def _negotiate(self, leg: _Leg, offer_sdp: str, codecs: list[RTCRtpCodecCapability]) -> str:
        pc = leg.pc
        transceiver = pc.addTransceiver(leg.output, direction="sendrecv")
        transceiver.setCodecPreferences(codecs)
        pc.on("connectionstatechange", lambda: self._on_connection_state(leg))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except (ValueError, OperationError, InvalidStateError, AssertionError, KeyError, IndexError) as error:
            raise MediaError(f"The call offer cannot be answered: {error}") from error
        for other in pc.getTransceivers():
            if other is not transceiver:
                other.direction = "inactive"  # video, a second audio section: never received, never decoded
        await pc.setLocalDescription(await pc.createAnswer())
        track = transceiver.receiver.track
        if track is not None:
            leg.tasks.add(self._spawn(self._read(leg, track)))
        return str(pc.localDescription.sdp)

    async def add_ice_candidate(self, leg_id: str, candidate: dict[str, Any] | None) -> bool:
        """Add a trickled remote candidate (None: end of candidates); False when it was dropped."""
        leg = self._leg(leg_id)
        parsed = read_candidate(candidate)
        if parsed is not None and not is_allowed_address(parsed.ip, self._networks):
            logger.info("leg %s: dropped candidate %s outside the allowed networks", leg_id, parsed.ip)
            return False
        try:
            await leg.pc.addIceCandidate(parsed)
        except (ValueError, InvalidStateError) as error:
            raise MediaError(f"The ICE candidate cannot be used: {error}") from error
        return True

    async def hangup(self, leg_id: str) -> None:
        """End a leg (idempotent; unknown legs are already gone). Returns once it is fully closed."""
        leg = self._legs.get(leg_id)
        if leg is None:
            return
        if leg.teardown is None:
            leg.teardown = self._spawn(self._tear_down(leg))
        # Shielded: a caller cancelled mid-way must not leave a half-closed leg behind.
        await asyncio.shield(leg.teardown)

    async def close(self) -> None:
        """Hang up every leg and wait for every task the engine started. The engine stays usable."""
        await asyncio.gather(*(self.hangup(leg_id) for leg_id in list(self._legs)))
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def stats(self, leg_id: str) -> LegStats:
        leg = self._leg(leg_id)
        recent = leg.meter.last()
        return LegStats(
            leg_id=leg_id,
            connection_state=leg.pc.connectionState,
            codec=leg.codec,
            frames_received=leg.frames_received,
            frames_sent=leg.output.frames_sent,
            rms_dbfs=rms_dbfs(recent),
            peak_hz=peak_hz(recent),
            is_muted=leg.is_muted,
        )

    # Bridges

    async def bridge(self, bridge_id: str, leg_ids: Sequence[str]) -> None:
        """Join legs to a bridge (moving them out of any other); each hears the others, never itself."""
        if not isinstance(bridge_id, str) or not bridge_id:
            raise MediaError("A bridge id must be a non-empty string.")
        legs = [self._leg(leg_id) for leg_id in leg_ids]
        for leg in legs:
            if leg.bridge_id == bridge_id:
                continue
            self._leave_bridge(leg)
            self._bridges.setdefault(bridge_id, MixMinus()).add(leg.leg_id)
            leg.bridge_id = bridge_id

    async def unbridge(self, leg_id: str) -> None:
        self._leave_bridge(self._leg(leg_id))

    async def set_muted(self, leg_id: str, muted: bool) -> None:
        """Mute (or unmute) what a leg says, in whatever bridge it is or joins later.

        Nobody hears a muted leg's audio, nor its keypad tones (`dtmf`); it still hears its
        bridge and its playback, and its audio is still metered (`stats`) and recorded.
        """
        leg = self._leg(leg_id)
        if not isinstance(muted, bool):
            raise MediaError("Muted must be true or false.")
        if leg.is_muted == muted:
            return
        leg.is_muted = muted
        if leg.bridge_id is not None:  # unheard audio from before the change is dropped, not played late
            self._bridges[leg.bridge_id].forget(leg.leg_id)

    def _leave_bridge(self, leg: _Leg) -> None:
        if leg.bridge_id is None:
            return
        mixer = self._bridges[leg.bridge_id]
        mixer.remove(leg.leg_id)
        if not mixer.members:
            del self._bridges[leg.bridge_id]
        leg.bridge_id = None

    def _bridge_peers(self, leg: _Leg) -> list[_Leg]:
        if leg.bridge_id is None:
            return []
        return [self._legs[member] for member in self._bridges[leg.bridge_id].members if member != leg.leg_id]

    # Playback, recording, DTMF

    async def play(
        self, leg_id: str, source: PlaySource | Sequence[PlaySource], *, loop: bool = False
    ) -> "asyncio.Future[bool]":
        """Play a tone, an audio file, or a list of them one after another into one leg.

        The sound goes over the leg's bridge audio and replaces any playback; with `loop`, the
        tone, the file or the whole list repeats until stopped. Returns a future that callers
        may ignore: True once a playback that does not loop has sent its last sample, False
        when it is stopped, replaced or the leg ends first. Playback only moves on while the
        leg's audio flows, so bound a wait (`asyncio.wait_for(asyncio.shield(played), 10)`);
        cancelling the future does not stop the sound.
        """
        self._leg(leg_id)
        sources = list(source) if isinstance(source, list | tuple) else [source]
        if not sources:
            raise MediaError("There is nothing to play.")
        player: AudioSource
        if len(sources) == 1 and isinstance(sources[0], Tone):
            player = ToneSource(sources[0], loop=loop)  # made as it plays: a looping tone has no end
        else:
            player = SamplesSource(await asyncio.to_thread(_join_sounds, sources), loop=loop)
        leg = self._leg(leg_id)  # looked up again: the leg may have gone while decoding
        self._end_playback(leg, played=False)
        leg.player = player
        leg.played = asyncio.get_running_loop().create_future()
        return leg.played

    async def stop_play(self, leg_id: str) -> None:
        self._end_playback(self._leg(leg_id), played=False)

    def _end_playback(self, leg: _Leg, *, played: bool) -> None:
        leg.player = None
        if leg.played is not None and not leg.played.done():  # the caller may have cancelled it
            leg.played.set_result(played)
        leg.played = None

    async def record(self, leg_id: str, path: pathlib.Path) -> None:
        """Record what the leg sends (its inbound audio) to a 48 kHz mono WAV; replaces a recording."""
        leg = self._leg(leg_id)
        self._stop_recording(leg)
        try:
            leg.recorder = WavRecorder(pathlib.Path(path))
        except OSError as error:
            raise MediaError(f"The recording file {path} cannot be written: {error}") from error

    async def stop_record(self, leg_id: str) -> float:
        """Stop recording; the seconds recorded (0.0 when the leg was not recording)."""
        return self._stop_recording(self._leg(leg_id))

    def _stop_recording(self, leg: _Leg) -> float:
        recorder, leg.recorder = leg.recorder, None
        if recorder is None:
            return 0.0
        try:
            return recorder.close()
        except OSError:
            logger.exception("leg %s: closing the recording %s failed", leg.leg_id, recorder.path)
            return recorder.seconds

    async def dtmf(self, leg_id: str, digits: str) -> None:
        """The leg pressed keys: the other legs of its bridge hear each digit's tone in turn.

        Returns at once; the tones follow whatever DTMF those legs are still hearing. A leg in no
        bridge has nobody to hear it, and a muted leg is not heard (its digits still count for
        whoever sent them here).
        """
        leg = self._leg(leg_id)
        if not isinstance(digits, str) or not digits or len(digits) > MAX_DTMF_DIGITS:
            raise MediaError(f"Keypad digits must be 1 to {MAX_DTMF_DIGITS} characters.")
        if any(digit not in DTMF_DIGITS for digit in digits):
            raise MediaError("Keypad digits can only be 0-9, * and #.")
        if leg.is_muted:
            return
        for peer in self._bridge_peers(leg):
            peer.dtmf.extend([ToneSource(dtmf_tone(digit), loop=False) for digit in digits])

    # Inside: media

    def _mix(self, leg: _Leg) -> Samples:
        """The next 20 ms for `leg`: what it hears of its bridge, plus playback, plus DTMF, clipped."""
        if leg.teardown is not None:
            return silence()
        if leg.bridge_id is None:
            mixed = np.zeros(FRAME_SAMPLES, dtype=np.int32)
        else:
            mixed = self._bridges[leg.bridge_id].heard(leg.leg_id)
        if leg.player is not None:
            chunk = leg.player.read(FRAME_SAMPLES)
            if chunk is None:
                self._end_playback(leg, played=True)
            else:
                mixed += chunk
        if leg.dtmf:
            chunk = leg.dtmf.read(FRAME_SAMPLES)
            if chunk is not None:
                mixed += chunk
        return np.clip(mixed, -32768, 32767).astype(np.int16)

    async def _read(self, leg: _Leg, track: MediaStreamTrack) -> None:
        """Consume the leg's inbound audio for as long as it lasts."""
        resampler = MonoResampler()
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            try:
                samples = resampler.convert(frame)
            except (ValueError, av.FFmpegError):
                logger.warning("leg %s: an inbound frame could not be converted", leg.leg_id, exc_info=True)
                continue
            leg.frames_received += 1
            leg.meter.add(samples)
            if leg.bridge_id is not None and not leg.is_muted:
                self._bridges[leg.bridge_id].put(leg.leg_id, samples)
            if leg.recorder is not None:
                self._write_recording(leg, samples)

    def _write_recording(self, leg: _Leg, samples: Samples) -> None:
        assert leg.recorder is not None
        try:
            leg.recorder.write(samples)
        except OSError:
            logger.exception("leg %s: recording to %s failed; recording stopped", leg.leg_id, leg.recorder.path)
            self._stop_recording(leg)

    # Inside: lifecycle

    def _on_connection_state(self, leg: _Leg) -> None:
        state = leg.pc.connectionState
        if leg.teardown is not None:
            return
        if state == "connected" and not leg.is_connected:
            leg.is_connected = True
            leg.event_task = self._spawn(self._emit(leg.leg_id, "connected", ""))
        elif state == "failed":
            self._spawn(self._fail(leg, "The call's audio connection failed."))
        elif state == "closed":
            self._spawn(self.hangup(leg.leg_id))  # the client closed its side

    async def _time_out(self, leg: _Leg) -> None:
        await asyncio.sleep(self._connect_timeout)
        if not leg.is_connected:
            await self._fail(leg, f"The call's audio did not connect within {self._connect_timeout:g} seconds.")

    async def _fail(self, leg: _Leg, reason: str) -> None:
        if leg.has_failed or leg.teardown is not None:
            return
        leg.has_failed = True
        logger.info("leg %s failed: %s", leg.leg_id, reason)
        await self._emit(leg.leg_id, "failed", reason)
        await self.hangup(leg.leg_id)

    async def _tear_down(self, leg: _Leg) -> None:
        try:
            self._leave_bridge(leg)
            self._end_playback(leg, played=False)
            leg.dtmf.clear()
            self._stop_recording(leg)
            for task in leg.tasks:
                task.cancel()
            try:
                await leg.pc.close()
            except Exception:
                logger.exception("leg %s: closing its PeerConnection failed", leg.leg_id)
            leg.output.stop()
            await asyncio.gather(*leg.tasks, return_exceptions=True)
            if leg.event_task is not None:  # "connected" is reported before "closed"
                await asyncio.gather(leg.event_task, return_exceptions=True)
        finally:
            self._legs.pop(leg.leg_id, None)
        if leg.is_created:
            await self._emit(leg.leg_id, "closed", "")

    async def _emit(self, leg_id: str, kind: str, detail: str) -> None:
        if self._on_leg_event is None:
            return
        try:
            await self._on_leg_event(leg_id, kind, detail)
        except Exception:
            logger.exception("the %s event handler of leg %s failed", kind, leg_id)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> "asyncio.Task[None]":
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _leg(self, leg_id: str) -> _Leg:
        leg = self._legs.get(leg_id)
        if leg is None or leg.teardown is not None:
            raise MediaError(f"There is no leg {leg_id}.")
        return leg
