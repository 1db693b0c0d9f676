"""The embedded default's backend: no carrier. Messages are kept and marked "not sent"."""

from toc.sms.backends.base import CarrierUnavailableError, Downloaded, Handover, Outgoing

NOT_SENT_REASON = "No SMS carrier is configured (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN), so TOC kept this message."


class LocalBackend:
    name = "local"
    carries_messages = False

    def send(self, outgoing: Outgoing) -> Handover:
        return Handover(sid=None, status="not_sent", error_message=NOT_SENT_REASON)

    def find(self, outgoing: Outgoing) -> list[Handover]:
        return []

    def download(self, url: str, *, max_bytes: int) -> Downloaded:
        raise CarrierUnavailableError("No SMS carrier is configured to download from.", outcome_unknown=False)

    def is_signed(self, *, url: str, params: dict[str, str], signature: str) -> bool:
        return False
