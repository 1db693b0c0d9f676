"""Writes of SMS: threads, sending (outbox and hand-over), receiving, opt-out."""

from toc.sms.services.base import SmsError, canadian_number
from toc.sms.services.optout import keyword_choice, record_opt_out
from toc.sms.services.receiving import (
    IncomingMedia,
    apply_status,
    download_media,
    mark_download_failed,
    pending_media_ids,
    receive_message,
)
from toc.sms.services.sending import (
    Picture,
    check_picture_sizes,
    hand_over_next,
    numbers_with_outbox,
    plan_next,
    send_message,
    wake,
)
from toc.sms.services.threads import mark_read, open_thread, thread_between

__all__ = [
    "IncomingMedia",
    "Picture",
    "SmsError",
    "apply_status",
    "canadian_number",
    "check_picture_sizes",
    "download_media",
    "hand_over_next",
    "keyword_choice",
    "mark_download_failed",
    "mark_read",
    "numbers_with_outbox",
    "open_thread",
    "pending_media_ids",
    "plan_next",
    "receive_message",
    "record_opt_out",
    "send_message",
    "thread_between",
    "wake",
]
