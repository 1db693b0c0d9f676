"""What the media engine accepts from a client's signalling: its SDP offer and trickled candidates.

Policy: only remote ICE candidates inside the engine's allowed networks are ever handed to ICE,
so the engine never sends a packet anywhere else (mDNS `.local` names are dropped without being
resolved: resolving them would multicast). Only Opus and PCMU are negotiated, in the offer's order.
"""

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiortc import RTCIceCandidate, RTCRtpCodecCapability, RTCRtpSender, sdp

MAX_OFFER_BYTES = 64 * 1024
SUPPORTED_CODECS = ("audio/opus", "audio/pcmu")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class MediaError(Exception):
    """Something a client or the call engine asked for cannot be done; the message says why."""


@dataclass(frozen=True)
class Offer:
    sdp: str  # the offer with disallowed candidates removed
    codecs: list[RTCRtpCodecCapability]  # what to answer with, most preferred first
    dropped_candidates: int


def parse_networks(networks: Sequence[str]) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(network, strict=False) for network in networks)
    except ValueError as error:
        raise ValueError(f"Allowed media networks must be CIDR networks: {error}") from error


def is_allowed_address(address: str, networks: Sequence[Network]) -> bool:
    """True for an IP address inside one of `networks`; host names (mDNS) are never allowed."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def parse_candidate(text: str) -> RTCIceCandidate | None:
    """An SDP candidate attribute value (with or without `candidate:`), or None when malformed."""
    value = text.strip().removeprefix("a=").removeprefix("candidate:")
    try:
        return sdp.candidate_from_sdp(value)
    except (AssertionError, ValueError, IndexError):
        return None


def filter_offer_candidates(offer_sdp: str, networks: Sequence[Network]) -> tuple[str, int]:
    """The offer without candidate lines outside `networks` (or malformed), and how many went."""
    kept: list[str] = []
    dropped = 0
    for line in offer_sdp.splitlines():
        if line.startswith("a=candidate:"):
            candidate = parse_candidate(line)
            if candidate is None or not is_allowed_address(candidate.ip, networks):
                dropped += 1
                continue
        kept.append(line)
    return "\r\n".join(kept) + "\r\n", dropped


def read_offer(offer_sdp: object, networks: Sequence[Network]) -> Offer:
    """Check a client's offer and prepare it for aiortc; MediaError says what is wrong with it."""
    if not isinstance(offer_sdp, str) or not offer_sdp.strip():
        raise MediaError("The call offer is empty.")
    if len(offer_sdp.encode()) > MAX_OFFER_BYTES:
        raise MediaError("The call offer is too large.")
    if not offer_sdp.lstrip().startswith("v=0"):
        raise MediaError("The call offer is not valid SDP.")
    filtered, dropped = filter_offer_candidates(offer_sdp, networks)
    try:
        description = sdp.SessionDescription.parse(filtered)
    except (AssertionError, ValueError, IndexError, KeyError, TypeError) as error:
        raise MediaError("The call offer is not valid SDP.") from error
    audio = next((media for media in description.media if media.kind == "audio"), None)
    if audio is None or audio.port == 0:
        raise MediaError("The call offer has no audio.")
    if audio.ice is None or not audio.ice.usernameFragment or not audio.ice.password:
        raise MediaError("The call offer has no ICE credentials.")
    if audio.dtls is None or not audio.dtls.fingerprints:
        raise MediaError("The call offer has no DTLS fingerprint.")
    capabilities = RTCRtpSender.getCapabilities("audio").codecs
    codecs: list[RTCRtpCodecCapability] = []
    for offered in audio.rtp.codecs:
        mime_type = offered.mimeType.lower()
        if mime_type in SUPPORTED_CODECS:
            codecs.extend(c for c in capabilities if c.mimeType.lower() == mime_type and c not in codecs)
    if not codecs:
        raise MediaError("The call offer has no audio codec the phone system supports (Opus or PCMU).")
    return Offer(sdp=filtered, codecs=codecs, dropped_candidates=dropped)


def read_candidate(candidate: Any) -> RTCIceCandidate | None:
    """A browser's RTCIceCandidateInit as aiortc's candidate; None means end of candidates."""
    if candidate is None:
        return None
    if not isinstance(candidate, dict) or not isinstance(candidate.get("candidate"), str):
        raise MediaError("An ICE candidate must be an object with a candidate string.")
    mid = candidate.get("sdpMid")
    index = candidate.get("sdpMLineIndex")
    if mid is not None and not isinstance(mid, str):
        raise MediaError("An ICE candidate's sdpMid must be a string.")
    if index is not None and (not isinstance(index, int) or isinstance(index, bool) or index < 0):
        raise MediaError("An ICE candidate's sdpMLineIndex must be a whole number.")
    if not candidate["candidate"].strip():
        return None  # the browser's empty candidate also means end of candidates
    if mid is None and index is None:
        raise MediaError("An ICE candidate needs an sdpMid or an sdpMLineIndex.")
    parsed = parse_candidate(candidate["candidate"])
    if parsed is None:
        raise MediaError("The ICE candidate is not valid.")
    parsed.sdpMid = mid
    parsed.sdpMLineIndex = index
    return parsed


def answer_codec(answer_sdp: str) -> str:
    """The codec the engine sends with: the first one of the answer's audio section."""
    description = sdp.SessionDescription.parse(answer_sdp)
    audio = next((media for media in description.media if media.kind == "audio"), None)
    if audio is None or not audio.rtp.codecs:
        return ""
    return audio.rtp.codecs[0].name
