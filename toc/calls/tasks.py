"""Call timers and upkeep (Celery): ring timeouts, park ring-backs, abandoned legs, dead media workers.

Each task takes ids only and is idempotent: running one twice, or late, changes nothing the
first run did not (the services re-check the call's state under its row lock).
"""

from celery import shared_task

from toc.calls import services


@shared_task
def end_unanswered_call(call_id: str) -> bool:
    return services.end_unanswered_call(call_id=call_id)


@shared_task
def end_detached_legs() -> int:
    return services.end_detached_legs()


@shared_task
def ring_back_parked_call(call_id: str) -> bool:
    return services.ring_back_parked_call(call_id=call_id)


@shared_task
def sweep_calls() -> int:
    """Beat: calls of dead media workers, ring timeouts and park ring-backs whose task was lost,
    abandoned legs."""
    return (
        services.sweep_dead_workers()
        + services.sweep_overdue_ringing()
        + services.sweep_overdue_parked()
        + services.end_detached_legs()
    )
