"""A first look at an SDP offer from a client, before anything is created for it.

The engine parses offers fully; this check runs in the web process so that a malformed or
hostile offer is refused with a clear error and no call, leg or engine work exists for it.
"""

MAX_SDP_BYTES = 16 * 1024
_REQUIRED = ("v=0", "o=", "s=", "t=")


def check_offer(sdp: object) -> str:
    """Return "" when `sdp` looks like a WebRTC audio offer, else what is wrong with it."""
    if not isinstance(sdp, str) or not sdp.strip():
        return "The call offer is missing."
    if len(sdp.encode()) > MAX_SDP_BYTES:
        return "The call offer is too large."
    lines = [line.strip() for line in sdp.strip().splitlines()]
    if any(len(line) < 2 or line[1] != "=" for line in lines):
        return "The call offer is not valid SDP."
    for prefix in _REQUIRED:
        if not any(line.startswith(prefix) for line in lines):
            return "The call offer is not valid SDP."
    if not any(line.startswith("m=audio ") for line in lines):
        return "The call offer has no audio."
    if not any(line.startswith("a=fingerprint:") for line in lines):
        return "The call offer has no DTLS fingerprint."
    if not any(line.startswith("a=ice-ufrag:") for line in lines):
        return "The call offer has no ICE credentials."
    return ""
