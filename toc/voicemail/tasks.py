"""Voicemail's Celery tasks: e-mailing new messages, and the sweep for e-mails still owed."""

from celery import shared_task

from toc.voicemail import email


@shared_task
def send_voicemail_email(row_id: int) -> str:
    return email.send_email(row_id=row_id)


@shared_task
def sweep_voicemail_email() -> int:
    return email.sweep()
