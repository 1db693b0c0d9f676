"""Celery tasks of chat: the periodic sweep of files uploaded but never sent."""

from celery import shared_task

from toc.chat import services


@shared_task
def sweep_unsent_attachments() -> int:
    return services.delete_unsent_attachments()
