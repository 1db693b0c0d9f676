"""Periodic presence upkeep (Celery beat): expiries and connections of dead processes."""

from celery import shared_task

from toc.presence import services


@shared_task
def expire_presences() -> int:
    return services.expire_presences()


@shared_task
def sweep_stale_connections() -> int:
    return services.sweep_stale_connections()
