"""What the demo's start-up tells people about SMS: which carrier, and how to receive a text."""

from toc.sms.backends import get_backend


def sms_summary() -> str:
    if get_backend().carries_messages:
        return "SMS: through Twilio, from each user's direct number."
    return (
        "SMS: no carrier is configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN), so texts are kept and marked "
        "'Not sent'.\n  Receive one as if from a cellphone: .venv/bin/python manage.py sms_receive "
        '--to +14165550101 --from "416 555 0199" "Hello"'
    )
